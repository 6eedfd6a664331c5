"""The credentials key at start: never silently replaced, a wrong one refused with what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.secretbox import SecretBoxError
from bot.settings import reveal
from storage.models import Connector
from storage.repositories.connectors import ConnectorRepo
from tests.conftest import make_settings


def _save_connector(rt: Any) -> None:
    secret = Fernet.generate_key().decode()  # any key-shaped value, built at run time
    with rt.db.unit_of_work() as session:
        ConnectorRepo(session).add(
            Connector(
                name="prod",
                provider="aws",
                fingerprint="AKIA…TEST",
                created_by="U1",
                secret_ciphertext=rt.box.encrypt({"secret_access_key": secret}),
            )
        )


def test_a_missing_key_file_is_not_replaced_while_connectors_are_stored(
    tmp_path: Path, runtime_factory: Any
) -> None:
    key_file = tmp_path / "data" / "secret.key"
    url = f"sqlite:///{tmp_path}/cspm.db"
    settings = make_settings(url, encryption_key=None, key_file=key_file)
    rt = runtime_factory(settings)
    _save_connector(rt)
    rt.close()
    original = key_file.read_bytes()

    key_file.unlink()
    with pytest.raises(SecretBoxError) as missing:
        runtime_factory(settings)
    assert str(key_file.resolve()) in str(missing.value)
    assert "cspm.db" in str(missing.value) and "backup" in str(missing.value)
    assert not key_file.exists()  # no new key was generated

    key_file.write_bytes(Fernet.generate_key())
    with pytest.raises(SecretBoxError, match="does not decrypt the connectors stored in"):
        runtime_factory(settings)

    key_file.write_bytes(b"  \n")
    with pytest.raises(SecretBoxError, match="is empty"):
        runtime_factory(settings)

    key_file.write_bytes(b"not-a-key")
    with pytest.raises(SecretBoxError) as malformed:
        runtime_factory(settings)
    assert str(key_file.resolve()) in str(malformed.value)
    assert "CSPM_ENCRYPTION_KEY" not in str(malformed.value)

    key_file.write_bytes(original)  # the backup restored: everything decrypts again
    again = runtime_factory(settings)
    with again.db.read() as session:
        stored = ConnectorRepo(session).any_ciphertext()
    assert stored is not None and "secret_access_key" in again.box.decrypt(stored)


def test_a_wrong_environment_key_is_refused(tmp_path: Path, runtime_factory: Any) -> None:
    url = f"sqlite:///{tmp_path}/cspm.db"
    first = make_settings(url)
    rt = runtime_factory(first)
    _save_connector(rt)
    rt.close()
    with pytest.raises(SecretBoxError, match="CSPM_ENCRYPTION_KEY does not decrypt"):
        runtime_factory(make_settings(url))
    rotated = f"{Fernet.generate_key().decode()},{reveal(first.encryption_key)}"
    runtime_factory(make_settings(url, encryption_key=rotated))
