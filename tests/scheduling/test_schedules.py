"""Scan schedules: persisted in APScheduler's job store in the project's database, surviving
restarts, fired once per occurrence even with several bot processes on one database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.errors import InputError, NotFoundError
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.cron import parse_cron
from bot.scheduling.jobs import stored_next_run_times
from bot.scheduling.ops import scheduling_ops
from bot.scheduling.service import SchedulingService
from bot.settings import Settings
from storage.models import Project, Scan
from storage.models_scheduling import ScheduleFire
from tests.scheduling._support import (
    ScriptedRunner,
    add_connector,
    add_project,
    run_scan,
    wait_until,
)

Factory = Callable[..., SchedulingService]


@pytest.fixture
def project_id(rt: Runtime) -> int:
    return add_project(rt, "web", add_connector(rt))


def _scans(rt: Runtime, trigger: str | None = None) -> list[Any]:
    """(id, trigger, status, finished_at) rows, oldest first."""
    with rt.db.read() as s:
        query = select(Scan.id, Scan.trigger, Scan.status, Scan.finished_at).order_by(Scan.id)
        if trigger:
            query = query.where(Scan.trigger == trigger)
        return list(s.execute(query).all())


def _wait_idle(rt: Runtime) -> None:
    wait_until(lambda: all(sc.finished_at for sc in _scans(rt)))


def test_schedule_is_persisted_and_survives_a_restart(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
) -> None:
    service = service_factory(rt)
    info = service.ops.set_scan_schedule("web", "0 6 * * 1-5", "Europe/Berlin", actor="test")
    assert (info.cron, info.timezone) == ("0 6 * * 1-5", "Europe/Berlin")
    stored = stored_next_run_times(rt.db.engine)
    expected = parse_cron("0 6 * * 1-5", ZoneInfo("Europe/Berlin")).get_next_fire_time(
        None, info.next_run - timedelta(seconds=1)
    )
    assert stored[f"scan:{project_id}"] == info.next_run == expected
    assert info.next_run.weekday() < 5 and info.next_run.hour == 6
    service.stop()

    # a new process on the same database keeps the persisted job and its next run time
    rt2 = runtime_factory(settings, runner=runner)
    restarted = service_factory(rt2)
    assert restarted.is_leader
    assert restarted.next_run_times()[f"scan:{project_id}"] == info.next_run
    listed = restarted.ops.list_scan_schedules()
    assert [(s.project_name, s.next_run) for s in listed] == [("web", info.next_run)]


def test_schedule_validation_messages(
    rt: Runtime, project_id: int, service_factory: Factory
) -> None:
    service = service_factory(rt)
    with pytest.raises(InputError, match="hour field '25'"):
        service.ops.set_scan_schedule("web", "0 25 * * *", None, actor="t")
    with pytest.raises(InputError, match="Unknown time zone"):
        service.ops.set_scan_schedule("web", "0 6 * * *", "Moon/Base", actor="t")
    with pytest.raises(InputError, match="shortest allowed interval is 15 minutes"):
        service.ops.set_scan_schedule("web", "*/5 * * * *", None, actor="t")
    with pytest.raises(NotFoundError):
        service.ops.set_scan_schedule("wbe", "0 6 * * *", None, actor="t")
    assert service.next_run_times() == {}


def test_fire_runs_one_scan_per_occurrence(
    rt: Runtime, project_id: int, service_factory: Factory, clock: ManualClock
) -> None:
    service = service_factory(rt)
    service.ops.set_scan_schedule("web", "0 6 * * *", None, actor="t")
    when = clock.now().replace(second=0)
    outcome = service.fire(f"scan:{project_id}", when)
    assert outcome.startswith("started scan #")
    assert service.fire(f"scan:{project_id}", when) == "duplicate: already fired"
    _wait_idle(rt)
    assert [s.trigger for s in _scans(rt)] == ["schedule"]
    with rt.db.read() as s:
        fire = s.scalar(select(ScheduleFire))
        assert fire is not None and fire.scan_id == _scans(rt)[0].id


def test_late_and_stale_fires(
    rt: Runtime, project_id: int, service_factory: Factory, clock: ManualClock
) -> None:
    service = service_factory(rt)
    service.ops.set_scan_schedule("web", "0 6 * * *", None, actor="t")
    assert service.fire(f"scan:{project_id}", clock.now() - timedelta(hours=2)).startswith(
        "missed by"
    )
    service.ops.clear_scan_schedule("web", actor="t")
    assert f"scan:{project_id}" not in service.next_run_times()
    assert service.fire(f"scan:{project_id}", clock.now()) == "no schedule any more"
    assert _scans(rt) == []


def test_a_running_scan_makes_the_occurrence_a_skip(
    rt: Runtime, project_id: int, service_factory: Factory, clock: ManualClock
) -> None:
    service = service_factory(rt)
    service.ops.set_scan_schedule("web", "0 6 * * *", None, actor="t")
    outcomes: list[str] = []
    rt.scans.start(  # fire while the scan is queued, before the engine gets it
        "web",
        trigger="manual",
        actor="t",
        before_run=lambda _: outcomes.append(service.fire(f"scan:{project_id}", clock.now())),
    )
    assert outcomes and outcomes[0].startswith("skipped: Project 'web'")


def test_two_schedulers_on_one_database_fire_once(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    rt_b = runtime_factory(settings, runner=runner)  # a second process: its own engine and pool
    a = service_factory(rt, holder="process-a")
    b = service_factory(rt_b, holder="process-b")
    assert a.is_leader and not b.is_leader
    assert a.tick() and not b.tick()
    a.ops.set_scan_schedule("web", "0 6 * * *", None, actor="t")

    when = clock.now().replace(second=0)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def fire(service: SchedulingService) -> None:
        barrier.wait()
        outcomes.append(service.fire(f"scan:{project_id}", when))

    threads = [threading.Thread(target=fire, args=(svc,)) for svc in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(" #")[0] for o in outcomes) == [
        "duplicate: already fired",
        "started scan",
    ]
    _wait_idle(rt)
    assert len(_scans(rt)) == 1

    # the leader stops: the other process takes the lease over on its next tick
    a.stop()
    assert b.tick() and b.is_leader


def test_real_schedulers_retry_once_with_two_processes(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
) -> None:
    """End to end with live APScheduler threads: a temporary failure is retried 1 s later by
    the leader's scheduler only; the retry completes."""
    config = SchedulingConfig(retry_base_seconds=1.0, scheduler_lease_seconds=3.0)
    rt_b = runtime_factory(settings, runner=runner)
    a = service_factory(rt, config=config, holder="a", run_threads=True)
    b = service_factory(rt_b, config=config, holder="b", run_threads=True)
    assert a.is_leader and not b.is_leader
    runner.then("temporary")
    failed = run_scan(rt, "web")
    wait_until(lambda: _scans(rt, "retry"), timeout=15)
    _wait_idle(rt)
    retried = _scans(rt, "retry")
    assert len(retried) == 1 and retried[0].status == "completed"
    a.drain()
    assert [s.id for s in _scans(rt)] == [failed, retried[0].id]
    assert f"retry:{project_id}" not in a.next_run_times()  # a one-off job is gone after firing
    with rt.db.read() as s:
        fired_by = s.scalars(select(ScheduleFire.fired_by)).all()
    assert fired_by == ["a"]  # the paused scheduler of process b never fired
    with rt.db.read() as s:
        project = s.get(Project, project_id)
        assert project is not None and project.last_scan_id == retried[0].id


