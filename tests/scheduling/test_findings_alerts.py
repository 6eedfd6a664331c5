"""Findings alerts after each scan, routed by channel subscriptions: new failing findings at
or above each slice's severity since the project's previous completed scan, one message per
scan and channel (continued in its thread past Slack's limits), resolved ones in the thread."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain import Severity
from bot.playground.blockkit import assert_valid_message
from bot.playground.slack_emulator import SlackCall, SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.findings_alerts import SubscriptionSpec
from bot.scheduling.mutes import MuteService
from bot.scheduling.service import SchedulingService
from storage.models import AuditEvent, Finding
from tests.scheduling._support import (
    ScriptedRunner,
    add_connector,
    add_project,
    finding,
    run_scan,
)

Factory = Callable[..., SchedulingService]
SEC, OPS = "CSECURITY", "COPS"


def _top(slack: SlackStandIn, channel: str) -> list[SlackCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.body["channel"] == channel and not c.body.get("thread_ts")
    ]


def _thread(slack: SlackStandIn, ts: str) -> list[SlackCall]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body.get("thread_ts") == ts]


def test_new_failing_findings_reach_each_matching_channel_once_resolved_in_the_thread(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, runner: ScriptedRunner
) -> None:
    conn = add_connector(rt)
    add_project(rt, "web-prod", conn)
    add_project(rt, "batch", conn)
    service = service_factory(rt)
    alerts = service.findings_alerts
    alerts.subscribe(SEC, SubscriptionSpec("findings", "web-*"), "test")  # high and above
    alerts.subscribe(OPS, SubscriptionSpec("findings", "*", "aws", Severity.LOW), "test")

    runner.findings = [
        finding("s3.public", "bucket-a", "critical"),
        finding("ec2.sg_open", "sg-1", "medium"),
        finding("iam.mfa", "root", "high", passed=True),
    ]
    first = run_scan(rt, "web-prod")
    service.drain()
    [sec] = _top(slack, SEC)
    [ops] = _top(slack, OPS)
    assert f"scan #{first}" in sec.text() and "no earlier completed scan" in sec.text()
    assert "bucket-a" in sec.text() and "sg-1" not in sec.text()  # medium < high
    assert "bucket-a" in ops.text() and "sg-1" in ops.text()  # low and above
    assert "root" not in ops.text()  # passing findings are not alerts

    runner.findings = [
        finding("s3.public", "bucket-a", "critical"),  # still failing: not new
        finding("s3.public", "bucket-b", "critical"),  # new
        finding("ec2.sg_open", "sg-1", "medium", passed=True),  # resolved
        finding("iam.mfa", "root", "high", passed=True),
    ]
    second = run_scan(rt, "web-prod")
    service.drain()
    sec2 = _top(slack, SEC)[-1]
    assert "*1 new failing finding*" in sec2.text() and "bucket-b" in sec2.text()
    assert "bucket-a" not in sec2.text() and f"since scan #{first}" in sec2.text()
    ops2 = _top(slack, OPS)[-1]
    [resolved] = _thread(slack, ops2.result["ts"])
    assert "1 resolved" in resolved.text() and "sg-1" in resolved.text()
    assert len(_thread(slack, sec2.result["ts"])) == 0  # SEC's slice never saw sg-1

    run_scan(rt, "batch")  # its first scan: its failing findings go to OPS, not to SEC
    service.drain()
    assert len(_top(slack, SEC)) == 2 and "batch" in _top(slack, OPS)[-1].text()
    service.findings_alerts.process(second)  # a second follow-up posts nothing again
    assert len(_top(slack, SEC)) == 2 and len(_top(slack, OPS)) == 3


def test_a_long_list_is_continued_in_the_thread_within_limits(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, runner: ScriptedRunner
) -> None:
    add_project(rt, "web", add_connector(rt))
    service = service_factory(rt)
    service.findings_alerts.subscribe(SEC, SubscriptionSpec("findings"), "test")
    runner.findings = [
        finding("s3.bucket_public_access", f"arn:aws:s3:::bucket-{i:04d}-" + "x" * 60, "high")
        for i in range(400)
    ]
    run_scan(rt, "web")
    service.drain()
    [top] = _top(slack, SEC)
    parts = _thread(slack, top.result["ts"])
    assert parts and "continued in the thread" in top.text()
    every = top.text() + "".join(p.text() for p in parts)
    assert all(f"bucket-{i:04d}-" in every for i in range(400))  # every resource, none lost
    for call in [top, *parts]:
        assert_valid_message(call.body)


def test_a_muted_finding_is_left_out_until_its_mute_expires(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    add_project(rt, "web", add_connector(rt))
    service = service_factory(rt)
    service.findings_alerts.subscribe(SEC, SubscriptionSpec("findings"), "test")
    mutes = MuteService(rt.db, clock.now)
    runner.findings = [
        finding("s3.public", "site-bucket", "critical"),
        finding("s3.public", "data-bucket", "critical"),
    ]
    first = run_scan(rt, "web")
    with rt.db.read() as s:
        finding_id = s.query(Finding.id).filter_by(scan_id=first, resource="site-bucket").scalar()
    mutes.mute(finding_id, "static website, public on purpose", 7, "slack:U0OPER001")
    [active] = mutes.active()
    assert active.reason == "static website, public on purpose" and active.project_name == "web"
    service.drain()  # the scan's alert is sent after the mute: the muted finding is left out
    [alert] = _top(slack, SEC)
    assert "data-bucket" in alert.text() and "site-bucket" not in alert.text()
    assert "1 muted left out" in alert.text()
    assert "mute.open" in str(alert.body["blocks"])  # Mute a finding…

    run_scan(rt, "web")  # both still failing: nothing new, the muted one stays quiet
    service.drain()
    assert len(_top(slack, SEC)) == 1

    clock.advance(8 * 24 * 3600)  # the mute expired: the finding is reported again
    assert mutes.active() == []
    run_scan(rt, "web")
    service.drain()
    again = _top(slack, SEC)[-1]
    assert "site-bucket" in again.text() and "data-bucket" not in again.text()
    with rt.db.read() as s:
        events = [e.action for e in s.query(AuditEvent).filter(AuditEvent.action.like("finding.%"))]
    assert events == ["finding.mute"]
