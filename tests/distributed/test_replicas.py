"""Three serving replicas and four real ``cspm-bot worker`` processes (two per queue) share one
PostgreSQL and one Redis. The replicas are built as ``serve --no-worker`` builds one (each its
own runtime and connection pool, Bolt app, relay to the broker and a scheduler competing for the
lease), in this process, and are sent requests round-robin as a load balancer would: every
request is answered, a scan started through one replica is stopped through another, and an
alert or a digest that every replica tries to send at the same moment reaches Slack once."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import ids
from bot.domain import ScanStatus
from bot.playground.slack_emulator import SlackStandIn
from bot.scheduling.service import SchedulingService
from storage.models_scheduling import DigestSubscription
from tests.conftest import PG_ENV, _reset_postgres
from tests.distributed.conftest import Front, front_settings
from tests.support.distributed import Broker, wait_until
from tests.support.query import all_text, buttons_with
from tests.support.slackbot import OPERATOR, READER

ALERTS = "C0ALERTS"
DIGESTS = "C0DIGEST"
REQUESTS = 24  # spread round-robin over the three replicas


@pytest.fixture
def postgres_url() -> str:
    """The shared system of record of the replicas (PostgreSQL only: SQLite is one machine's)."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: replicas share a PostgreSQL database")
    _reset_postgres(url)
    return url


def _scheduling(front: Front) -> SchedulingService:
    scheduling = front.queue.scheduling
    assert scheduling is not None
    return scheduling


def _at_once(fronts: list[Front], action: Callable[[SchedulingService], Any]) -> list[Any]:
    """Run `action` on every replica's scheduler at the same moment (threads behind a
    barrier), as replicas racing for the same work would; returns what each did."""
    barrier = threading.Barrier(len(fronts))
    results: list[Any] = [None] * len(fronts)
    failures: list[BaseException] = []

    def run(i: int, front: Front) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = action(_scheduling(front))
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(fronts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not failures, failures
    return results


def _top_level(slack: SlackStandIn, channel: str) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.body["channel"] == channel and not c.body.get("thread_ts")
    ]


def test_three_replicas_and_four_workers_answer_everything_once(
    slack: SlackStandIn,
    broker: Broker,
    postgres_url: str,
    make_front: Any,
    workers: Any,
    aws: Any,
    aws_proxy: Any,
) -> None:
    settings = front_settings(
        slack, postgres_url, broker, aws_endpoint_url=aws_proxy.url, scheduler_lease_seconds=3
    )
    fronts = [make_front(settings, scheduling=True) for _ in range(3)]
    group = workers(settings)
    for queue in ("slack", "slack", "scans", "scans"):
        group.start(queue, concurrency=2)
    leaders = [f for f in fronts if _scheduling(f).is_leader]
    assert len(leaders) == 1  # one scheduler leads; the others wait for its lease

    a, b, c = fronts
    key_id, secret = aws.create_user("scanner", admin=True)
    raw = {"access_key_id": key_id, "secret_access_key": secret}
    a.rt.connectors.create("aws", "prod-aws", raw, actor="test")
    a.rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1"])
    weak_id, weak_secret = aws.create_user("weak", admin=False)  # valid, but no permissions
    weak = {"access_key_id": weak_id, "secret_access_key": weak_secret}
    a.rt.connectors.create("aws", "weak-aws", weak, actor="test")
    a.rt.projects.add(
        "billing", "weak-aws", actor="test", scope=["us-east-1"], alert_channel=ALERTS
    )

    # 1. every request spread over the replicas is answered, by a worker, exactly once
    for i, front in zip(range(REQUESTS), itertools.cycle(fronts), strict=False):
        result = front.driver.command("projects", READER, channel=f"C0USER{i:02d}", settle=False)
        assert result.status == 200
    replies = wait_until(
        lambda: (r := slack.calls_to("response_url")) and len(r) >= REQUESTS and r,
        timeout=120,
        what=f"{REQUESTS} replies",
    )
    assert len(replies) == REQUESTS
    assert all("web" in r.text() and "billing" in r.text() for r in replies)
    assert sum(f.background.submitted() for f in fronts) == 0  # nothing ran in a replica

    # 2. a scan started through replica A is stopped through replica B
    aws_proxy.delay(1.0, service="iam")  # keeps the scan running while we click
    a.driver.command("scan web", OPERATOR, settle=False)
    posted = wait_until(
        lambda: [p for p in slack.calls_to("chat.postMessage") if "Scan of web" in p.text()],
        timeout=60,
        what="the progress message",
    )[0]
    scan_id = a.rt.projects.get("web").last_scan_id
    assert scan_id is not None
    wait_until(lambda: buttons_with(slack.message(posted.body["channel"], posted.result["ts"]),
                                    ids.ScanAction.STOP), what="the Stop button")  # fmt: skip
    message = slack.message(posted.body["channel"], posted.result["ts"])
    before = len(slack.calls_to("response_url"))
    b.driver.click_in_message(
        message, ids.ScanAction.STOP, OPERATOR, ts=posted.result["ts"], settle=False
    )
    notice = wait_until(
        lambda: slack.calls_to("response_url")[before:], timeout=60, what="the stop notice"
    )[0]
    assert f"Stop requested for scan #{scan_id} of web" in all_text(notice.body)
    wait_until(
        lambda: c.rt.scans.get(scan_id).status is ScanStatus.STOPPED,
        timeout=120,
        what="the scan stopped",
    )
    stopped = c.rt.scans.get(scan_id)
    assert stopped.stopped_by == f"slack:{OPERATOR}"
    aws_proxy.clear()

    # 3. a failed scan's alert: the leader follows it up; every replica trying it at the same
    #    moment posts nothing more
    failed = a.rt.scans.start("billing", trigger="cli", actor="test")
    wait_until(
        lambda: not a.rt.scans.get(failed.scan_id).status.is_active,
        timeout=120,
        what="the billing scan",
    )
    assert a.rt.scans.get(failed.scan_id).status is ScanStatus.FAILED
    wait_until(lambda: _top_level(slack, ALERTS), timeout=60, what="the alert")
    _at_once(fronts, lambda s: s.followups.process(failed.scan_id))
    _at_once(fronts, lambda s: s.tick())
    [alert] = _top_level(slack, ALERTS)
    assert "billing" in alert.text() and "Failed" in alert.text()

    # 4. a digest period fired by every replica at the same moment is sent once
    c.driver.command("subscribe digest", OPERATOR, channel=DIGESTS, settle=False)
    sub_id = wait_until(lambda: _digest_subscription(a, DIGESTS), timeout=60, what="the digest")
    period_end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    with a.rt.db.unit_of_work() as s:  # subscribed three days before the period ended
        s.execute(
            update(DigestSubscription)
            .where(DigestSubscription.id == sub_id)
            .values(created_at=period_end - timedelta(days=3))
        )
    outcomes = _at_once(fronts, lambda s: s.fire(f"digest:{sub_id}", period_end))
    assert sorted(o.split(" ")[0] for o in outcomes) == ["already", "already", "recorded"]
    _at_once(fronts, lambda s: s.tick())
    wait_until(lambda: _digests(slack), timeout=60, what="the digest message")
    _at_once(fronts, lambda s: s.tick())
    digests = _digests(slack)
    assert len(digests) == 1  # the period ended before billing failed: all clear
    assert "All clear" in all_text(digests[0].body)


def _digests(slack: SlackStandIn) -> list[Any]:
    return [p for p in _top_level(slack, DIGESTS) if p.body["text"].startswith("CSPM digest")]


def _digest_subscription(front: Front, channel: str) -> int | None:
    with front.rt.db.read() as s:
        return s.scalar(
            select(DigestSubscription.id).where(DigestSubscription.channel_id == channel)
        )
