"""Slack 429 and 5xx storms against the digest outbox, on SQLite and PostgreSQL: every
message is delivered exactly once, and each channel shows its messages in order, even when a
storm outlasts the retries of one send and the outbox sends again later."""

from __future__ import annotations

from bot.playground.slack_emulator import SlackStandIn
from bot.scheduling.clock import ManualClock
from bot.scheduling.delivery import HELD, Deliverer, Outgoing
from storage.db import Database
from tests.scheduling._support import paced_client
from tests.support.outbox import drain, outbox_service, seed_outbox, shown

POST = "/api/chat.postMessage"
UNAVAILABLE = {"ok": False, "error": "service_unavailable"}


def _deliverer(slack: SlackStandIn, clock: ManualClock, **kw: int) -> Deliverer:
    return Deliverer(paced_client(slack, clock), now=clock.now, sleep=clock.sleep, **kw)


def test_429_storm_every_digest_once_in_order(
    db: Database, slack: SlackStandIn, clock: ManualClock
) -> None:
    channels = seed_outbox(db, channels=5, per_channel=4, start=clock.now())
    slack.rate_limit("chat.postMessage", times=40, retry_after=2)
    service = outbox_service(db, clock, _deliverer(slack, clock))

    drain(service, clock)

    assert shown(slack.messages) == {ch: [1, 2, 3, 4] for ch in channels}
    assert sum(1 for c in slack.calls if c.status == 429) == 40
    assert all(d["status"] == "sent" for d in service.deliveries())


def test_5xx_storm_longer_than_the_retries_keeps_each_channel_in_order(
    db: Database, slack: SlackStandIn, clock: ManualClock
) -> None:
    channels = seed_outbox(db, channels=3, per_channel=3, start=clock.now())
    # one sender, so the storm meets the first channel's first digest: it outlasts that
    # send's 3 attempts; the outbox must send it again before that channel's next ones
    slack.fail(503, times=3, path_prefix=POST, body=UNAVAILABLE)
    service = outbox_service(db, clock, _deliverer(slack, clock, max_attempts=3, workers=1))

    rounds = drain(service, clock)

    assert rounds >= 2  # the storm did outlast one send
    assert shown(slack.messages) == {ch: [1, 2, 3] for ch in channels}
    assert all(d["status"] == "sent" for d in service.deliveries())


def test_a_channel_sends_nothing_past_a_message_it_could_not_send(
    slack: SlackStandIn, clock: ManualClock
) -> None:
    slack.fail(500, times=2, path_prefix=POST, body={"ok": False, "error": "fatal_error"})
    items = [Outgoing("CORDER", {"text": f"storm CORDER #{n}"}, key=str(n)) for n in (1, 2, 3)]

    results = _deliverer(slack, clock, max_attempts=2).send_all(items)

    assert [(r.key, r.ok, r.error) for r in results] == [
        ("1", False, "fatal_error"),
        ("2", False, HELD),
        ("3", False, HELD),
    ]
    assert shown(slack.messages) == {}
