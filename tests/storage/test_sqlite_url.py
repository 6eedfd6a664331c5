"""A SQLite URL with percent-encoded characters: the folder made private (0700) and the key
file's folder are the ones SQLAlchemy opens, which decodes %XX in the path."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.database_url import sqlite_file, sqlite_url
from bot.settings import load_settings
from storage.db import sqlite_path
from storage.failures import explain
from tests.conftest import make_settings

ODD = "my data 100%"
"""A folder name with a space and a percent sign: %20 and %25 in a URL."""


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_made_private_is_the_one_sqlalchemy_opens(
    tmp_path: Path, runtime_factory: Any, umask_022: None
) -> None:
    folder = tmp_path / ODD
    url = f"sqlite:///{quote(str(tmp_path))}/my%20data%20100%25/cspm.db"
    assert sqlite_url(folder / "cspm.db") == url
    settings = make_settings(url, encryption_key=None)
    assert settings.data_dir == folder
    assert settings.resolved_key_file == folder / "secret.key"

    rt = runtime_factory(settings)
    assert Path(rt.db.engine.url.database or "") == folder / "cspm.db"
    rt.projects  # noqa: B018 (the runtime is usable: migrations ran on that file)
    assert _mode(folder) == 0o700
    assert _mode(folder / "cspm.db") == 0o600
    assert _mode(folder / "secret.key") == 0o600
    assert not (tmp_path / "my%20data%20100%25").exists()  # nothing made under the raw name


def test_the_default_database_in_a_data_folder_with_odd_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime_factory: Any, umask_022: None
) -> None:
    home = tmp_path / "data %20 100%"  # a literal "%20" must not become a space
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    settings = load_settings()
    folder = home / "cspm-bot"
    assert sqlite_file(settings.database_url) == folder / "cspm.db"
    rt = runtime_factory(settings)
    assert Path(rt.db.engine.url.database or "") == folder / "cspm.db"
    assert _mode(folder) == 0o700
    assert (folder / "secret.key").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////srv/a%25b%20c/cspm.db?timeout=5", Path("/srv/a%b c/cspm.db")),
        ("sqlite+pysqlite:///rel/cspm.db", Path("rel/cspm.db")),
        ("sqlite:///file:/srv/x%20y.db?mode=rwc&uri=true", Path("/srv/x y.db")),
        ("sqlite:///file:mem?mode=memory&uri=true", None),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql+psycopg://u@127.0.0.1/cspm", None),
        ("not a url", None),
    ],
)
def test_every_reader_of_a_sqlite_url_agrees(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected
    assert sqlite_path(url) == expected
    if expected is not None:
        assert make_settings(url).data_dir == expected.parent


def test_a_read_only_database_message_names_the_decoded_file(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    url = f"sqlite:///{quote(str(tmp_path / ODD))}/cspm.db"
    error = OperationalError(
        "INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database")
    )
    explained = explain(error, url)
    assert explained is not None
    assert f"{tmp_path / ODD / 'cspm.db'}" in explained.message
