"""Settings from the environment (and an optional `.env` file).

Every name is documented in the README's configuration table. Cloud endpoints are real
settings: sovereign clouds, corporate proxies and the tests' loopback stand-ins all use them.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import CloudEndpoints


def default_data_dir() -> Path:
    """The per-user data folder holding the default database and key, whatever the working
    directory: ``$XDG_DATA_HOME/cspm-bot`` (``~/.local/share/cspm-bot``) on Linux, the
    platform's equivalent elsewhere."""
    import platformdirs

    return Path(platformdirs.user_data_dir("cspm-bot", appauthor=False))


def default_database_url() -> str:
    """The embedded default: a SQLite file in `default_data_dir`."""
    return f"sqlite:///{default_data_dir() / 'cspm.db'}"


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
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- storage -------------------------------------------------------------------------
    database_url: str = Field(
        default_factory=default_database_url,
        validation_alias=AliasChoices("CSPM_DATABASE_URL", "database_url"),
    )
    encryption_key: str | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_ENCRYPTION_KEY", "encryption_key")
    )
    key_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_KEY_FILE", "key_file")
    )

    # --- clouds --------------------------------------------------------------------------
    aws_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL", "aws_endpoint_url")
    )
    aws_default_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("CSPM_AWS_DEFAULT_REGION", "aws_default_region"),
    )
    azure_authority_host: str = Field(
        default="https://login.microsoftonline.com",
        validation_alias=AliasChoices("CSPM_AZURE_AUTHORITY_HOST", "azure_authority_host"),
    )
    azure_arm_url: str = Field(
        default="https://management.azure.com",
        validation_alias=AliasChoices("CSPM_AZURE_ARM_URL", "azure_arm_url"),
    )
    gcp_token_uri: str = Field(
        default="https://oauth2.googleapis.com/token",
        validation_alias=AliasChoices("CSPM_GCP_TOKEN_URI", "gcp_token_uri"),
    )
    gcp_api_base: str = Field(
        default="https://cloudresourcemanager.googleapis.com",
        validation_alias=AliasChoices("CSPM_GCP_API_BASE", "gcp_api_base"),
    )
    gcp_compute_base: str = Field(
        default="https://compute.googleapis.com",
        validation_alias=AliasChoices("CSPM_GCP_COMPUTE_BASE", "gcp_compute_base"),
    )
    gcp_storage_base: str = Field(
        default="https://storage.googleapis.com",
        validation_alias=AliasChoices("CSPM_GCP_STORAGE_BASE", "gcp_storage_base"),
    )
    gcp_iam_base: str | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_GCP_IAM_BASE", "gcp_iam_base")
    )
    ca_bundle: str | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_CA_BUNDLE", "ca_bundle")
    )
    cloud_timeout_seconds: float = Field(
        default=20.0, gt=0, validation_alias=AliasChoices("CSPM_CLOUD_TIMEOUT", "cloud_timeout")
    )
    cloud_max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        validation_alias=AliasChoices("CSPM_CLOUD_MAX_ATTEMPTS", "cloud_max_attempts"),
    )

    # --- scans ---------------------------------------------------------------------------
    scan_concurrency: int = Field(
        default=8,
        ge=1,
        le=256,
        validation_alias=AliasChoices("CSPM_SCAN_CONCURRENCY", "scan_concurrency"),
    )
    heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("CSPM_HEARTBEAT_SECONDS", "heartbeat_seconds"),
    )

    # --- slack ---------------------------------------------------------------------------
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"),
    )
    slack_app_token: str | None = Field(
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
    slack_team_id: str | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_SLACK_TEAM_ID", "slack_team_id")
    )
    operators: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("CSPM_OPERATORS", "operators")
    )
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("CSPM_ADMINS", "admins")
    )
    support_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_SUPPORT_CHANNEL", "support_channel")
    )
    worker_priority: Literal["idle", "low", "normal"] = Field(
        default="idle",
        validation_alias=AliasChoices("CSPM_WORKER_PRIORITY", "worker_priority"),
    )
    # --- scheduling, digests, alerts (bot.scheduling.config reads these by name) --------
    alert_mention: str | None = Field(
        default=None, validation_alias=AliasChoices("CSPM_ALERT_MENTION", "alert_mention")
    )
    retry_max_attempts: int = Field(
        default=3,
        ge=0,
        le=10,
        validation_alias=AliasChoices("CSPM_RETRY_MAX_ATTEMPTS", "retry_max_attempts"),
    )
    retry_base_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("CSPM_RETRY_BASE_SECONDS", "retry_base_seconds"),
    )
    support_failure_streak: int = Field(
        default=3,
        ge=1,
        validation_alias=AliasChoices("CSPM_SUPPORT_FAILURE_STREAK", "support_failure_streak"),
    )
    digest_default_timezone: str = Field(
        default="UTC",
        validation_alias=AliasChoices("CSPM_DIGEST_TIMEZONE", "digest_default_timezone"),
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("CSPM_LOG_LEVEL", "log_level")
    )

    @field_validator("operators", "admins", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> list[str]:
        return _csv(value)

    @field_validator(
        "aws_endpoint_url", "ca_bundle", "slack_api_url", "gcp_iam_base", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    # --- derived -------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @cached_property
    def data_dir(self) -> Path:
        """Where the SQLite file (if any) and the generated key file live."""
        if self.is_sqlite and ":memory:" not in self.database_url:
            path = self.database_url.split("///", 1)[-1]
            return Path(path).parent if path else default_data_dir()
        return default_data_dir()

    @property
    def resolved_key_file(self) -> Path:
        """The key file used when `CSPM_ENCRYPTION_KEY` is unset."""
        return self.key_file or self.data_dir / "secret.key"

    def cloud_endpoints(self) -> CloudEndpoints:
        """The endpoints and retry budget every cloud adapter receives."""
        return CloudEndpoints(
            aws_endpoint_url=self.aws_endpoint_url,
            azure_authority_host=self.azure_authority_host.rstrip("/"),
            azure_arm_url=self.azure_arm_url.rstrip("/"),
            gcp_token_uri=self.gcp_token_uri,
            gcp_api_base=self.gcp_api_base.rstrip("/"),
            gcp_compute_base=self.gcp_compute_base.rstrip("/"),
            gcp_storage_base=self.gcp_storage_base.rstrip("/"),
            gcp_iam_base=self.gcp_iam_base.rstrip("/") if self.gcp_iam_base else None,
            ca_bundle=self.ca_bundle,
            timeout_seconds=self.cloud_timeout_seconds,
            max_attempts=self.cloud_max_attempts,
            aws_default_region=self.aws_default_region,
        )


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning."""
    # AWS_ENDPOINT_URL is boto3's own variable: honour it even if only the SDK would see it.
    if "aws_endpoint_url" not in overrides and os.environ.get("AWS_ENDPOINT_URL"):
        overrides["aws_endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    return Settings(**overrides)  # type: ignore[arg-type]
