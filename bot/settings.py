"""Settings from the environment (and an optional `.env` file).

Every name is documented in the README's configuration table. Cloud endpoints are real
settings: sovereign clouds, corporate proxies and the tests' loopback stand-ins all use them.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import providers
from bot.database_url import sqlite_file, sqlite_url
from bot.domain import CloudEndpoints
from bot.errors import InputError


def default_data_dir() -> Path:
    """The per-user data folder holding the default database and key, whatever the working
    directory: ``$XDG_DATA_HOME/cspm-bot`` (``~/.local/share/cspm-bot``) on Linux, the
    platform's equivalent elsewhere."""
    import platformdirs

    return Path(platformdirs.user_data_dir("cspm-bot", appauthor=False))


def default_database_url() -> str:
    """The embedded default: a SQLite file in `default_data_dir`."""
    return sqlite_url(default_data_dir() / "cspm.db")


def _csv(value: object) -> list[str]:
    """Split "a, b,,c" into ["a", "b", "c"]."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


class Settings(BaseSettings):
    """All configuration. Construct with `Settings()`; tests pass keyword overrides."""

    model_config = SettingsConfigDict(
        env_prefix="CSPM_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -------------------------------------------------------------------------
    database_url: str = Field(
        default_factory=default_database_url,
    )
    encryption_key: SecretStr | None = Field(default=None)
    key_file: Path | None = Field(default=None)

    # --- clouds (each provider's endpoint settings: see `cloud_endpoints`) ---------------
    endpoint_overrides: dict[str, str | None] = Field(default_factory=dict, exclude=True)
    ca_bundle: str | None = Field(default=None)
    cloud_timeout_seconds: float = Field(
        default=20.0, gt=0, validation_alias=AliasChoices("CSPM_CLOUD_TIMEOUT", "cloud_timeout")
    )
    cloud_max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
    )

    # --- scans ---------------------------------------------------------------------------
    scan_concurrency: int = Field(
        default=8,
        ge=1,
        le=256,
    )
    heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
    )
    takeover_grace_seconds: float = Field(
        default=600.0,
        ge=0,
    )

    # --- several machines: the Celery broker (unset: everything runs in-process) ---------
    broker_url: SecretStr | None = Field(default=None)
    broker_visibility_timeout: float = Field(default=3600.0, ge=5, le=7 * 24 * 3600)
    """Seconds a job may run before the broker hands it to another worker: above the
    slowest job (see the README's "Running on several machines")."""

    # --- slack ---------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    socket_connections: int = Field(
        default=2,
        ge=1,
        le=10,
        validation_alias=AliasChoices("CSPM_SOCKET_CONNECTIONS", "socket_connections"),
    )
    slack_api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url")
    )
    slack_team_id: str | None = Field(default=None)
    slack_timeout_seconds: int = Field(default=15, ge=1, le=120)
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
    )
    operators: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    support_channel: str | None = Field(default=None)
    worker_priority: Literal["idle", "low", "normal"] = Field(
        default="low",
    )
    # --- scheduling, digests, alerts (bot.scheduling.config reads these by name) --------
    alert_mention: str | None = Field(default=None)
    retry_max_attempts: int = Field(
        default=3,
        ge=0,
        le=10,
    )
    retry_base_seconds: float = Field(
        default=60.0,
        gt=0,
    )
    retry_factor: float = Field(
        default=2.0,
        ge=1,
        le=10,
    )
    support_failure_streak: int = Field(
        default=3,
        ge=1,
    )
    support_new_connector_hours: float = Field(
        default=24.0,
        ge=0,
    )
    scheduler_lease_seconds: float = Field(
        default=30.0,
        ge=3,
        le=3600,
    )
    scan_schedule_min_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
    )
    digest_default_timezone: str = Field(
        default="UTC",
        validation_alias=AliasChoices("CSPM_DIGEST_TIMEZONE", "digest_default_timezone"),
    )
    log_level: str = Field(default="INFO")

    @field_validator("operators", "admins", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> list[str]:
        return _csv(value)

    @model_validator(mode="before")
    @classmethod
    def _take_endpoint_overrides(cls, data: Any) -> Any:
        """Keyword overrides named after a provider's endpoint setting (``aws_endpoint_url=``,
        ``azure_arm_url=``, ...) go to `endpoint_overrides`."""
        if isinstance(data, dict):
            known = {e.name for spec in providers.specs() for e in spec.endpoints}
            taken = {k: data.pop(k) for k in list(data) if k in known}
            if taken:
                data["endpoint_overrides"] = {**data.get("endpoint_overrides", {}), **taken}
        return data

    @field_validator("ca_bundle", "slack_api_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    # --- derived -------------------------------------------------------------------------
    @property
    def distributed(self) -> bool:
        """True when a broker is configured: work goes to Celery workers."""
        return bool(reveal(self.broker_url))

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @cached_property
    def data_dir(self) -> Path:
        """Where the SQLite file (if any) and the generated key file live."""
        path = sqlite_file(self.database_url)
        return path.parent if path is not None else default_data_dir()

    @property
    def resolved_key_file(self) -> Path:
        """The key file used when `CSPM_ENCRYPTION_KEY` is unset."""
        return self.key_file or self.data_dir / "secret.key"

    def cloud_endpoints(self) -> CloudEndpoints:
        """The endpoints and retry budget every cloud adapter receives.

        Each registered provider declares its endpoint settings with their defaults; a value
        given to `Settings(...)` wins, then the environment variable, then `.env`.
        """
        dotenv = _dotenv_values()
        values: dict[str, str | None] = {}
        for spec in providers.specs():
            for setting in spec.endpoints:
                if setting.name in self.endpoint_overrides:
                    values[setting.name] = self.endpoint_overrides[setting.name]
                elif os.environ.get(setting.env):
                    values[setting.name] = os.environ[setting.env]
                elif dotenv.get(setting.env):
                    values[setting.name] = dotenv[setting.env]
        return providers.endpoints(
            values,
            ca_bundle=self.ca_bundle,
            timeout_seconds=self.cloud_timeout_seconds,
            max_attempts=self.cloud_max_attempts,
            concurrency=self.scan_concurrency,
        )


def reveal(secret: SecretStr | None) -> str:
    """The plain value of a secret setting ("" when unset). Never log the result."""
    return secret.get_secret_value().strip() if secret is not None else ""


def _dotenv_values() -> dict[str, str | None]:
    path = Path(".env")
    return dict(dotenv_values(path)) if path.is_file() else {}


class SettingsError(InputError):
    """A setting has a value it cannot take; the message names the environment variable."""


def env_name(field: str) -> str:
    """The environment variable of a settings field (``cloud_max_attempts`` →
    ``CSPM_CLOUD_MAX_ATTEMPTS``)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and alias.choices:
        return str(alias.choices[0])
    return f"CSPM_{field.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning.

    Raises `SettingsError` naming each bad variable and why, e.g.
    ``CSPM_CLOUD_MAX_ATTEMPTS: Input should be greater than or equal to 1``.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{env_name(str(e['loc'][0])) if e.get('loc') else 'settings'}: {e.get('msg')}"
            for e in exc.errors()
        )
        raise SettingsError(problems) from None
