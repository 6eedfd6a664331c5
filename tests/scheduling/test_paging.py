"""Paging: who an alert mentions and when — nobody while an automatic retry is pending, the
project's owner (else the default group) once a person is needed; automatic retries are not
repeated failures; the alert names the connector, its account and every missing permission."""

from __future__ import annotations

from collections.abc import Callable

from bot.playground.slack_emulator import SlackCall, SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.service import SchedulingService
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
CONFIG = SchedulingConfig(alert_mention="S0ONCALL", retry_max_attempts=2, retry_base_seconds=60)


def _top_level(slack: SlackStandIn) -> list[SlackCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.body["channel"] == CHANNEL and not c.body.get("thread_ts")
    ]


def _replies(slack: SlackStandIn, ts: str) -> list[SlackCall]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body.get("thread_ts") == ts]


def _retry(rt: Runtime, service: SchedulingService, clock: ManualClock, project_id: int) -> None:
    """Fire the project's pending retry and wait until its scan is followed up."""
    job = service.retry_job_id(project_id)
    when = service.next_run_times()[job]
    assert when is not None
    clock.set(when)
    outcome = service.fire(job, when)
    assert outcome.startswith("started scan #")
    scan_id = int(outcome.removeprefix("started scan #"))
    rt.scans.wait(scan_id)

    def followed() -> bool:
        service.drain()
        with rt.db.read() as s:
            return s.get(ScanFollowup, scan_id) is not None

    wait_until(followed)


def test_a_temporary_failure_pages_the_owner_only_when_the_retries_are_used_up(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    pid = add_project(rt, "web", add_connector(rt), alert_channel=CHANNEL, owner="S0WEBTEAM")
    service = service_factory(rt, config=CONFIG)
    runner.then("temporary", "temporary", "temporary")

    run_scan(rt, "web")
    service.drain()
    [alert] = _top_level(slack)
    before = str(alert.body["blocks"])
    assert "<!subteam" not in alert.text() and "<!subteam" not in before
    assert "Automatic retry 1 of 2 runs" in before and "nobody is paged" in before
    assert "Re-run" not in before and "scan.rerun" not in before  # no button, no advice

    _retry(rt, service, clock, pid)
    ts = service.followups.incidents(pid)[0]["ts"]
    [reply] = _replies(slack, ts)
    assert "<!subteam" not in reply.text() and "Automatic retry 2 of 2" in reply.text()

    _retry(rt, service, clock, pid)  # the last retry fails too: now a person is needed
    last = _replies(slack, ts)[-1]
    assert last.body["text"].startswith("<!subteam^S0WEBTEAM> ")  # the owner, not the default
    assert "S0ONCALL" not in last.text() and "retries used up" in last.text()
    top = slack.message(CHANNEL, ts)
    assert "Re-run the scan once the cause is fixed" in str(top["blocks"])
    assert "scan.rerun" in str(top["blocks"])
    [incident] = service.followups.incidents(pid)
    assert incident["paged"] and not incident["support_flagged"]


def test_a_failure_that_is_not_temporary_pages_at_once_and_once(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, runner: ScriptedRunner
) -> None:
    add_project(rt, "api", add_connector(rt), alert_channel=CHANNEL, owner="U0ANA")
    add_project(rt, "db", add_connector(rt, "db-aws"), alert_channel=CHANNEL)
    service = service_factory(rt, config=CONFIG)
    runner.then("auth", "auth", "auth")
    run_scan(rt, "api")
    run_scan(rt, "db")
    service.drain()
    api, db = _top_level(slack)
    assert api.text().startswith("<@U0ANA> ") and "subteam" not in api.text()
    assert db.text().startswith("<!subteam^S0ONCALL> ")  # no owner: the default mention
    run_scan(rt, "api")  # still failing: the thread is told, nobody is paged again
    service.drain()
    reply = slack.calls_to("chat.postMessage")[-1]
    assert reply.body.get("thread_ts") and "<@U0ANA>" not in reply.text()


def test_automatic_retries_do_not_count_as_repeated_failures(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    pid = add_project(rt, "web", add_connector(rt), alert_channel=CHANNEL)
    config = SchedulingConfig(retry_max_attempts=2, support_failure_streak=3)
    service = service_factory(rt, config=config)
    runner.then("temporary", "temporary", "temporary", "permission", "permission")
    run_scan(rt, "web")
    service.drain()
    _retry(rt, service, clock, pid)
    _retry(rt, service, clock, pid)  # 3 failures in 30 s, two of them automatic
    run_scan(rt, "web")  # a person's second failing scan
    service.drain()
    assert not service.followups.incidents(pid)[0]["support_flagged"]
    assert "Support case" not in str(slack.calls_to("chat.postMessage"))
    run_scan(rt, "web", trigger="schedule")  # the third scan a person or schedule started
    service.drain()
    [incident] = service.followups.incidents(pid)
    assert incident["support_flagged"]
    assert "failed 3 times in a row" in slack.calls_to("chat.postMessage")[-1].text()


def test_the_alert_names_the_connector_the_account_and_every_missing_permission(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, runner: ScriptedRunner
) -> None:
    add_project(rt, "web", add_connector(rt), alert_channel=CHANNEL)
    service = service_factory(rt, config=CONFIG)
    runner.then("both-denied-regions+denied-storage")
    run_scan(rt, "web")
    service.drain()
    [alert] = _top_level(slack)
    blocks = str(alert.body["blocks"])
    assert "Connector `prod-aws` (AWS)" in blocks and "account `123456789012`" in blocks
    assert "Missing permissions (3)" in blocks
    for permission in ("ec2:DescribeRegions", "s3:ListAllMyBuckets", "s3:GetBucketPolicy"):
        assert f"`{permission}`" in blocks
