"""Who owns a running scan, provably: a live owner keeps its scan however late its heartbeat,
a dead one's work is taken over at once on its host, and a Stop made in another process
reaches running jobs. Scans run in real `cspm-bot` processes against AWS on loopback."""

from __future__ import annotations

import getpass
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.domain import JobStatus, ScanStatus
from bot.errors import ConflictError
from bot.providers.aws.units import global_units
from storage.db import Database
from storage.models import Job, Owner, Scan
from tests.conftest import make_settings

CLI = str(Path(sys.executable).with_name("cspm-bot"))
SLOW = "eu-west-1"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll observable state until `probe` returns something; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


@pytest.fixture
def env(tmp_path: Path, aws_proxy: Any) -> dict[str, str]:
    """A `cspm-bot` environment with the production heartbeat settings (none set)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CSPM_", "SLACK_"))}
    base.update(
        {
            "CSPM_DATABASE_URL": f"sqlite:///{tmp_path}/owners.db",
            "CSPM_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "AWS_ENDPOINT_URL": aws_proxy.url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "CSPM_CLOUD_MAX_ATTEMPTS": "2",
        }
    )
    return base


@pytest.fixture
def rt(env: dict[str, str], aws: Any, runtime_factory: Any) -> Any:
    """This test process's runtime on the same database, with a project `web` to scan."""
    settings = make_settings(
        env["CSPM_DATABASE_URL"],
        encryption_key=env["CSPM_ENCRYPTION_KEY"],
        aws_endpoint_url=env["AWS_ENDPOINT_URL"],
        heartbeat_seconds=5.0,  # production
    )
    runtime = runtime_factory(settings, recover=False)
    key_id, secret = aws.create_user("owner-scanner", admin=True)
    runtime.connectors.create(
        "aws", "prod", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    runtime.projects.add("web", "prod", actor="test", scope=["us-east-1", SLOW])
    return runtime


@pytest.fixture
def db(env: dict[str, str]) -> Iterator[Database]:
    """A second handle on the database, for reading what the processes wrote."""
    database = Database(env["CSPM_DATABASE_URL"])
    yield database
    database.dispose()


def start_cli_scan(env: dict[str, str], **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "scan", "run", "web"],
        env={**env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def slow_job_running(db: Database) -> Callable[[], tuple[int, int] | None]:
    """(scan id, job id) once the slow region's job runs."""

    def probe() -> tuple[int, int] | None:
        with db.read() as s:
            row = s.execute(
                select(Job.scan_id, Job.id).where(Job.unit == SLOW, Job.status == "running")
            ).first()
            return None if row is None else (row[0], row[1])

    return probe


def others_succeeded(db: Database, scan_id: int) -> Callable[[], bool]:
    """True once every job but the slow region's succeeded."""

    def probe() -> bool:
        with db.read() as s:
            done = s.scalars(select(Job.status).where(Job.scan_id == scan_id, Job.unit != SLOW))
            return sorted(done) == ["succeeded"] * (1 + len(global_units()))

    return probe


def test_a_crashed_scan_process_is_recovered_at_once_on_its_host(
    env: dict[str, str], rt: Any, db: Database, aws_proxy: Any
) -> None:
    aws_proxy.delay(10.0, region=SLOW)  # cloud calls that outlive the process
    runner = start_cli_scan(env)
    scan_id, _ = wait_for("the slow job runs", slow_job_running(db))

    wait_for("the other jobs succeed", others_succeeded(db, scan_id))
    runner.send_signal(signal.SIGKILL)
    runner.communicate(timeout=30)

    with db.read() as s:  # its lease (3 heartbeats of 5 s) has not expired: only its death tells
        owner = s.scalars(select(Owner).where(Owner.pid == runner.pid)).one()
        assert owner.lease_expires_at > datetime.now(UTC)
    assert rt.engine.recover() == [scan_id]

    scan = rt.scans.get(scan_id)
    assert scan.status is ScanStatus.PARTIALLY_COMPLETED
    jobs = {j.unit: j.status for j in rt.scans.jobs(scan_id)}
    assert jobs == {
        **dict.fromkeys(global_units(), JobStatus.SUCCEEDED),
        "us-east-1": JobStatus.SUCCEEDED,
        SLOW: JobStatus.INTERRUPTED,
    }
    assert any(e.code == "Interrupted" for e in rt.scans.errors(scan_id))
    again = rt.scans.start("web", trigger="manual", actor="test")  # the project is free again
    assert again.scan_id != scan_id


def test_a_live_owner_whose_heartbeat_is_late_keeps_its_scan(
    env: dict[str, str], rt: Any, db: Database, aws_proxy: Any
) -> None:
    aws_proxy.delay(2.0, region=SLOW)
    runner = start_cli_scan(env, CSPM_HEARTBEAT_SECONDS="0.2")  # a lease of 0.6 s
    scan_id, _ = wait_for("the slow job runs", slow_job_running(db))
    path = env["CSPM_DATABASE_URL"].split("///", 1)[1]

    blocker = sqlite3.connect(path, isolation_level=None, timeout=15)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock...
    try:

        def lease_expired() -> bool:
            with db.read() as s:
                owner = s.scalars(select(Owner).where(Owner.pid == runner.pid)).one()
                return owner.lease_expires_at < datetime.now(UTC)

        wait_for("the owner's lease expires while it cannot write", lease_expired)
        assert rt.engine.recover() == []  # ...but the owner is alive: nothing is taken over
        assert rt.scans.get(scan_id).status is ScanStatus.RUNNING
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    with pytest.raises(ConflictError, match=f"scan #{scan_id}"):
        rt.scans.start("web", trigger="manual", actor="someone-else")
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err
    assert "Completed — All 5 jobs succeeded" in out
    with db.read() as s:  # written once, by its owner: no job interrupted, counts agree
        scan = s.get(Scan, scan_id)
        assert scan is not None and scan.status == "completed"
        assert (scan.jobs_done, scan.jobs_total, scan.jobs_ok) == (5, 5, 5)
        statuses = s.scalars(select(Job.status).where(Job.scan_id == scan_id)).all()
        assert sorted(statuses) == ["succeeded"] * 5
    assert rt.scans.errors(scan_id) == []


def test_a_stop_from_another_process_reaches_the_running_job(
    env: dict[str, str], rt: Any, db: Database, aws_proxy: Any
) -> None:
    aws_proxy.delay(4.0, region=SLOW)  # each call; the job makes several
    scan = rt.scans.start("web", trigger="manual", actor="slack:U0OPERATOR")
    wait_for("the slow job runs", slow_job_running(db))
    wait_for("the other jobs succeed", others_succeeded(db, scan.scan_id))
    stop = subprocess.run(
        [CLI, "scan", "stop", "web"], env=env, capture_output=True, text=True, timeout=60
    )
    assert stop.returncode == 0, stop.stderr
    assert rt.scans.wait(scan.scan_id, timeout=60) is ScanStatus.STOPPED
    final = rt.scans.get(scan.scan_id)
    user = getpass.getuser()
    assert final.status_message.startswith(f"Stopped by {user} after")
    assert "cli:" not in final.status_message
    jobs = {j.unit: j for j in rt.scans.jobs(scan.scan_id)}
    assert jobs[SLOW].status is JobStatus.CANCELLED
    assert jobs[SLOW].message == "Stopped while running"
    assert jobs["us-east-1"].status is JobStatus.SUCCEEDED  # results so far are kept


def test_a_scan_queued_by_a_process_that_died_before_handing_it_out_is_recovered(
    env: dict[str, str], rt: Any, db: Database, runtime_factory: Any
) -> None:
    # A real process queues a scan and is killed before it hands the scan to its planner:
    # the scan is queued, held by nobody, and nothing will ever run it.
    code = (
        "import os, signal\n"
        "from bot.runtime import build_runtime\n"
        "from bot.settings import Settings\n"
        "rt = build_runtime(Settings())\n"
        "rt.scans.start('web', trigger='cli', actor='cli:ana',\n"
        "               before_run=lambda row: os.kill(os.getpid(), signal.SIGKILL))\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    with db.read() as s:
        scan = s.scalars(select(Scan)).one()
        assert (scan.status, scan.owner_id) == ("queued", None)
        scan_id = scan.id

    assert rt.engine.recover() == []  # within the grace period it may still be handed out
    assert rt.scans.get(scan_id).status is ScanStatus.QUEUED

    settings = make_settings(
        env["CSPM_DATABASE_URL"],
        encryption_key=env["CSPM_ENCRYPTION_KEY"],
        aws_endpoint_url=env["AWS_ENDPOINT_URL"],
        takeover_grace_seconds=1.0,
    )
    later = runtime_factory(settings, recover=False)
    time.sleep(1.5)
    assert later.engine.recover() == [scan_id]
    final = later.scans.get(scan_id)
    assert final.status is ScanStatus.FAILED
    errors = later.scans.errors(scan_id)
    assert [(e.code, e.category.value) for e in errors] == [("Interrupted", "temporary")]
    assert "stopped before the scan started" in errors[0].message
    assert later.engine.recover() == []  # once
    again = later.scans.start("web", trigger="manual", actor="test")  # the project is free
    assert again.scan_id != scan_id
