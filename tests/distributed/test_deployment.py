"""The Dockerfile and compose.yaml: every command they run is one the real parser takes, and
every bot process shares one database, one broker and one key."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
BOT_SERVICES = ("bot", "slack-worker", "scan-worker")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def test_every_service_runs_a_command_the_cli_takes() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", *BOT_SERVICES}
    parser = build_parser()
    commands = {name: parser.parse_args(services[name]["command"]) for name in BOT_SERVICES}
    assert commands["bot"].group == "serve" and commands["bot"].no_worker
    assert commands["slack-worker"].group == "worker"
    assert commands["slack-worker"].queues == "slack"
    assert commands["scan-worker"].queues == "scans"
    assert services["scan-worker"]["deploy"]["replicas"] >= 2


def test_the_bot_processes_share_the_database_the_broker_and_the_key() -> None:
    services = _compose()["services"]
    envs = [services[name]["environment"] for name in BOT_SERVICES]
    for key in ("CSPM_DATABASE_URL", "CSPM_BROKER_URL", "CSPM_ENCRYPTION_KEY"):
        assert len({env[key] for env in envs}) == 1, key
    env = envs[0]
    assert "@postgres:5432/" in env["CSPM_DATABASE_URL"]
    assert env["CSPM_BROKER_URL"].startswith("redis://redis:6379/")
    assert "CSPM_BROKER_VISIBILITY_TIMEOUT" in env
    # queued work survives a Redis restart
    assert "--appendonly" in services["redis"]["command"]


def test_the_image_runs_the_cli_as_a_user() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    entry = json.loads(next(x for x in lines if x.startswith("ENTRYPOINT")).split(" ", 1)[1])
    cmd = json.loads(next(x for x in lines if x.startswith("CMD")).split(" ", 1)[1])
    assert entry == ["cspm-bot"]
    assert build_parser().parse_args(cmd).no_worker
    assert any(x.startswith("USER ") and "root" not in x for x in lines)


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed: `docker compose config` not run")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30
    )
    if version.returncode != 0:
        pytest.skip("docker has no compose plugin here: `docker compose config` not run")
    env = dict(
        os.environ,
        POSTGRES_PASSWORD="pw",
        CSPM_ENCRYPTION_KEY="k",
        SLACK_BOT_TOKEN="xoxb-1",
    )
    out = subprocess.run(
        shlex.split(f"{docker} compose -f compose.yaml config --format json"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["services"]) == {"postgres", "redis", *BOT_SERVICES}
