"""`cspm-bot connector discover` as an operator runs it: a real `cspm-bot` process against an
AWS organization on loopback (moto with auth, through the fault proxy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

CLI = str(Path(sys.executable).with_name("cspm-bot"))


@pytest.fixture
def env(tmp_path: Path, aws_proxy: Any) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CSPM_", "SLACK_"))}
    base.update(
        {
            "CSPM_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
            "CSPM_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "AWS_ENDPOINT_URL": aws_proxy.url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "CSPM_CLOUD_MAX_ATTEMPTS": "2",
            "CSPM_HEARTBEAT_SECONDS": "0.5",
        }
    )
    return base


def cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_discover_then_scan_members_from_the_command_line(
    env: dict[str, str], aws: Any, aws_proxy: Any
) -> None:
    members = aws.create_organization(["prod", "dev", "audit"])
    key_id, secret = aws.create_user("hub-scanner", admin=True)
    hub = json.dumps({"access_key_id": key_id, "secret_access_key": secret})
    out = cli(env, "connector", "add", "--provider", "aws", "--name", "hub", stdin=hub)
    assert out.returncode == 0, out.stderr

    out = cli(env, "connector", "discover", "hub", "--scope", "us-east-1")
    assert out.returncode == 0, out.stderr
    assert "3 accounts found; 3 project(s) created, 0 updated, 0 unchanged" in out.stdout
    for name, account_id in members.items():
        assert f"hub-{name}" in out.stdout and account_id in out.stdout
    again = cli(env, "connector", "discover", "hub", "--json")
    projects = json.loads(again.stdout)["projects"]
    assert sorted(p["change"] for p in projects) == ["unchanged"] * 3
    listed = json.loads(cli(env, "project", "list", "--json").stdout)["projects"]
    assert sorted(p["name"] for p in listed) == ["hub-audit", "hub-dev", "hub-prod"]

    out = cli(env, "scan", "run", "hub-prod")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Completed" in out.stdout

    aws_proxy.deny_assume_role(f"arn:aws:iam::{members['dev']}:role/OrganizationAccountAccessRole")
    out = cli(env, "scan", "run", "hub-dev")
    assert out.returncode == 4, out.stdout + out.stderr
    assert "role assumption failed" in out.stdout
    errors = cli(env, "scan", "errors", "hub-dev")
    assert "[assume_role_failed]" in errors.stdout
    assert "Next step: Fix the role's trust policy" in errors.stdout
    assert secret not in out.stdout + errors.stdout + errors.stderr
