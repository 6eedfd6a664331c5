"""What a new user sees first: empty states that say what to do next and which database they
read (the same one from any folder), and `serve` failing cleanly when Slack is unreachable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_default_database_is_the_same_from_any_folder(tmp_path: Path) -> None:
    env = dict(os.environ)  # the autouse fixture set XDG_DATA_HOME and cleared CSPM_*
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    first = _cli("project", "list", cwd=one, env=env)
    second = _cli("project", "list", cwd=two, env=env)
    database = Path(env["XDG_DATA_HOME"]) / "cspm-bot" / "cspm.db"
    for result in (first, second):
        assert result.returncode == 0, result.stderr
        assert "No projects. Add one with `cspm-bot project add" in result.stdout
        assert str(database) in result.stdout
    assert not database.parent.exists()  # read-only commands create no data folder
    assert _cli("db", "upgrade", cwd=one, env=env).returncode == 0
    assert database.exists()
    assert not (one / ".cspm").exists() and not (two / ".cspm").exists()
    connectors = _cli("connector", "list", cwd=two, env=env)
    assert "No connectors yet: add one with `cspm-bot connector add`" in connectors.stdout


def test_serve_says_only_its_own_message_when_slack_is_unreachable(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    from bot.playground.aws import refused_url

    env = dict(os.environ)
    env.update(
        CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SLACK_BOT_TOKEN="xoxb-" + "1" * 12 + "-unreachable",
        SLACK_SIGNING_SECRET="s" * 32,
        SLACK_API_URL=refused_url() + "/api/",
    )
    result = _cli("serve", "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: Cannot reach the Slack API"), result.stderr
    assert "slack_sdk" not in result.stderr and "Traceback" not in result.stderr
    assert "`token` will be unused" not in result.stderr
