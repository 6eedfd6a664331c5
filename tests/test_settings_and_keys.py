"""Settings from the environment, and the credentials key (generated 0600, logged)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from bot.secretbox import SecretBox, SecretBoxError
from bot.settings import load_settings


def test_defaults_are_the_embedded_sqlite(tmp_path: Path) -> None:
    s = load_settings()
    folder = tmp_path / "xdg-data" / "cspm-bot"  # the per-user data folder, whatever the cwd
    assert s.database_url == f"sqlite:///{folder}/cspm.db" and s.is_sqlite
    assert s.resolved_key_file == folder / "secret.key"
    e = s.cloud_endpoints()
    assert e.aws_endpoint_url is None and e.azure_authority_host.startswith("https://login.")


def test_environment_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPM_DATABASE_URL", "sqlite:////srv/cspm/data.db")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("CSPM_AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/")
    monkeypatch.setenv("CSPM_AZURE_ARM_URL", "https://management.usgovcloudapi.net")
    monkeypatch.setenv("CSPM_GCP_TOKEN_URI", "https://oauth2.example/token")
    monkeypatch.setenv("CSPM_CA_BUNDLE", "/etc/ssl/corp.pem")
    monkeypatch.setenv("CSPM_CLOUD_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("CSPM_OPERATORS", "U1, S2 ,,U3")
    s = load_settings()
    e = s.cloud_endpoints()
    assert s.resolved_key_file == Path("/srv/cspm/secret.key")
    assert e.aws_endpoint_url == "http://127.0.0.1:5000"
    assert e.azure_authority_host == "https://login.microsoftonline.us"
    assert e.azure_arm_url == "https://management.usgovcloudapi.net"
    assert e.gcp_token_uri == "https://oauth2.example/token"
    assert e.ca_bundle == "/etc/ssl/corp.pem" and e.max_attempts == 5
    assert s.operators == ["U1", "S2", "U3"]


def test_bad_values_are_rejected_with_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPM_CLOUD_MAX_ATTEMPTS", "0")
    with pytest.raises(ValidationError, match="CSPM_CLOUD_MAX_ATTEMPTS"):
        load_settings()


def test_key_file_is_generated_0600_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "data" / "secret.key"
    with caplog.at_level(logging.WARNING):
        box = SecretBox.from_settings(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file.resolve()) in caplog.text
    token = box.encrypt({"secret_access_key": "s3cr3t-value"})
    assert b"s3cr3t-value" not in token
    # the same file is reused on the next start
    again = SecretBox.from_settings(None, key_file)
    assert again.decrypt(token) == {"secret_access_key": "s3cr3t-value"}


def test_key_rotation_and_wrong_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox.from_settings(old, Path("unused")).encrypt({"a": "b"})
    rotated = SecretBox.from_settings(f"{new},{old}", Path("unused"))
    assert rotated.decrypt(token) == {"a": "b"}
    with pytest.raises(SecretBoxError, match="cannot be decrypted"):
        SecretBox.from_settings(new, Path("unused")).decrypt(token)
    with pytest.raises(SecretBoxError, match="not a valid Fernet key"):
        SecretBox.from_settings("too-short", Path("unused"))
