"""The CLI as a new user runs it: a real `cspm-bot` process against AWS on loopback."""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.domain import JobStatus, ScanStatus
from tests.conftest import make_settings

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
        [CLI, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(env["CSPM_DATABASE_URL"].split("///")[1]).parent,
    )


@pytest.fixture
def onboarded(env: dict[str, str], aws: Any) -> dict[str, str]:
    key_id, secret = aws.create_user("cli-scanner", admin=True)
    creds = json.dumps({"access_key_id": key_id, "secret_access_key": secret})
    out = cli(env, "connector", "add", "--provider", "aws", "--name", "prod", stdin=creds)
    assert out.returncode == 0, out.stderr
    assert "Connector 'prod' created" in out.stdout and secret not in out.stdout + out.stderr
    out = cli(env, "project", "add", "web", "--connector", "prod", "--scope", "us-east-1,eu-west-1")
    assert out.returncode == 0, out.stderr
    return {"key_id": key_id, "secret": secret}


def test_new_user_reaches_completed(env: dict[str, str], onboarded: dict[str, str]) -> None:
    out = cli(env, "scan", "run", "web")
    assert out.returncode == 0, out.stderr
    assert "Completed — All 5 jobs succeeded" in out.stdout
    assert "  … " in out.stderr  # progress lines while it ran
    listed = cli(env, "project", "list", "--json")
    data = json.loads(listed.stdout)
    assert data["projects"][0]["last_status"] == "completed"
    listed = cli(env, "connector", "list")
    assert "prod" in listed.stdout and onboarded["key_id"][-4:] in listed.stdout
    assert onboarded["secret"] not in listed.stdout


def test_partially_completed_and_errors(
    env: dict[str, str], onboarded: dict[str, str], aws_proxy: Any
) -> None:
    aws_proxy.throttle(region="eu-west-1")
    out = cli(env, "scan", "run", "web")
    assert out.returncode == 3, out.stderr
    assert "Partially Completed" in out.stdout
    errors = cli(env, "scan", "errors", "web")
    assert "[temporary] eu-west-1" in errors.stdout and "Re-run the scan" in errors.stdout
    history = cli(env, "scan", "history", "web", "--json")
    assert json.loads(history.stdout)["scans"][0]["status"] == "partially_completed"


def test_failed_with_invalid_credentials(
    env: dict[str, str], onboarded: dict[str, str], aws: Any
) -> None:
    aws.client("iam").delete_access_key(UserName="cli-scanner", AccessKeyId=onboarded["key_id"])
    out = cli(env, "scan", "run", "web")
    assert out.returncode == 4, out.stderr
    assert "Failed" in out.stdout and "authentication failed" in out.stdout
    errors = cli(env, "scan", "errors", "web", "--json")
    entries = json.loads(errors.stdout)["errors"]
    assert entries and all(e["category"] == "invalid_credentials" for e in entries)
    assert onboarded["secret"] not in errors.stdout


def test_stopped_from_another_process(
    env: dict[str, str], onboarded: dict[str, str], aws_proxy: Any
) -> None:
    released = aws_proxy.hold(region="eu-west-1")  # its job stays in a cloud call until then
    runner = subprocess.Popen(
        [CLI, "scan", "run", "web"],
        env=dict(env, CSPM_CLOUD_TIMEOUT="90"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while aws_proxy.count(region="eu-west-1") == 0:  # the scan is under way
            assert runner.poll() is None, runner.communicate()
            assert time.monotonic() < deadline, "the scan made no eu-west-1 call within 60 s"
            time.sleep(0.05)
        stop = cli(env, "scan", "stop", "web")
    finally:
        released.set()
    assert stop.returncode == 0, stop.stderr
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 5, err
    assert f"Stopped by {getpass.getuser()} after" in out  # the user's name, not "cli:…"
    status = json.loads(cli(env, "scan", "status", "web", "--json").stdout)
    jobs = {j["unit"]: j["status"] for j in status["jobs"]}
    assert jobs["eu-west-1"] == "cancelled"  # the running job stopped at its next cloud call


def test_bad_input_gives_clear_messages(env: dict[str, str], aws: Any) -> None:
    out = cli(
        env,
        "connector",
        "add",
        "--provider",
        "aws",
        "--name",
        "x",
        stdin='{"access_key_id": "", "secret_access_key": ""}',
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "access_key_id" in out.stderr
    out = cli(env, "connector", "add", "--provider", "oracle", "--name", "x", stdin="{}")
    assert out.returncode == 2 and "choose aws, azure or gcp" in out.stderr
    out = cli(env, "connector", "add", "--provider", "aws", "--name", "x", stdin="{not json")
    assert out.returncode == 2 and "not valid JSON" in out.stderr
    out = cli(env, "scan", "run", "nope")
    assert out.returncode == 2 and "No project named 'nope'" in out.stderr
    out = cli(env, "project", "list", "--status", "purple")
    assert out.returncode == 2 and "Unknown status" in out.stderr
    bad_env = dict(env, CSPM_SCAN_CONCURRENCY="lots")
    out = cli(bad_env, "project", "list")
    assert out.returncode == 2 and "scan_concurrency" in out.stderr.lower()


def test_mistyped_project_suggests_the_real_one(
    env: dict[str, str], onboarded: dict[str, str]
) -> None:
    out = cli(env, "scan", "history", "wbe")
    assert out.returncode == 2 and "Did you mean: web?" in out.stderr


def test_crash_mid_scan_is_recovered_on_next_start(
    env: dict[str, str], onboarded: dict[str, str], aws_proxy: Any, runtime_factory: Any
) -> None:
    aws_proxy.delay(2.0, region="eu-west-1")
    runner = subprocess.Popen(
        [CLI, "scan", "run", "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    settings = make_settings(env["CSPM_DATABASE_URL"], encryption_key=env["CSPM_ENCRYPTION_KEY"])
    from storage.db import Database
    from storage.models import Job

    db = Database(env["CSPM_DATABASE_URL"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.read() as s:
            if s.query(Job).filter(Job.status == "succeeded").count() >= 1:
                break
        time.sleep(0.1)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    db.dispose()

    rt = runtime_factory(settings)  # the next start recovers
    scan = rt.scans.get(rt.projects.get("web").last_scan_id)
    assert scan.status is ScanStatus.PARTIALLY_COMPLETED
    jobs = {j.unit: j.status for j in rt.scans.jobs(scan.scan_id)}
    assert jobs["eu-west-1"] is JobStatus.INTERRUPTED
    assert JobStatus.SUCCEEDED in jobs.values()
    assert "interrupted" in scan.status_message
    assert any(e.code == "Interrupted" for e in rt.scans.errors(scan.scan_id))


def test_project_owner_is_set_at_creation_and_changed(
    env: dict[str, str], onboarded: dict[str, str]
) -> None:
    out = cli(env, "project", "add", "api", "--connector", "prod", "--owner", "S0WEBTEAM")
    assert out.returncode == 0, out.stderr
    assert "owner S0WEBTEAM" in out.stdout
    out = cli(env, "project", "owner", "web", "U0ANA")
    assert out.returncode == 0 and "now mention U0ANA" in out.stdout
    out = cli(env, "project", "owner", "web", "--clear", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["owner"] is None
    bad = cli(env, "project", "owner", "web", "@ana")
    assert bad.returncode == 2 and "is not a Slack user or user group" in bad.stderr
    assert "Traceback" not in bad.stderr
