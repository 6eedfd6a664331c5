"""Shared fixtures: databases (SQLite always, PostgreSQL when CSPM_TEST_DATABASE_URL is set),
settings isolated from the machine's environment, and a runtime wired like production."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from storage.db import Database
from storage.models import Base

PG_ENV = "CSPM_TEST_DATABASE_URL"
REDIS_ENV = "CSPM_TEST_REDIS_URL"


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Commands run in-process install the bot's logging on the root logger; put it back so
    one test's handlers (and the streams they write to) never reach the next test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees real cloud credentials, config files or the developer's .env."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "AZURE_", "GOOGLE_", "SLACK_", "CSPM_")) and name not in (
            PG_ENV,
            REDIS_ENV,
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # the default data folder
    monkeypatch.chdir(tmp_path)


def _reset_postgres(url: str) -> None:
    import storage.models_scheduling  # noqa: F401  (its tables must be dropped too)

    db = Database(url)
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cspm.db"
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL variant skipped")
    _reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database URL (for tests that don't need both engines)."""
    return f"sqlite:///{tmp_path}/cspm.db"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database on both engines."""
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for tests: explicit database and key, fast heartbeats, small retry budget."""
    values: dict[str, object] = {
        "database_url": database_url,
        "encryption_key": Fernet.generate_key().decode(),
        "heartbeat_seconds": 0.2,
        "cloud_max_attempts": 2,
        "cloud_timeout_seconds": 15.0,  # a fresh moto backend answers slowly on a busy machine
        "scan_concurrency": 4,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def runtime_factory() -> Iterator[object]:
    """Build runtimes from settings; all are closed at the end of the test."""
    built: list[Runtime] = []

    def factory(settings: Settings, **kwargs: object) -> Runtime:
        rt = build_runtime(settings, **kwargs)  # type: ignore[arg-type]
        built.append(rt)
        return rt

    yield factory
    for rt in built:
        rt.close()


# --- AWS on loopback (moto server + fault proxy), shared by engine, CLI and Slack tests ----
@pytest.fixture
def aws() -> Iterator[object]:
    """The process-wide moto stand-in with authentication on, wiped for each test."""
    from bot.playground.aws import MotoStandIn

    standin = MotoStandIn.shared()
    standin.reset()
    standin.enable_auth()
    yield standin


@pytest.fixture
def aws_proxy(aws: object) -> Iterator[object]:
    """A fault-injecting proxy in front of the moto stand-in."""
    from bot.playground.aws import FaultProxy

    with FaultProxy(aws.url) as proxy:  # type: ignore[attr-defined]
        yield proxy
