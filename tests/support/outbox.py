"""Digest outbox rows for delivery tests and the fault benchmark: numbered messages per
channel, and what each channel shows in the Slack stand-in, in the order it shows it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.scheduling.clock import ManualClock
from bot.scheduling.delivery import Deliverer
from bot.scheduling.digest_query import SupportPolicy
from bot.scheduling.digests import DigestService
from bot.views.common import message, section
from storage.db import Database
from storage.models_scheduling import DigestDelivery, DigestSubscription

_NUMBERED = re.compile(r"^storm (?P<channel>\S+) #(?P<n>\d+)$")


def seed_outbox(db: Database, channels: int, per_channel: int, start: datetime) -> list[str]:
    """`per_channel` pending digests for each of `channels` channels, inserted round-robin
    (so the channels' rows interleave, as periods of many subscriptions do); their texts are
    ``storm <channel> #<n>``. Returns the channel ids."""
    ids = [f"CSTORM{i:04d}" for i in range(channels)]
    with db.unit_of_work() as s:
        subs = []
        for channel in ids:
            sub = DigestSubscription(
                channel_id=channel, cadence="daily", hour=9, minute=0, created_by="bench"
            )
            s.add(sub)
            subs.append(sub)
        s.flush()
        for n in range(1, per_channel + 1):
            for sub in subs:
                text = f"storm {sub.channel_id} #{n}"
                s.add(
                    DigestDelivery(
                        subscription_id=sub.id,
                        channel_id=sub.channel_id,
                        period_start=start + timedelta(days=n - 1),
                        period_end=start + timedelta(days=n),
                        payload=message(text, [section(text)]),
                    )
                )
    return ids


def outbox_service(db: Database, clock: ManualClock, deliverer: Deliverer) -> DigestService:
    """The digest service over `db`, sending through `deliverer` on `clock`."""
    return DigestService(db, SupportPolicy(), clock.now, "storm", lambda: deliverer)


def drain(service: DigestService, clock: ManualClock, rounds: int = 40) -> int:
    """Send the outbox until nothing is pending (moving the clock past each backoff);
    returns the rounds it took."""
    for done in range(1, rounds + 1):
        service.send_pending()
        if not service.pending_ids() and not _any_pending(service):
            return done
        clock.advance(3600)
    raise AssertionError(f"the outbox still had pending rows after {rounds} rounds")


def _any_pending(service: DigestService) -> bool:
    return any(d["status"] in ("pending", "sending") for d in service.deliveries())


def shown(messages: dict[tuple[str, str], dict[str, object]]) -> dict[str, list[int]]:
    """Per channel, the numbers of the storm messages it shows, in the order they arrived."""
    out: dict[str, list[int]] = {}
    for (channel, _ts), msg in messages.items():
        match = _NUMBERED.match(str(msg.get("text", "")))
        if match:
            out.setdefault(channel, []).append(int(match["n"]))
    return out