def test_offline_ops_write_jobs_the_leader_sees(
    rt: Runtime, project_id: int, service_factory: Factory
) -> None:
    """The CLI changes schedules with no scheduler running in its process."""
    with scheduling_ops(rt) as ops:
        info = ops.set_scan_schedule("web", "15 3 * * *", "UTC", actor="cli")
    service = service_factory(rt)
    assert service.next_run_times()[f"scan:{project_id}"] == info.next_run
    with scheduling_ops(rt) as ops:  # the running service of this runtime is used now
        assert ops is service.ops
        ops.clear_scan_schedule("web", actor="cli")
    assert service.next_run_times() == {}


def test_sync_restores_jobs_from_the_tables(
    rt: Runtime, project_id: int, service_factory: Factory
) -> None:
    with rt.db.unit_of_work() as s:
        project = s.get(Project, project_id)
        assert project is not None
        project.schedule_cron, project.schedule_tz = "0 5 * * *", "UTC"
    other = add_project(rt, "api", add_connector(rt, "c2"))
    service = service_factory(rt)  # becoming leader syncs the job store from the tables
    assert set(service.next_run_times()) == {f"scan:{project_id}"}
    service.ops.set_scan_schedule("api", "0 7 * * *", None, actor="t")
    with rt.db.unit_of_work() as s:  # a schedule removed behind the scheduler's back
        p = s.get(Project, other)
        assert p is not None
        p.schedule_cron = None
    assert service.jobs.sync_all() == (1, 1)
    assert set(service.next_run_times()) == {f"scan:{project_id}"}


def test_start_scheduling_for_serve(rt: Runtime, project_id: int, slack: Any) -> None:
    from slack_sdk import WebClient

    from bot.scheduling import start_scheduling
    from bot.scheduling.delivery import PacedRateLimitHandler

    client = WebClient(token=slack.token, base_url=slack.api_url, retry_handlers=[])
    service = start_scheduling(rt, client)
    try:
        assert rt.scheduling is service and service.is_leader
        assert any(isinstance(h, PacedRateLimitHandler) for h in client.retry_handlers)
        with scheduling_ops(rt) as ops:
            assert ops is service.ops
    finally:
        service.stop()
    assert rt.scheduling is None
    assert service.lease.current_holder(service.now()) is None  # handed over at once
