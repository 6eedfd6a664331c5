"""Failure alerts (one message per incident, updated and threaded), automatic retries with
backoff and a cap, and support flags — with scans run by the real engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.playground.slack_emulator import SlackCall, SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.service import SchedulingService
from bot.settings import Settings
from storage.models import Scan
from storage.models_scheduling import ScanFollowup
from tests.scheduling._support import (
    ScriptedRunner,
    add_connector,
    add_project,
    run_scan,
    wait_until,
)

Factory = Callable[..., SchedulingService]
CHANNEL = "CALERTS"
CONFIG = SchedulingConfig(alert_mention="S0ONCALL")


@pytest.fixture
def project_id(rt: Runtime) -> int:
    return add_project(rt, "web", add_connector(rt), alert_channel=CHANNEL)


def _top_level(slack: SlackStandIn) -> list[SlackCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.body["channel"] == CHANNEL and not c.body.get("thread_ts")
    ]


def _replies(slack: SlackStandIn, ts: str) -> list[SlackCall]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body.get("thread_ts") == ts]


def _followed(rt: Runtime, scan_id: int) -> bool:
    with rt.db.read() as s:
        return s.get(ScanFollowup, scan_id) is not None


def _settle(service: SchedulingService, rt: Runtime, scan_id: int) -> None:
    """Wait for a scan to end and be followed up (the engine emits after it commits)."""

    def done() -> bool:
        service.drain()
        return _followed(rt, scan_id)

    wait_until(done)


def _scan_ids(rt: Runtime, trigger: str | None = None) -> list[int]:
    with rt.db.read() as s:
        query = select(Scan.id).order_by(Scan.id)
        if trigger:
            query = query.where(Scan.trigger == trigger)
        return list(s.scalars(query))


def test_one_alert_per_incident_updated_and_threaded(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
) -> None:
    service = service_factory(rt, config=CONFIG)
    runner.then("auth", "partial-permission", "ok", "temporary")

    first = run_scan(rt, "web")
    service.drain()
    [alert] = _top_level(slack)
    [incident] = service.followups.incidents(project_id)
    ts = incident["ts"]
    assert ts and slack.message(CHANNEL, ts)["text"] == alert.body["text"]
    text = alert.text()
    assert "<!subteam^S0ONCALL>" in text and "Authentication failed" in text
    assert "connector.replace" in str(alert.blocks) and f"#{first}" in text

    second = run_scan(rt, "web")
    service.drain()
    assert len(_top_level(slack)) == 1  # no second alert
    update = slack.last("chat.update")
    assert update.body["ts"] == ts and f"#{second}" in update.text()
    assert "2 failing scans" in update.text() and "<!subteam" not in update.text()
    [reply] = _replies(slack, ts)
    assert "Still failing" in reply.text() and "<!subteam" not in reply.text()

    run_scan(rt, "web")  # ok: recovered
    service.drain()
    assert "recovered" in slack.message(CHANNEL, ts)["text"]
    assert "Recovered" in _replies(slack, ts)[-1].text()
    [incident] = service.followups.incidents(project_id)
    assert not incident["is_open"] and incident["failures"] == 2

    run_scan(rt, "web")  # temporary: a new incident, a new alert
    service.drain()
    assert len(_top_level(slack)) == 2
    assert [i["is_open"] for i in service.followups.incidents(project_id)] == [True, False]


def test_temporary_failures_are_retried_with_backoff_and_a_cap(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    config = SchedulingConfig(
        alert_mention="S0ONCALL",
        retry_max_attempts=3,
        retry_base_seconds=60,
        retry_factor=2,
        support_failure_streak=3,
    )
    service = service_factory(rt, config=config)
    runner.then("temporary", "temporary", "partial-temporary", "temporary")
    decided = clock.now()  # the follow-up decides before Slack pacing moves the clock
    run_scan(rt, "web")
    service.drain()
    job = f"retry:{project_id}"
    delays = []
    for attempt in range(1, 4):
        when = service.next_run_times()[job]
        assert when is not None
        delays.append((when - decided).total_seconds())
        clock.set(when)
        decided = when
        assert service.fire(job, when).startswith("started scan #")
        _settle(service, rt, _scan_ids(rt)[-1])
        assert len(_scan_ids(rt, "retry")) == attempt
    assert delays == [60.0, 120.0, 240.0]
    # the cap is reached: the 4th failure schedules nothing more
    assert service.next_run_times().get(job) in (None, when)
    assert service.fire(job, when) == "duplicate: already fired"

    [incident] = service.followups.incidents(project_id)
    # automatic retries are not repeated failures: no support case, one page at the end
    assert incident["failures"] == 4 and not incident["support_flagged"]
    ts = incident["ts"]
    final = slack.message(CHANNEL, ts)
    assert "retries used up" in str(final["blocks"]) and "scan.rerun" in str(final["blocks"])
    replies = _replies(slack, ts)
    assert len(replies) == 3
    pinged = [r for r in replies if "<!subteam^S0ONCALL>" in r.text()]
    assert pinged == [replies[-1]] and "retries used up" in pinged[0].text()
    assert "Support case" not in str(final["blocks"])
    assert len(_top_level(slack)) == 1


def test_other_failures_are_not_retried(
    rt: Runtime, project_id: int, service_factory: Factory, runner: ScriptedRunner
) -> None:
    service = service_factory(rt, config=CONFIG)
    runner.then("auth", "partial-permission", "unknown")
    for _ in range(3):
        run_scan(rt, "web")
        service.drain()
        assert f"retry:{project_id}" not in service.next_run_times()


def test_a_retry_superseded_by_a_manual_run_does_nothing(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    service = service_factory(rt, config=CONFIG)
    runner.then("temporary", "ok")
    run_scan(rt, "web")
    service.drain()
    job = f"retry:{project_id}"
    when = service.next_run_times()[job]
    manual = run_scan(rt, "web")
    service.drain()
    assert service.fire(job, when) == f"superseded by scan #{manual}"
    assert len(_scan_ids(rt)) == 2


def test_a_new_connector_that_fails_authentication_is_a_support_case(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, runner: ScriptedRunner
) -> None:
    fresh = add_connector(rt, "fresh", created_at=datetime.now(UTC) - timedelta(hours=2))
    pid = add_project(rt, "api", fresh, alert_channel=CHANNEL)
    service = service_factory(rt, config=CONFIG)
    runner.then("auth")
    scan_id = run_scan(rt, "api")
    service.drain()
    [alert] = _top_level(slack)
    assert "Support case" in alert.text() and "new connector" in alert.text()
    assert "support.open" in str(alert.blocks)
    [incident] = service.followups.incidents(pid)
    assert incident["support_flagged"] and incident["last_scan_id"] == scan_id


def test_scans_that_ended_elsewhere_are_followed_up_once(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    slack: SlackStandIn,
) -> None:
    service = service_factory(rt, config=CONFIG)
    cli = runtime_factory(settings, runner=runner)  # e.g. `cspm-bot scan run` elsewhere
    runner.then("temporary")
    scan_id = run_scan(cli, "web", trigger="cli")
    service.drain()
    assert _top_level(slack) == []  # this process's engine did not run it
    service.tick()
    service.tick()
    assert len(_top_level(slack)) == 1
    assert _followed(rt, scan_id)
    assert f"retry:{project_id}" in service.next_run_times()


def test_two_processes_following_up_one_scan_at_the_same_time_alert_once(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    slack: SlackStandIn,
) -> None:
    """Two bot processes (own runtime, own database sessions) pick up the same finished scan
    at the same moment: one claims its follow-up, the other does nothing."""
    a = service_factory(rt, config=CONFIG, holder="a")
    b = service_factory(runtime_factory(settings, runner=runner), config=CONFIG, holder="b")
    cli = runtime_factory(settings, runner=runner)  # the scan ran elsewhere
    runner.then("auth")
    scan_id = run_scan(cli, "web", trigger="cli")
    barrier = threading.Barrier(2)
    decisions: dict[str, Any] = {}
    failures: list[BaseException] = []

    def follow_up(name: str, service: SchedulingService) -> None:
        try:
            barrier.wait(timeout=20)
            decisions[name] = service.followups.process(scan_id)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=follow_up, args=item) for item in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == [] and not any(t.is_alive() for t in threads)
    assert sorted(d is None for d in decisions.values()) == [False, True]

    [alert] = _top_level(slack)
    assert "Authentication failed" in alert.text() and f"#{scan_id}" in alert.text()
    writes = [c.method for c in slack.requests if c.method in ("chat.postMessage", "chat.update")]
    assert writes == ["chat.postMessage"]  # no second alert, no update of it, no thread reply
    [incident] = a.followups.incidents(project_id)
    assert incident["failures"] == 1 and incident["ts"] == alert.body.get("ts", incident["ts"])


def test_an_alert_that_could_not_be_posted_is_posted_by_a_later_tick(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    slack.not_in_channel.add(CHANNEL)
    service = service_factory(rt, config=CONFIG)
    runner.then("auth")
    run_scan(rt, "web")
    service.drain()
    [incident] = service.followups.incidents(project_id)
    assert incident["ts"] is None
    slack.not_in_channel.discard(CHANNEL)  # someone invited the bot
    service.tick()
    assert len(_top_level(slack)) == 1  # too soon: the next try waits 30 s
    clock.advance(31)
    service.tick()
    service.tick()
    assert len(_top_level(slack)) == 2  # the refused attempt and the successful one
    [incident] = service.followups.incidents(project_id)
    assert incident["ts"] is not None
    assert "Authentication failed" in str(slack.message(CHANNEL, incident["ts"])["blocks"])


def test_alert_posting_gives_up_after_a_while(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    slack.not_in_channel.add(CHANNEL)
    service = service_factory(rt, config=CONFIG)
    runner.then("auth")
    run_scan(rt, "web")
    service.drain()
    for _ in range(30):
        clock.advance(3600)
        service.tick()
    assert len(_top_level(slack)) == 12  # MAX_POST_ATTEMPTS, then the digest carries it


def test_projects_without_alert_channel_get_no_alert_but_retries(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, runner: ScriptedRunner
) -> None:
    pid = add_project(rt, "quiet", add_connector(rt, "c2"))
    service = service_factory(rt, config=CONFIG)
    runner.then("temporary")
    run_scan(rt, "quiet")
    service.drain()
    assert slack.calls_to("chat.postMessage") == []
    assert f"retry:{pid}" in service.next_run_times()
    assert service.followups.incidents(pid) == []


def test_retries_can_be_switched_off(
    rt: Runtime,
    project_id: int,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
) -> None:
    service = service_factory(rt, config=SchedulingConfig(retry_max_attempts=0))
    runner.then("temporary")
    run_scan(rt, "web")
    service.drain()
    assert f"retry:{project_id}" not in service.next_run_times()
    [alert] = _top_level(slack)
    assert "retries used up" not in alert.text() and "scan.rerun" in str(alert.blocks)
