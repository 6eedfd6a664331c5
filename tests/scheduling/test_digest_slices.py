"""Digest slices: a channel subscribed to ``digest`` with a project pattern or a provider gets
its scheduled digest restricted to the matching projects, once per period through the outbox;
removing its last slice stops its digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.playground.blockkit import assert_valid_message
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.findings_alerts import SubscriptionSpec
from bot.scheduling.service import SchedulingService
from storage.models import Connector
from storage.models_scheduling import DigestSubscription
from tests.scheduling._support import add_connector, add_project, add_scan

Factory = Callable[..., SchedulingService]
AWS, PROD, ALL = "CAWSTEAM", "CPRODOPS", "CEVERYONE"


@pytest.fixture
def period_end(clock: ManualClock) -> datetime:
    """Yesterday's 09:00 UTC: an occurrence of the daily 09:00 digest in the past."""
    end = clock.now().replace(hour=9, minute=0, second=0) - timedelta(days=1)
    clock.set(end + timedelta(seconds=5))
    return end


def _gcp_connector(rt: Runtime) -> int:
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


def _seed(rt: Runtime, end: datetime) -> dict[str, int]:
    aws, gcp = add_connector(rt), _gcp_connector(rt)
    h = timedelta(hours=1)
    ids = {}
    for name, connector, hours in (
        ("prod-web", aws, 20),
        ("batch", aws, 15),
        ("Prod-Data", gcp, 10),
        ("dev_data", gcp, 5),
    ):
        ids[name] = pid = add_project(rt, name, connector)
        add_scan(rt, pid, "failed", end - hours * h, ["permission_denied"])
    return ids


def _created(rt: Runtime, channel: str, when: datetime) -> int:
    with rt.db.unit_of_work() as s:
        s.execute(
            update(DigestSubscription)
            .where(DigestSubscription.channel_id == channel)
            .values(created_at=when)
        )
        sub = s.query(DigestSubscription).filter_by(channel_id=channel).one()
        return sub.id


def _posts(slack: SlackStandIn, channel: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body["channel"] == channel]


def test_each_channel_gets_its_slice_once_per_period_until_its_last_slice_is_removed(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    clock: ManualClock,
    period_end: datetime,
) -> None:
    ids = _seed(rt, period_end)
    service = service_factory(rt)
    ops = service.ops
    aws_info, created, aws_digest = ops.subscribe_channel(
        AWS, SubscriptionSpec("digest", provider="aws"), "test"
    )
    assert created and aws_digest is not None
    assert aws_digest.subscription.schedule.label == "Daily at 09:00 (UTC)"  # the default
    assert aws_info.label == "digest · all projects · AWS · Daily at 09:00 (UTC)"
    prod_info, _, _ = ops.subscribe_channel(PROD, SubscriptionSpec("digest", "prod-*"), "test")
    ops.subscribe_channel(ALL, SubscriptionSpec("findings"), "test")  # not a digest slice
    ops.subscribe_digest(ALL, aws_digest.subscription.schedule, True, "test")
    subs = {c: _created(rt, c, period_end - timedelta(days=3)) for c in (AWS, PROD, ALL)}

    for sub in subs.values():
        assert service.fire(f"digest:{sub}", period_end).startswith("recorded pending")
        assert service.fire(f"digest:{sub}", period_end) == "already recorded"
    service.tick()
    [aws] = _posts(slack, AWS)
    [prod] = _posts(slack, PROD)
    [every] = _posts(slack, ALL)
    assert "prod-web" in aws.text() and "batch" in aws.text()
    assert "Prod-Data" not in aws.text() and "dev_data" not in aws.text()
    assert "all projects (AWS)" in aws.text() and "2 project(s) still failing" in aws.text()
    assert "prod-web" in prod.text() and "Prod-Data" in prod.text()  # case-insensitive
    assert "batch" not in prod.text() and "dev_data" not in prod.text()
    assert "projects `prod-*`" in prod.text()
    assert "4 project(s) still failing" in every.text() and ":satellite" not in every.text()
    for post in (aws, prod, every):
        assert_valid_message(post.body)

    # a second slice widens the channel's digest; `_` in a pattern is a plain character
    for name in ("dev_data", "Prod-Data"):
        add_scan(rt, ids[name], "failed", period_end + timedelta(seconds=2), ["temporary"])
    ops.subscribe_channel(AWS, SubscriptionSpec("digest", "dev_*"), "test")
    ops.subscribe_channel(PROD, SubscriptionSpec("digest", "prod?data"), "test")
    _, payload = service.digests.on_demand(AWS)
    assert "dev_data" in str(payload) and "Prod-Data" not in str(payload)
    assert "all projects (AWS) + projects `dev_*`" in str(payload)

    ops.unsubscribe_channel(prod_info.subscription_id, "test")  # PROD keeps `prod?data`
    _, payload = service.digests.on_demand(PROD)
    assert "Prod-Data" in str(payload) and "prod-web" not in str(payload)
    [last] = [r for r in service.findings_alerts.subscriptions(PROD) if r.kind == "digest"]
    ops.unsubscribe_channel(last.subscription_id, "test")  # the last one: PROD's digest stops
    assert service.digests.for_channel(PROD) is None
    assert f"digest:{subs[PROD]}" not in service.next_run_times()

    following = period_end + timedelta(days=1)
    clock.set(following + timedelta(seconds=5))
    for sub in subs.values():
        service.fire(f"digest:{sub}", following)
    service.tick()
    assert len(_posts(slack, PROD)) == 1  # nothing after the removal
    aws_next = _posts(slack, AWS)[-1]
    assert len(_posts(slack, AWS)) == 2 and "dev_data" in aws_next.text()


def test_unsubscribing_a_digest_removes_its_slices(
    rt: Runtime, service_factory: Factory, period_end: datetime
) -> None:
    service = service_factory(rt, with_slack=False)
    service.ops.subscribe_channel(AWS, SubscriptionSpec("digest", provider="aws"), "test")
    service.ops.subscribe_channel(AWS, SubscriptionSpec("failures", provider="aws"), "test")
    assert service.ops.unsubscribe_digest(AWS) is not None
    assert [r.kind for r in service.findings_alerts.subscriptions(AWS)] == ["failures"]
