"""The credentials key at start: proved by the database's key check value, never silently
replaced, a wrong one refused with what to do; private files; rotation keeps scans working."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.secretbox import SecretBoxError, key_id
from bot.services.keys import KeyState, KeyUse, missing_key_error, wrong_key_error
from bot.settings import Settings, load_settings
from storage.models import Connector
from storage.repositories.connectors import ConnectorRepo
from storage.repositories.keys import KeyCheckRepo
from tests.conftest import make_settings


def _save_connector(rt: Any, name: str = "prod") -> int:
    secret = Fernet.generate_key().decode()  # any secret-shaped value, made at run time
    with rt.db.unit_of_work() as session:
        row = ConnectorRepo(session).add(
            Connector(
                name=name,
                provider="aws",
                fingerprint="AKIA…TEST",
                created_by="U1",
                secret_ciphertext=rt.box.encrypt(
                    {"access_key_id": "AKIA" + "T" * 16, "secret_access_key": secret}
                ),
            )
        )
        return row.id


def _file_settings(tmp_path: Path) -> tuple[Settings, Path]:
    key_file = tmp_path / "data" / "secret.key"
    return (
        make_settings(f"sqlite:///{tmp_path}/cspm.db", encryption_key=None, key_file=key_file),
        key_file,
    )


def test_a_missing_key_file_is_refused_while_the_database_holds_connectors(
    tmp_path: Path, runtime_factory: Any
) -> None:
    settings, key_file = _file_settings(tmp_path)
    rt = runtime_factory(settings)
    _save_connector(rt)
    rt.close()
    key_file.unlink()
    for use in (KeyUse.CREATE, KeyUse.LOAD):
        with pytest.raises(SecretBoxError) as refused:
            runtime_factory(settings, key_use=use)
        message = str(refused.value)
        assert f"The key file {key_file.resolve()} is missing" in message
        assert f"sqlite:///{tmp_path}/cspm.db" in message and "1 encrypted connector" in message
        assert "backup" in message and "cspm-bot key reset --yes" in message
        assert not key_file.exists()  # no new key was generated


def test_a_check_value_alone_forbids_generating_a_key(tmp_path: Path, runtime_factory: Any) -> None:
    """No connector yet, but the database was set up with a key: a lost key file is not
    replaced (connectors added afterwards would be undecryptable once the backup returns)."""
    settings, key_file = _file_settings(tmp_path)
    runtime_factory(settings).close()
    with runtime_factory(settings).db.read() as session:
        check = KeyCheckRepo(session).get()
        assert check is not None and check.key_id == key_id(key_file.read_bytes())
        assert key_file.read_bytes().strip() not in check.token  # the key itself is not stored
    key_file.unlink()
    with pytest.raises(SecretBoxError, match="a key check value written with key id"):
        runtime_factory(settings)
    assert not key_file.exists()


def test_a_wrong_key_is_refused_naming_where_it_comes_from(
    tmp_path: Path, runtime_factory: Any
) -> None:
    settings, key_file = _file_settings(tmp_path)
    _save_connector(runtime_factory(settings))
    original = key_file.read_bytes()
    key_file.write_bytes(Fernet.generate_key())
    with pytest.raises(SecretBoxError) as wrong:
        runtime_factory(settings)
    message = str(wrong.value)
    assert message.startswith(f"The key file {key_file.resolve()} (key id ")
    assert "is not the key the database" in message and "cspm-bot key reset --yes" in message
    key_file.write_bytes(original)  # the backup restored: everything decrypts again
    runtime_factory(settings)

    env = make_settings(settings.database_url, key_file=key_file)  # a random CSPM_ENCRYPTION_KEY
    with pytest.raises(
        SecretBoxError, match=r"^CSPM_ENCRYPTION_KEY \(key id [0-9a-f]{16}\) is not"
    ):
        runtime_factory(env, key_use=KeyUse.LOAD)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "is empty"), (b" \n\n", "is empty"), (b"not-a-key\n", "is malformed: its key")],
)
def test_an_empty_or_malformed_key_file_says_so(
    tmp_path: Path, runtime_factory: Any, content: bytes, expected: str
) -> None:
    settings, key_file = _file_settings(tmp_path)
    key_file.parent.mkdir()
    key_file.write_bytes(content)
    with pytest.raises(SecretBoxError) as bad:
        runtime_factory(settings)
    message = str(bad.value)
    assert message.startswith(f"The key file {key_file.resolve()} {expected}")
    assert "CSPM_ENCRYPTION_KEY" not in message
    assert key_file.read_bytes() == content  # left as it was


def test_a_database_from_before_the_check_value_gets_one_once_a_connector_decrypts(
    tmp_path: Path, runtime_factory: Any
) -> None:
    settings, key_file = _file_settings(tmp_path)
    rt = runtime_factory(settings)
    _save_connector(rt)
    with rt.db.unit_of_work() as session:  # as a database migrated from before the check
        check = KeyCheckRepo(session).get()
        assert check is not None
        session.delete(check)
    original = key_file.read_bytes()

    key_file.write_bytes(Fernet.generate_key())
    with pytest.raises(SecretBoxError, match="1 encrypted connector"):
        runtime_factory(settings)
    with rt.db.read() as session:
        assert KeyCheckRepo(session).get() is None  # nothing written for a wrong key

    key_file.write_bytes(original)
    runtime_factory(settings, key_use=KeyUse.LOAD)
    with rt.db.read() as session:
        check = KeyCheckRepo(session).get()
        assert check is not None and check.key_id == key_id(original)


def test_messages_mask_the_database_password() -> None:
    settings = make_settings("postgresql+psycopg://cspm:hunter2@db.example:5432/cspm")
    state = KeyState(b"token", "0123456789abcdef", None, 2)
    message = str(missing_key_error(settings, state))
    assert "postgresql+psycopg://cspm:***@db.example:5432/cspm" in message
    assert "hunter2" not in message and "2 encrypted connectors" in message
    from bot.secretbox import load_box

    box = load_box(Fernet.generate_key().decode(), Path("unused"))
    assert box is not None
    assert "hunter2" not in str(wrong_key_error(settings, box, state))


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_database_and_key_file_are_private(
    tmp_path: Path, runtime_factory: Any, umask_022: None
) -> None:
    settings = load_settings()  # the defaults: everything in the per-user data folder
    folder = tmp_path / "xdg-data" / "cspm-bot"
    assert not folder.exists()
    rt = runtime_factory(settings)
    _save_connector(rt)  # a write: SQLite's -wal and -shm files exist while it is open
    assert _mode(folder) == 0o700
    assert _mode(folder / "secret.key") == 0o600
    for name in ("cspm.db", "cspm.db-wal", "cspm.db-shm"):
        assert _mode(folder / name) == 0o600, name


def test_rotation_re_encrypts_everything_so_the_old_key_can_go(
    database_url: str, runtime_factory: Any
) -> None:
    from bot.services.keys import KeyService

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = database_url
    rt = runtime_factory(make_settings(url, encryption_key=old))
    ids = [_save_connector(rt, "a"), _save_connector(rt, "b")]
    both = runtime_factory(make_settings(url, encryption_key=f"{new},{old}"))
    result = KeyService(both.db, both.settings).rotate(both.box, actor="cli:ops")
    assert result.connectors == 2 and result.key_id == key_id(new.encode())
    assert result.retired_key_ids == (key_id(old.encode()),)

    alone = runtime_factory(make_settings(url, encryption_key=new), key_use=KeyUse.LOAD)
    for connector_id in ids:  # what every scan does first
        provider, creds = alone.connectors.load_credentials(connector_id)
        assert provider == "aws" and creds.access_key_id.startswith("AKIA")
    with pytest.raises(SecretBoxError, match="is not the key the database"):
        runtime_factory(make_settings(url, encryption_key=old))
    from storage.repositories.audit import AuditRepo

    with alone.db.read() as session:
        event = AuditRepo(session).recent(1)[0]
        assert (event.actor, event.action, event.detail["connectors"]) == (
            "cli:ops",
            "key.rotate",
            2,
        )
        assert old not in str(event.detail) and new not in str(event.detail)
