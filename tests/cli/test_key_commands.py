"""The key from the command line: read-only commands create nothing, a missing or wrong key
is refused with exit code 2 and what to do, `key rotate` retires an old key with scans still
running, `key reset --yes` starts over. `bot.cli.main` runs in this process (one real
`cspm-bot` process checks the exit code and the absence of a traceback end to end)."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from bot.logs import RedactingFilter
from bot.secretbox import key_id
from storage.db import Database
from storage.repositories.audit import AuditRepo
from storage.repositories.keys import KeyCheckRepo

CLI = str(Path(sys.executable).with_name("cspm-bot"))


class Shell:
    """A user's shell: HOME and XDG folders of its own, run from an empty folder."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        self.root = tmp_path
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
            monkeypatch.setenv(name, str(tmp_path / name.lower()))
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        self.data = tmp_path / "xdg_data_home" / "cspm-bot"

    def env(self, name: str, value: str | None) -> None:
        if value is None:
            self.monkeypatch.delenv(name, raising=False)
        else:
            self.monkeypatch.setenv(name, value)

    def run(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        root = logging.getLogger()
        saved = root.handlers[:]
        # the CLI logs to this run's stderr, not to a stream an earlier run left behind
        root.handlers = [
            h for h in saved if not any(isinstance(f, RedactingFilter) for f in h.filters)
        ]
        try:
            code = main(list(argv))
        finally:
            root.handlers = saved
        out, err = self.capsys.readouterr()
        assert "Traceback" not in out + err and "unexpected failure" not in err, err
        return code, out, err

    def created(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.name != "work")


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Shell:
    return Shell(tmp_path, monkeypatch, capsys)


READ_ONLY = [
    ("checks",),
    ("project", "list"),
    ("project", "list", "--json"),
    ("connector", "list"),
    ("scan", "errors", "web"),
    ("scan", "history", "web"),
    ("scan", "status", "7"),
    ("scan", "findings", "web"),
    ("schedule", "list"),
    ("digest", "list"),
]


def test_read_only_commands_create_no_data_folder_and_no_key(shell: Shell) -> None:
    for argv in READ_ONLY:
        code, out, err = shell.run(*argv)
        assert code in (0, 2), (argv, err)
        assert shell.created() == [], argv  # no data folder, database or key file
    code, out, _ = shell.run("project", "list")
    assert f"(database: sqlite:///{shell.data}/cspm.db)" in out  # says where it would be
    _, _, err = shell.run("scan", "errors", "web")
    assert "No project named 'web'" in err


def _first_start(shell: Shell) -> None:
    """What `connector add` leaves behind, without the cloud: the key file and a database
    holding one encrypted connector and the key check value."""
    from bot.runtime import build_runtime
    from bot.settings import load_settings
    from tests.test_key_at_start import _save_connector

    rt = build_runtime(load_settings())
    _save_connector(rt)
    rt.close()


def _refused(shell: Shell, *argv: str) -> str:
    code, _, err = shell.run(*argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one clear line
    return err


def test_a_missing_key_file_is_refused_and_never_regenerated(shell: Shell) -> None:
    _first_start(shell)
    key_file = shell.data / "secret.key"
    key_file.unlink()
    shell.env("SLACK_BOT_TOKEN", "xoxb-" + "1" * 12)  # so that serve's settings are complete
    shell.env("SLACK_SIGNING_SECRET", "s" * 32)
    for argv in (
        ("connector", "add", "--provider", "aws", "--name", "other"),
        ("scan", "run", "web"),
        ("db", "upgrade"),
        ("serve", "--port", "0"),
    ):
        err = _refused(shell, *argv)
        assert f"The key file {key_file} is missing" in err, argv
        assert f"sqlite:///{shell.data}/cspm.db holds 1 encrypted connector" in err
        assert "backup" in err and "`cspm-bot key reset --yes`" in err
        assert not key_file.exists(), argv


def test_a_wrong_or_unreadable_key_is_refused_with_exit_code_2(shell: Shell) -> None:
    _first_start(shell)
    key_file = shell.data / "secret.key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    err = _refused(shell, "scan", "run", "web")
    assert f"The key file {key_file} (key id " in err and "is not the key the database" in err
    key_file.write_text("")
    err = _refused(shell, "scan", "run", "web")
    assert f"The key file {key_file} is empty" in err and "CSPM_ENCRYPTION_KEY" not in err
    key_file.write_text("0123456789\n")
    err = _refused(shell, "scan", "run", "web")
    assert f"The key file {key_file} is malformed" in err and "CSPM_ENCRYPTION_KEY" not in err
    shell.env("CSPM_ENCRYPTION_KEY", Fernet.generate_key().decode())
    err = _refused(shell, "scan", "run", "web")
    assert err.startswith("error: CSPM_ENCRYPTION_KEY (key id ")


def test_the_real_process_exits_2_without_a_traceback(shell: Shell) -> None:
    _first_start(shell)
    (shell.data / "secret.key").unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSPM_", "SLACK_"))}
    done = subprocess.run(
        [CLI, "scan", "run", "web"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "is missing" in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert not (shell.data / "secret.key").exists()


def test_rotate_with_the_key_file_lets_the_old_key_go(shell: Shell) -> None:
    _first_start(shell)
    key_file = shell.data / "secret.key"
    old = key_file.read_text().strip()
    new = Fernet.generate_key().decode()
    key_file.write_text(f"{new}\n{old}\n")  # the new key first: it encrypts from now on
    code, out, err = shell.run("key", "rotate")
    assert code == 0, err
    assert (
        f"Re-encrypted 1 connector and the key check value with key id {key_id(new.encode())}"
        in out
    )
    assert f"Nothing needs key id {key_id(old.encode())} any more: remove it" in out
    key_file.write_text(new + "\n")  # the old key retired
    code, _, err = shell.run("db", "upgrade")
    assert code == 0, err
    from bot.runtime import build_runtime
    from bot.services.keys import KeyUse
    from bot.settings import load_settings

    rt = build_runtime(load_settings(), key_use=KeyUse.LOAD)
    try:
        provider, creds = rt.connectors.load_credentials(1)  # what a scan does first
    finally:
        rt.close()
    assert provider == "aws" and creds.access_key_id.startswith("AKIA")
    key_file.write_text(old + "\n")
    _refused(shell, "scan", "run", "web")


def test_rotate_then_scan_with_only_the_new_key(shell: Shell, aws: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    shell.env("AWS_ENDPOINT_URL", aws.url)
    shell.env("CSPM_CLOUD_MAX_ATTEMPTS", "2")
    shell.env("CSPM_ENCRYPTION_KEY", old)
    access, secret = aws.create_user("key-rotation", admin=True)
    creds = json.dumps({"access_key_id": access, "secret_access_key": secret})
    code, _, err = shell.run("connector", "add", "--provider", "aws", "--name", "prod", stdin=creds)
    assert code == 0, err
    code, _, err = shell.run("project", "add", "web", "--connector", "prod", "--scope", "us-east-1")
    assert code == 0, err
    shell.env("CSPM_ENCRYPTION_KEY", f"{new},{old}")
    code, out, err = shell.run("key", "rotate", "--json")
    assert code == 0, err
    assert json.loads(out)["retired_key_ids"] == [key_id(old.encode())]
    shell.env("CSPM_ENCRYPTION_KEY", new)
    code, out, err = shell.run("scan", "run", "web")
    assert code == 0, out + err
    assert "Completed" in out


def test_reset_starts_over_explicitly_and_is_audited(shell: Shell) -> None:
    _first_start(shell)
    key_file = shell.data / "secret.key"
    key_file.unlink()
    code, _, err = shell.run("key", "reset")
    assert code == 2 and "add --yes to confirm" in err
    assert not key_file.exists()
    code, out, err = shell.run("--actor", "cli:ops", "key", "reset", "--yes")
    assert code == 0, err
    assert "Credentials destroyed: 1 connector (prod)" in out
    assert "cspm-bot connector replace NAME" in out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    code, out, err = shell.run("connector", "list", "--json")
    (row,) = json.loads(out)
    assert row["name"] == "prod" and row["last_validation_ok"] is False
    code, _, err = shell.run("connector", "validate", "prod")
    assert code == 2 and "has no saved credentials" in err and "replace it first" in err
    db = Database(f"sqlite:///{shell.data}/cspm.db")
    with db.read() as session:
        check = KeyCheckRepo(session).get()
        assert check is not None and check.key_id == key_id(key_file.read_bytes())
        event = AuditRepo(session).recent(1)[0]
        assert (event.actor, event.action, event.detail["emptied_connectors"]) == (
            "cli:ops",
            "key.reset",
            ["prod"],
        )
    db.dispose()


def test_reset_moves_a_wrong_key_file_aside(shell: Shell) -> None:
    _first_start(shell)
    key_file = shell.data / "secret.key"
    wrong = Fernet.generate_key().decode() + "\n"
    key_file.write_text(wrong)
    code, out, err = shell.run("key", "reset", "--yes")
    assert code == 0, err
    (aside,) = shell.data.glob("secret.key.replaced-*")
    assert aside.read_text() == wrong and key_file.read_text() != wrong
    assert f"(the unusable key file was moved to {aside})" in out
    code, _, err = shell.run("db", "upgrade")
    assert code == 0, err
