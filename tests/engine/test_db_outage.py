"""The database goes away while a scan runs and comes back: the process that owns the scan
is alive, so nobody takes it over; it must carry on by itself once the database is back. The
scan reaches its true final status without a restart, the project takes new scans, and the
scheduler leads again.

PostgreSQL: a private cluster (never the shared server) stopped and started under the
running scan. SQLite: another process holds the write lock for longer than SQLite waits.
A job's cloud calls are held open by the AWS stand-in's proxy until the outage has begun, so
the job ends, and writes its result, while the database is unavailable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain import JobStatus, ScanStatus
from bot.scheduling.service import SchedulingService
from storage.db import Database
from storage.models import Job, Scan
from tests.conftest import PG_ENV, make_settings
from tests.support.pgcluster import PrivateCluster, unavailable_reason

SLOW = "eu-west-1"
REGIONS = ["us-east-1", SLOW]

Outage = Callable[[], Any]


def _wait(what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


@contextmanager
def _postgres() -> Iterator[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set: the PostgreSQL variant is skipped")
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    cluster = PrivateCluster().init()
    try:
        cluster.start()
        url = cluster.create_database("outage")
        yield url, lambda: cluster.stop("fast"), cluster.start
    finally:
        cluster.close()


@contextmanager
def _sqlite(tmp_path: Path) -> Iterator[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    path = tmp_path / "outage.db"
    held: list[subprocess.Popen[str]] = []
    code = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "c.execute('COMMIT')\n"
    )

    def lock() -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        held.append(proc)

    def unlock() -> None:
        proc = held.pop()
        proc.communicate("\n", timeout=30)

    try:
        yield f"sqlite:///{path}", lock, unlock
    finally:
        for proc in held:
            proc.kill()
            proc.wait(10)


@pytest.fixture(params=["postgres", "sqlite"])
def outage_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(database URL, make it unavailable, bring it back)."""
    maker = _postgres() if request.param == "postgres" else _sqlite(tmp_path)
    with maker as found:
        yield found


def test_a_scan_running_through_a_database_outage_ends_once_it_is_back(
    outage_db: tuple[str, Callable[[], Any], Callable[[], Any]],
    aws: Any,
    aws_proxy: Any,
    runtime_factory: Any,
) -> None:
    url, go_away, come_back = outage_db
    settings = make_settings(url, aws_endpoint_url=aws_proxy.url, heartbeat_seconds=1.0)
    rt = runtime_factory(settings)
    key_id, secret = aws.create_user("outage-scanner", admin=True)
    rt.connectors.create(
        "aws", "prod", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    rt.projects.add("web", "prod", actor="test", scope=REGIONS)
    sched = SchedulingService(rt, None).start()
    reader = Database(url)
    try:
        gate = aws_proxy.hold(region=SLOW, limit=120.0)  # the slow job waits for the outage
        scan = rt.scans.start("web", trigger="cli", actor="test")

        def slow_job_running() -> bool:
            with reader.read() as s:
                status = s.scalar(
                    select(Job.status).where(Job.scan_id == scan.scan_id, Job.unit == SLOW)
                )
                others = s.scalars(
                    select(Job.status).where(Job.scan_id == scan.scan_id, Job.unit != SLOW)
                ).all()
            return status == "running" and others and set(others) == {"succeeded"}

        _wait("the slow job runs, the others are written", slow_job_running)
        go_away()
        try:
            gate.set()  # the slow job ends now and writes its result into the outage
            time.sleep(20.0)  # longer than SQLite waits for a lock, and many heartbeats
        finally:
            come_back()

        assert rt.scans.wait(scan.scan_id, timeout=90) is ScanStatus.COMPLETED
        jobs = {j.unit: j.status for j in rt.scans.jobs(scan.scan_id)}
        assert SLOW in jobs and "us-east-1" in jobs
        assert set(jobs.values()) == {JobStatus.SUCCEEDED}
        assert rt.scans.errors(scan.scan_id) == []
        again = rt.scans.start("web", trigger="cli", actor="test")  # the project is free
        assert rt.scans.wait(again.scan_id, timeout=90) is ScanStatus.COMPLETED
        assert _wait("the scheduler leads again", sched.tick, timeout=30)
        with reader.read() as s:
            active = s.scalars(select(Scan.id).where(Scan.status.in_(("queued", "running"))))
            assert list(active) == []
    finally:
        sched.stop()
        reader.dispose()
