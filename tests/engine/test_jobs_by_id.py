"""Work that carries only ids: any process with a runtime plans a scan or runs a job given its
id, a job delivered again does nothing, the last job finalises the scan once, and a Stop that
came after every job ended stops nothing. Ownership rules as pure functions at the end."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain import CancelToken, CheckResult, JobStatus, ScanStatus
from bot.engine.dispatch import JobDispatcher
from bot.engine.jobs import FindingRecord, ScanTarget, UnitOutcome
from bot.engine.ownership import OwnerFacts, ProcessIdentity, is_dead, start_ticks, this_process
from bot.settings import reveal
from storage.models import Job, Owner
from tests.conftest import make_settings
from tests.scheduling._support import add_connector, add_project


@dataclass
class _Session:
    on_run: Callable[[str], None] | None

    def run_unit(self, unit: str, cancel: CancelToken) -> UnitOutcome:
        cancel.checkpoint()  # the one "cloud call" of the unit
        if self.on_run is not None:
            self.on_run(unit)
        return UnitOutcome(
            findings=[FindingRecord("fake.check", "low", CheckResult(f"{unit}/r", passed=True))]
        )

    def close(self) -> None:
        pass


@dataclass
class UnitsRunner:
    """Plans `units`; each job calls `on_run(unit)` after its one cloud call."""

    units: list[str] = field(default_factory=lambda: ["a", "b"])
    on_run: Callable[[str], None] | None = None
    opened: list[int] = field(default_factory=list)

    def plan(self, target: ScanTarget, cancel: CancelToken) -> list[str]:
        return list(self.units)

    def open(self, target: ScanTarget, cancel: CancelToken) -> _Session:
        self.opened.append(target.scan_id)
        return _Session(self.on_run)


@dataclass
class RecordingDispatcher:
    """A transport that only records what it was given, so the test delivers it by hand."""

    plans: list[int] = field(default_factory=list)
    jobs: list[tuple[int, int]] = field(default_factory=list)

    def dispatch_plan(self, scan_id: int) -> None:
        self.plans.append(scan_id)

    def dispatch_job(self, scan_id: int, job_id: int) -> None:
        self.jobs.append((scan_id, job_id))

    def shutdown(self, wait: bool = True) -> None:
        pass


def _runtime(runtime_factory: Any, sqlite_url: str, runner: Any) -> Any:
    rt = runtime_factory(make_settings(sqlite_url), runner=runner)
    add_project(rt, "web", add_connector(rt))
    return rt


def test_plan_and_jobs_given_by_id_run_anywhere_and_the_last_job_finalises(
    runtime_factory: Any, sqlite_url: str
) -> None:
    runner = UnitsRunner(units=["a", "b", "c"])
    planner = _runtime(runtime_factory, sqlite_url, runner)
    key = reveal(planner.settings.encryption_key)
    worker = runtime_factory(make_settings(sqlite_url, encryption_key=key), runner=runner)
    transport = RecordingDispatcher()
    as_protocol: JobDispatcher = transport  # the transport protocol, nothing more
    assert as_protocol is transport
    planner.engine.use_dispatcher(transport)
    worker.engine.use_dispatcher(transport)

    scan = planner.scans.start("web", trigger="manual", actor="test")
    assert transport.plans == [scan.scan_id] and planner.scans.get(scan.scan_id).status.is_active
    worker.engine.plan_scan(scan.scan_id)  # another process plans it, from its id alone
    assert [s for s, _ in transport.jobs] == [scan.scan_id] * 3
    (first, *rest) = [job for _, job in transport.jobs]
    planner.engine.run_job(scan.scan_id, first)
    assert planner.scans.wait(scan.scan_id, timeout=0) is None  # 1 of 3: still running
    assert planner.scans.get(scan.scan_id).status_message == "1 of 3 jobs finished"
    for job in rest:
        worker.engine.run_job(scan.scan_id, job)
    assert planner.scans.wait(scan.scan_id, timeout=0) is ScanStatus.COMPLETED
    assert runner.opened == [scan.scan_id] * 3  # each job opened its own session

    worker.engine.plan_scan(scan.scan_id)  # a plan delivered again does nothing
    planner.engine.run_job(scan.scan_id, first)  # nor does a job delivered again
    with planner.db.read() as s:
        jobs = s.scalars(select(Job).where(Job.scan_id == scan.scan_id).order_by(Job.id)).all()
        assert [j.attempts for j in jobs] == [2, 1, 1]
        assert [j.status for j in jobs] == ["succeeded"] * 3
    assert len(transport.jobs) == 3
    assert runner.opened == [scan.scan_id] * 3
    assert planner.scans.findings(scan.scan_id).passed == 3


def test_a_stop_that_arrives_after_every_job_ended_stops_nothing(
    runtime_factory: Any, sqlite_url: str
) -> None:
    rt: Any = None

    def stop_from_another_thread(unit: str) -> None:
        # The unit's cloud work is done; a Stop is recorded (through the database, by another
        # thread) before its result is written.
        stopper = threading.Thread(target=rt.scans.stop, args=("web", "slack:U0STOPPER"))
        stopper.start()
        stopper.join()

    rt = _runtime(runtime_factory, sqlite_url, UnitsRunner(["only"], stop_from_another_thread))
    scan = rt.scans.start("web", trigger="manual", actor="test")
    assert rt.scans.wait(scan.scan_id, timeout=30) is ScanStatus.COMPLETED
    final = rt.scans.get(scan.scan_id)
    assert final.stopped_by == "slack:U0STOPPER"  # the request is kept for the record
    assert final.status_message == "The job succeeded"


def test_a_stop_before_the_jobs_run_cancels_them_and_names_the_slack_user(
    runtime_factory: Any, sqlite_url: str
) -> None:
    rt = _runtime(runtime_factory, sqlite_url, UnitsRunner(["a"]))
    transport = RecordingDispatcher()
    rt.engine.use_dispatcher(transport)
    scan = rt.scans.start("web", trigger="manual", actor="test")
    rt.engine.plan_scan(scan.scan_id)
    rt.scans.stop("web", actor="slack:U0STOPPER")
    for scan_id, job_id in transport.jobs:
        rt.engine.run_job(scan_id, job_id)
    final = rt.scans.get(scan.scan_id)
    assert final.status is ScanStatus.STOPPED
    assert final.status_message == "Stopped by <@U0STOPPER> after 0 of 1 jobs finished"
    assert [j.status for j in rt.scans.jobs(scan.scan_id)] == [JobStatus.CANCELLED]


def test_a_heartbeat_held_up_by_the_database_is_logged(
    runtime_factory: Any, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    rt = runtime_factory(make_settings(sqlite_url, heartbeat_seconds=0.1))
    owner_id = rt.engine.owner_id  # registers this process: its heartbeat starts
    caplog.set_level(logging.WARNING, logger="bot.engine.engine")

    def lease_expired() -> bool:
        with rt.db.read() as s:
            row = s.get(Owner, owner_id)
            return row is not None and row.lease_expires_at < datetime.now(UTC)

    blocker = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None, timeout=15)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        wait_for(lease_expired)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    def late_heartbeat_logged() -> bool:
        return any(
            r.levelno == logging.WARNING and "longer than its 0.1 s period" in r.getMessage()
            for r in caplog.records
        )

    wait_for(late_heartbeat_logged)


def wait_for(probe: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


# --- ownership rules --------------------------------------------------------------------------
ME = this_process()
NOW = datetime.now(UTC)
GRACE = timedelta(minutes=10)


def owner(identity: ProcessIdentity, lease_left: timedelta = timedelta(seconds=15)) -> OwnerFacts:
    return OwnerFacts(1, identity, NOW + lease_left)


def test_a_live_process_of_this_host_is_never_dead_however_old_its_lease() -> None:
    parent = ProcessIdentity(ME.host, os.getppid(), _ticks(os.getppid()), ME.boot_id)
    assert not is_dead(owner(parent, -timedelta(days=1)), ME, NOW, GRACE)
    assert not is_dead(owner(ME, -timedelta(days=1)), ME, NOW, GRACE)


def test_a_process_of_this_host_is_dead_when_gone_reused_or_before_a_reboot() -> None:
    gone = ProcessIdentity(ME.host, _unused_pid(), 12345, ME.boot_id)
    reused = ProcessIdentity(ME.host, os.getppid(), _ticks(os.getppid()) + 1, ME.boot_id)
    rebooted = ProcessIdentity(ME.host, os.getppid(), _ticks(os.getppid()), "another-boot")
    for identity in (gone, reused, rebooted):
        assert is_dead(owner(identity), ME, NOW, GRACE), identity


def test_a_process_of_another_host_is_dead_only_after_its_lease_and_the_grace() -> None:
    elsewhere = ProcessIdentity("another-host", ME.pid, ME.start_ticks, "its-boot")
    assert not is_dead(owner(elsewhere), ME, NOW, GRACE)
    assert not is_dead(owner(elsewhere, -timedelta(minutes=9)), ME, NOW, GRACE)
    assert is_dead(owner(elsewhere, -timedelta(minutes=11)), ME, NOW, GRACE)


def _ticks(pid: int) -> int:
    found = start_ticks(pid)
    assert found is not None
    return found


def _unused_pid() -> int:
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid
