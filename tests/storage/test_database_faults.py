"""A database that cannot be written, as a person meets it: `cspm-bot` says what is wrong
and what to do (exit code 1), never a traceback, and a full disk corrupts nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.db import Database
from storage.models import Connector, Project
from tests.conftest import PG_ENV, _reset_postgres
from tests.support.faultfs import SmallDisk, read_only

CLI = str(Path(sys.executable).with_name("cspm-bot"))
EXIT_ERROR = 1
READ_ONLY_OPTION = "options=-c%20default_transaction_read_only%3Don"


def _seed(url: str) -> None:
    """A migrated database with connector `prod` and project `web`."""
    db = Database(url)
    db.upgrade()
    with db.unit_of_work() as s:
        connector = Connector(name="prod", provider="aws", fingerprint="-", created_by="test")
        s.add(connector)
        s.flush()
        s.add(Project(name="web", connector_id=connector.id, created_by="test"))
    db.dispose()


def _cli(
    url: str, *args: str, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CSPM_", "SLACK_"))}
    env.update(CSPM_DATABASE_URL=url, CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode())
    return subprocess.run(
        [CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec,
        check=False,
    )


def _no_traceback(out: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    assert "unexpected failure" not in out.stderr, out.stderr


def test_read_only_sqlite_database_is_refused_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    url = f"sqlite:///{folder}/cspm.db"
    _seed(url)

    with read_only(folder):
        out = _cli(url, "project", "list")

    assert out.returncode == EXIT_ERROR, out.stderr
    _no_traceback(out)
    assert "read-only" in out.stderr and str(folder) in out.stderr, out.stderr
    assert out.stdout == ""


def test_read_only_postgres_database_is_refused_at_start() -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL variant skipped")
    _reset_postgres(url)
    read_only_url = url + ("&" if "?" in url else "?") + READ_ONLY_OPTION

    out = _cli(read_only_url, "project", "list")

    assert out.returncode == EXIT_ERROR, out.stderr
    _no_traceback(out)
    assert "read-only" in out.stderr and "writable primary" in out.stderr, out.stderr


def test_full_disk_under_sqlite_gives_a_clear_error_and_corrupts_nothing(tmp_path: Path) -> None:
    with SmallDisk(tmp_path / "disk", kib=1024) as disk:
        path = disk.folder / "cspm.db"
        url = f"sqlite:///{path}"
        _seed(url)
        disk.fill()

        out = _cli(url, "project", "add", "api", "--connector", "prod", preexec=disk.preexec)

        assert out.returncode == EXIT_ERROR, out.stderr
        _no_traceback(out)
        assert "disk under the database" in out.stderr and str(path) in out.stderr
        if disk.mounted:
            assert "is full" in out.stderr, out.stderr

        disk.release()
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        listed = _cli(url, "project", "list")
        assert listed.returncode == 0, listed.stderr
        assert "web" in listed.stdout and "api" not in listed.stdout
        again = _cli(url, "project", "add", "api", "--connector", "prod")
        assert again.returncode == 0, again.stderr


def test_a_percent_sign_in_the_database_url_is_no_problem(tmp_path: Path) -> None:
    # URL-encoded passwords (p%40ss) and paths with "%" once broke every start
    url = f"sqlite:///{tmp_path}/100% sure/cspm.db"

    out = _cli(url, "project", "list")

    assert out.returncode == 0, out.stderr
    assert "No projects" in out.stdout


def test_an_encoded_postgres_password_is_no_problem() -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL variant skipped")
    _reset_postgres(url)
    user = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]
    with_password = url.replace(f"://{user}@", f"://{user}:p%40ss%25word@", 1)
    assert with_password != url, "the test URL must name a user without a password"

    out = _cli(with_password, "project", "list")

    _no_traceback(out)
    assert "interpolation" not in out.stderr, out.stderr


def test_postgres_down_or_missing_is_told_in_words() -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL variant skipped")
    base = url.rsplit("/", 1)[0]
    missing = _cli(f"{base}/cspm_no_such_database_for_tests", "project", "list")
    closed_port = "postgresql+psycopg://postgres@127.0.0.1:1/cspm"
    down = _cli(closed_port, "project", "list")

    for out in (missing, down):
        assert out.returncode == EXIT_ERROR, out.stderr
        _no_traceback(out)
    assert "does not exist" in missing.stderr and "CREATE DATABASE" in missing.stderr
    assert "cannot be reached" in down.stderr
