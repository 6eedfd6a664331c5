"""Failure alerts routed by ``failures`` subscriptions: every channel whose slice matches a
failing project gets the incident's alert once (no mention), updated in place and replied to
in its thread like the project's alert channel, never twice in one channel, and nothing more
once its subscription is removed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.playground.blockkit import assert_valid_message
from bot.playground.slack_emulator import SlackCall, SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.findings_alerts import SubscriptionSpec
from bot.scheduling.service import SchedulingService
from storage.models import Connector
from storage.models_scheduling import FailureAlertCopy
from tests.scheduling._support import (
    ScriptedRunner,
    add_connector,
    add_project,
    add_scan,
    run_scan,
)

Factory = Callable[..., SchedulingService]
ALERTS, AWS, PROD = "CALERTS", "CAWSTEAM", "CPRODOPS"
CONFIG = SchedulingConfig(alert_mention="S0ONCALL", retry_max_attempts=0)


def _gcp_connector(rt: Runtime) -> int:
    """A GCP connector row (its projects' scans are added as rows, never run)."""
    with rt.db.unit_of_work() as s:
        c = Connector(
            name="analytics-gcp",
            provider="gcp",
            fingerprint="sa…01",
            account_id="analytics-123",
            secret_ciphertext=rt.box.encrypt({"unused": "x"}),
            created_by="test",
            created_at=datetime.now(UTC) - timedelta(days=30),
        )
        s.add(c)
        s.flush()
        return c.id


def _top(slack: SlackStandIn, channel: str) -> list[SlackCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.body["channel"] == channel and not c.body.get("thread_ts") and c.result.get("ok")
    ]


def _thread(slack: SlackStandIn, channel: str, ts: str) -> list[SlackCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.body["channel"] == channel and c.body.get("thread_ts") == ts
    ]


def _updates(slack: SlackStandIn, channel: str) -> list[SlackCall]:
    return [c for c in slack.calls_to("chat.update") if c.body["channel"] == channel]


def test_each_channel_gets_only_its_slice_once_updated_in_its_thread_until_removed(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    aws = add_connector(rt)
    add_project(rt, "prod-web", aws, alert_channel=ALERTS)
    add_project(rt, "batch", aws)  # no alert channel: only subscribed channels hear of it
    data = add_project(rt, "prod-data", _gcp_connector(rt), alert_channel=PROD)
    service = service_factory(rt, config=CONFIG)
    subs = service.findings_alerts
    subs.subscribe(AWS, SubscriptionSpec("failures", provider="aws"), "test")
    subs.subscribe(AWS, SubscriptionSpec("failures", "prod-web"), "test")  # overlaps: once
    prod_sub, _ = subs.subscribe(PROD, SubscriptionSpec("failures", "prod-*"), "test")

    runner.then("auth", "auth", "permission", "permission", "ok")
    first = run_scan(rt, "prod-web")
    service.drain()
    [own] = _top(slack, ALERTS)
    [aws_copy] = _top(slack, AWS)
    [prod_copy] = _top(slack, PROD)
    assert "<!subteam^S0ONCALL>" in own.text()  # the owner is paged in the alert channel
    for copy in (aws_copy, prod_copy):
        assert f"*prod-web* — scan #{first} failed" in copy.text()
        assert "<!subteam" not in copy.text() and "Authentication failed" in copy.text()
        assert "`failures` subscription; the owner is paged in <#CALERTS>" in copy.text()
        assert_valid_message(copy.body)

    run_scan(rt, "batch")  # AWS, not prod-*: only the AWS channel
    service.drain()
    assert len(_top(slack, AWS)) == 2 and len(_top(slack, PROD)) == 1
    assert len(_top(slack, ALERTS)) == 1
    assert "the project has no alert channel, nobody is paged" in _top(slack, AWS)[-1].text()

    # a GCP project whose alert channel is the prod channel: one message there, none for AWS
    add_scan(rt, data, "failed", clock.now(), ["permission_denied"])
    service.tick()  # the sweep follows up scans that ended elsewhere
    prod_top = _top(slack, PROD)
    assert len(prod_top) == 2 and "prod-data" in prod_top[-1].text()
    assert "subscription" not in prod_top[-1].text()  # its own alert, not a copy
    assert len(_top(slack, AWS)) == 2

    second = run_scan(rt, "prod-web")  # failing again: every copy updated, one reply each
    service.drain()
    for channel, copy in ((AWS, aws_copy), (PROD, prod_copy)):
        ts = copy.result["ts"]
        [update] = [u for u in _updates(slack, channel) if u.body["ts"] == ts]
        assert f"#{second}" in update.text() and "2 failing scans" in update.text()
        [reply] = _thread(slack, channel, ts)
        assert "Still failing" in reply.text() and "<!subteam" not in reply.text()
    assert len(_top(slack, AWS)) == 2 and len(_top(slack, PROD)) == 2

    subs.unsubscribe(prod_sub.subscription_id, "test")  # the prod channel hears no more
    third = run_scan(rt, "prod-web")
    service.drain()
    assert len(_updates(slack, PROD)) == 1
    assert len(_thread(slack, PROD, prod_copy.result["ts"])) == 1
    aws_ts = aws_copy.result["ts"]
    assert f"#{third}" in slack.message(AWS, aws_ts)["text"]
    run_scan(rt, "prod-web")  # ok: recovered, where the alert was seen
    service.drain()
    assert "recovered" in slack.message(AWS, aws_ts)["text"]
    assert "Recovered" in _thread(slack, AWS, aws_ts)[-1].text()
    assert len(_updates(slack, PROD)) == 1

    service.followups.process(second)  # a second follow-up of a scan sends nothing
    assert len(_top(slack, AWS)) == 2 and len(_thread(slack, AWS, aws_ts)) == 3
    with rt.db.read() as s:
        copies = sorted((c.channel_id, c.incident_id) for c in s.query(FailureAlertCopy))
    assert len(copies) == 3 and len({c for c, _ in copies if c == AWS}) == 1


def test_a_copy_that_could_not_be_posted_is_posted_by_a_later_tick_once(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    add_project(rt, "prod-web", add_connector(rt), alert_channel=ALERTS)
    service = service_factory(rt, config=CONFIG)
    service.findings_alerts.subscribe(AWS, SubscriptionSpec("failures"), "test")
    slack.not_in_channel.add(AWS)  # the bot was not invited yet
    runner.then("auth")
    run_scan(rt, "prod-web")
    service.drain()
    assert len(_top(slack, ALERTS)) == 1 and _top(slack, AWS) == []
    with rt.db.read() as s:
        [copy] = s.query(FailureAlertCopy).all()
        assert copy.ts is None and copy.post_attempts == 1
        assert copy.last_post_error == "not_in_channel"

    slack.not_in_channel.discard(AWS)
    service.tick()  # within the backoff: not yet
    assert _top(slack, AWS) == []
    clock.advance(31)
    service.tick()
    service.tick()
    [posted] = _top(slack, AWS)
    assert "prod-web" in posted.text() and "<!subteam" not in posted.text()
    assert len(_top(slack, ALERTS)) == 1
