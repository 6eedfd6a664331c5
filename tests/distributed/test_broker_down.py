"""A scan started while the broker (Redis) is down: nothing could ever run it, so it must not
stay Queued and hold its project. The start fails clearly: whoever started it is told that
the task queue cannot be reached, the scan ends Failed with a temporary-error entry saying
why (automatic retries re-run such scans), and the project takes the next scan. A real
``cspm-bot scan run`` process against a broker URL where nothing listens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.domain import ErrorCategory, ScanStatus
from tests.conftest import make_settings
from tests.support.distributed import free_port, require_redis, settings_env

CLI = str(Path(sys.executable).with_name("cspm-bot"))


def test_a_scan_started_while_the_broker_is_down_fails_clearly_and_frees_the_project(
    sqlite_url: str, aws: Any, aws_proxy: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    require_redis()  # skipped, as the other broker tests, when no test Redis is configured
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = make_settings(sqlite_url, aws_endpoint_url=aws_proxy.url, broker_url=down)
    rt = runtime_factory(settings)
    key_id, secret = aws.create_user("scanner", admin=True)
    rt.connectors.create(
        "aws", "prod", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    rt.projects.add("web", "prod", actor="test", scope=["us-east-1"])

    run = subprocess.run(
        [CLI, "scan", "run", "web"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    assert "The task queue (CSPM_BROKER_URL) cannot be reached" in run.stderr
    assert "Traceback" not in run.stderr

    scan = rt.scans.get(rt.scans.resolve("web"))
    assert scan.status is ScanStatus.FAILED
    errors = rt.scans.errors(scan.scan_id)
    assert [(e.code, e.category) for e in errors] == [
        ("BrokerUnavailable", ErrorCategory.TEMPORARY)
    ]
    assert "CSPM_BROKER_URL" in errors[0].remediation
    # The project is not held by a scan nobody runs: the next start is tried again (and
    # fails the same way while the broker is still down), never refused as a conflict.
    run_again = subprocess.run(
        [CLI, "scan", "run", "web"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run_again.returncode == 1
    assert "already has scan" not in run_again.stderr
    assert "The task queue (CSPM_BROKER_URL) cannot be reached" in run_again.stderr
    second = rt.scans.get(rt.scans.resolve("web"))
    assert second.scan_id != scan.scan_id and second.status is ScanStatus.FAILED
