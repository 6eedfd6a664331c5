"""Delivery to many channels under Slack's rate limits, against the loopback Web API."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.playground.slack_emulator import SlackStandIn
from bot.scheduling.clock import ManualClock
from bot.scheduling.delivery import Deliverer, Outgoing, PacedRateLimitHandler
from bot.views.common import message, section
from tests.scheduling._support import paced_client


def _payload(i: int) -> dict:
    return message(f"digest {i}", [section(f"*Digest* number {i}")])


def _deliverer(slack: SlackStandIn, clock: ManualClock, **kw: object) -> Deliverer:
    client = paced_client(slack, clock)
    return Deliverer(client, now=clock.now, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def _rate_limited(slack: SlackStandIn) -> int:
    return sum(1 for c in slack.calls if c.status == 429)


def test_429_storm_every_channel_delivered_once(slack: SlackStandIn, clock: ManualClock) -> None:
    slack.rate_limit("chat.postMessage", times=30, retry_after=2)
    deliverer = _deliverer(slack, clock)
    channels = [f"C{i:07d}" for i in range(20)]
    results = deliverer.send_all(
        [Outgoing(ch, _payload(i), key=ch) for i, ch in enumerate(channels)]
    )

    assert all(r.ok and r.ts for r in results), [r.error for r in results if not r.ok]
    delivered = Counter(c.body["channel"] for c in slack.calls_to("chat.postMessage"))
    assert delivered == Counter({ch: 1 for ch in channels})  # each exactly once
    assert _rate_limited(slack) == 30
    # Retry-After honoured: every 429 was followed by a wait of at least 2 s
    assert sum(1 for s in clock.sleeps if s >= 2.0) >= 30
    handler = next(
        h for h in deliverer.client.retry_handlers if isinstance(h, PacedRateLimitHandler)
    )
    assert handler.waited and set(handler.waited) == {2.0}


def test_429s_beyond_the_client_retries_are_retried_by_the_deliverer(
    slack: SlackStandIn, clock: ManualClock
) -> None:
    slack.rate_limit("chat.postMessage", times=7, retry_after=3)  # client retries 2 per call
    result = _deliverer(slack, clock).post("C1", _payload(1))
    assert result.ok and result.attempts == 3
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert clock.sleeps.count(3.0) >= 7


def test_a_channel_is_paced_to_one_message_per_second(
    slack: SlackStandIn, clock: ManualClock
) -> None:
    deliverer = _deliverer(slack, clock)
    start = clock.now()
    deliverer.post("CA", _payload(1))
    deliverer.post("CB", _payload(2))  # another channel: no wait
    assert clock.now() == start
    deliverer.post("CA", _payload(3))
    deliverer.post("CA", _payload(4))
    assert clock.sleeps == [1.0, 1.0]
    assert (clock.now() - start).total_seconds() == 2.0


def test_permanent_errors_are_not_retried(slack: SlackStandIn, clock: ManualClock) -> None:
    slack.not_in_channel.add("CGONE")
    result = _deliverer(slack, clock).post("CGONE", _payload(1))
    assert not result.ok and result.permanent and result.error == "not_in_channel"
    assert result.attempts == 1


def test_server_errors_are_retried_with_backoff(slack: SlackStandIn, clock: ManualClock) -> None:
    slack.fail(
        500,
        times=2,
        path_prefix="/api/chat.postMessage",
        body={"ok": False, "error": "fatal_error"},
    )
    result = _deliverer(slack, clock).post("C1", _payload(1))
    assert result.ok and result.attempts == 3
    assert clock.sleeps == [2.0, 4.0]


def test_update_and_thread_reply(slack: SlackStandIn, clock: ManualClock) -> None:
    deliverer = _deliverer(slack, clock, channel_interval=0.0)
    posted = deliverer.post("C1", _payload(1))
    assert posted.ok and posted.ts
    assert deliverer.update("C1", posted.ts, _payload(2)).ok
    assert deliverer.post("C1", _payload(3), thread_ts=posted.ts).ok
    assert slack.message("C1", posted.ts)["text"] == "digest 2"
    assert slack.last("chat.postMessage").body["thread_ts"] == posted.ts


@pytest.mark.parametrize("retry_after", ["0", "not-a-number"])
def test_odd_retry_after_values(slack: SlackStandIn, clock: ManualClock, retry_after: str) -> None:
    slack.fail(
        429,
        times=1,
        path_prefix="/api/chat.postMessage",
        retry_after=retry_after,
        body={"ok": False, "error": "ratelimited"},
    )
    assert _deliverer(slack, clock).post("C1", _payload(1)).ok
