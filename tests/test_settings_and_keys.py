"""Settings from the environment, and the credentials key (generated 0600, logged)."""

from __future__ import annotations

import logging
import re
import secrets
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.secretbox import SecretBoxError, create_key_file, load_box
from bot.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_sqlite(tmp_path: Path) -> None:
    s = load_settings()
    folder = tmp_path / "xdg-data" / "cspm-bot"  # the per-user data folder, whatever the cwd
    assert s.database_url == f"sqlite:///{folder}/cspm.db" and s.is_sqlite
    assert s.resolved_key_file == folder / "secret.key"
    e = s.cloud_endpoints()
    assert e.optional("aws_endpoint_url") is None and e.url("azure_authority_host").startswith(
        "https://login."
    )


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
    assert e.optional("aws_endpoint_url") == "http://127.0.0.1:5000"
    assert e.url("azure_authority_host") == "https://login.microsoftonline.us"
    assert e.url("azure_arm_url") == "https://management.usgovcloudapi.net"
    assert e.url("gcp_token_uri") == "https://oauth2.example/token"
    assert e.ca_bundle == "/etc/ssl/corp.pem" and e.max_attempts == 5
    assert s.operators == ["U1", "S2", "U3"]


def test_bad_values_are_rejected_with_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPM_CLOUD_MAX_ATTEMPTS", "0")
    with pytest.raises(SettingsError, match="CSPM_CLOUD_MAX_ATTEMPTS"):
        load_settings()


def test_key_file_is_generated_0600_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "data" / "secret.key"
    assert load_box(None, key_file) is None  # reading never creates it
    with caplog.at_level(logging.WARNING):
        box = create_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file.resolve()) in caplog.text
    token = box.encrypt({"secret_access_key": "s3cr3t-value"})
    assert b"s3cr3t-value" not in token
    # the same file is reused on the next start
    again = load_box(None, key_file)
    assert again is not None and again.decrypt(token) == {"secret_access_key": "s3cr3t-value"}


def _box(keys: str) -> object:
    box = load_box(keys, Path("unused"))
    assert box is not None
    return box


def test_key_rotation_and_wrong_key(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = _box(old).encrypt({"a": "b"})  # type: ignore[attr-defined]
    assert _box(f"{new},{old}").decrypt(token) == {"a": "b"}  # type: ignore[attr-defined]
    with pytest.raises(SecretBoxError, match="cannot be decrypted with CSPM_ENCRYPTION_KEY"):
        _box(new).decrypt(token)  # type: ignore[attr-defined]
    with pytest.raises(SecretBoxError, match=r"^CSPM_ENCRYPTION_KEY is malformed: key 2 "):
        _box(f"{new},too-short")
    key_file = tmp_path / "two.key"
    key_file.write_text(f"{new}\n{old}\n")
    from_file = load_box(None, key_file)
    assert from_file is not None and from_file.decrypt(token) == {"a": "b"}
    key_file.write_text(f"{new}\nnot-a-key\n")
    with pytest.raises(SecretBoxError, match=f"^The key file {key_file} is malformed: line 2 "):
        load_box(None, key_file)


def test_secrets_never_appear_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    # generated here, so no token-shaped value is committed
    token = "xoxb-" + secrets.token_hex(16)
    signing = secrets.token_hex(16)
    app_token = "xapp-1-" + secrets.token_hex(10)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", signing)
    monkeypatch.setenv("SLACK_APP_TOKEN", app_token)
    monkeypatch.setenv("CSPM_ENCRYPTION_KEY", key)
    s = load_settings()
    shown = repr(s) + str(s) + repr(s.model_dump())
    for secret in (token, signing, app_token, key):
        assert secret not in shown
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == token


def test_readme_documents_every_setting() -> None:
    """Every settings field and every provider endpoint variable has a README table row."""
    from bot import providers
    from bot.settings import Settings, env_name

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.M))
    expected = {env_name(f) for f in Settings.model_fields if f != "endpoint_overrides"}
    expected |= {e.env for spec in providers.specs() for e in spec.endpoints}
    assert expected - documented == set()
