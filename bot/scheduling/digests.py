"""Digest subscriptions and exactly-once digest delivery through an outbox.

One digest per subscription and period, none lost, none twice:

1. `record_period(subscription, T)` — in ONE transaction: compute the digest of the period
   (last_period_end, T], insert it into the outbox (`digest_deliveries`, unique per
   subscription and period end) and advance the subscription's `last_period_end` to T. A second
   fire of the same occurrence finds the marker already at T (or hits the unique key) and does
   nothing.
2. `send_pending()` — claim each pending outbox row (``pending → sending``, one atomic UPDATE),
   send it, mark it ``sent`` with the message ts. A crash between 1 and 2 leaves the row
   pending; the next `send_pending` (every scheduler tick, and at start) sends it. A row left
   ``sending`` by a crashed process is put back to pending after `STALE_CLAIM`.
3. `catch_up(now)` — an occurrence whose fire was lost (the process died while the job ran,
   after APScheduler had already stored the next run time) is recorded at the next start,
   because the marker is behind the latest occurrence.

The one window left is a crash after Slack accepted a message and before it was marked sent:
that digest is sent again (at-least-once for that window only).

Slices: a channel with ``digest`` subscriptions (`/cspm subscribe digest project=prod-*
provider=aws`, rows of `channel_subscriptions`) gets its digest restricted to the projects in
any of them, on its schedule, through the same outbox; without any, the whole digest. The
subscription is created with the default schedule (daily 09:00) if the channel had none
(`SchedulingOps.subscribe_channel`); removing its last slice stops its digest, and
`unsubscribe` removes its slices with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import NotFoundError
from bot.scheduling.cron import Cadence, DigestSchedule, latest_fire_at_or_before
from bot.scheduling.delivery import Deliverer, Outgoing
from bot.scheduling.digest_query import SupportPolicy, compute_digest
from bot.views.digest import build_digest
from bot.views.digest_models import DigestData
from storage.db import Database
from storage.models_scheduling import DigestDelivery, DigestSubscription
from storage.repositories.digests import DeliveryRepo, ProjectSlice, SubscriptionRepo
from storage.repositories.findings_alerts import ChannelSubscriptionRepo

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 12  # with the backoff below: about 6 hours of Slack trouble


def resend_backoff(attempts: int) -> timedelta:
    """Wait before sending an outbox row again after `attempts` failed tries (30 s … 1 h)."""
    return timedelta(seconds=min(3600.0, 30.0 * 2 ** max(0, attempts - 1)))


class DeliveryStatus:
    """Outbox row states."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class SubscriptionInfo:
    """A channel's digest subscription."""

    id: int
    channel_id: str
    schedule: DigestSchedule
    all_clear: bool
    created_by: str
    created_at: datetime
    last_period_end: datetime | None


@dataclass(frozen=True)
class RecordedPeriod:
    """An outbox row written by `record_period`."""

    delivery_id: int
    subscription_id: int
    period_start: datetime
    period_end: datetime
    status: str
    data: DigestData


DIGEST_KIND = "digest"
"""The kind of the channel subscriptions that restrict a channel's digest."""


def channel_slices(s: Session, channel_id: str) -> list[ProjectSlice] | None:
    """The slices a channel's digest is restricted to; None when it takes every project."""
    slices = [
        (sub.project_pattern, sub.provider)
        for sub in ChannelSubscriptionRepo(s).listed(channel_id)
        if sub.kind == DIGEST_KIND
    ]
    return slices or None


def schedule_of(sub: DigestSubscription) -> DigestSchedule:
    return DigestSchedule(Cadence(sub.cadence), sub.hour, sub.minute, sub.timezone, sub.weekday)


def _info(sub: DigestSubscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        id=sub.id,
        channel_id=sub.channel_id,
        schedule=schedule_of(sub),
        all_clear=sub.all_clear,
        created_by=sub.created_by,
        created_at=sub.created_at,
        last_period_end=sub.last_period_end,
    )


class DigestService:
    """Subscriptions, digest computation and the outbox."""

    def __init__(
        self,
        db: Database,
        policy: SupportPolicy,
        now: Callable[[], datetime],
        holder: str,
        deliverer: Callable[[], Deliverer | None],
    ) -> None:
        self.db = db
        self.policy = policy
        self.now = now
        self.holder = holder
        self._deliverer = deliverer

    # --- subscriptions ----------------------------------------------------------------------
    def subscribe(
        self, channel_id: str, schedule: DigestSchedule, all_clear: bool, actor: str
    ) -> tuple[SubscriptionInfo, bool]:
        """Create or replace the channel's subscription; True in the tuple when it replaced one.

        Replacing keeps the period marker, so the next digest still covers the time since the
        last one.
        """
        now = self.now()
        for _ in range(2):  # a concurrent first subscribe of the same channel: update instead
            try:
                with self.db.unit_of_work() as s:
                    repo = SubscriptionRepo(s)
                    sub = repo.for_channel(channel_id)
                    replaced = sub is not None
                    if sub is None:
                        sub = DigestSubscription(channel_id=channel_id, created_by=actor)
                        sub.created_at = now
                        repo.add(sub)
                    sub.cadence = schedule.cadence.value
                    sub.weekday = schedule.weekday
                    sub.hour, sub.minute = schedule.hour, schedule.minute
                    sub.timezone = schedule.timezone
                    sub.all_clear = all_clear
                    sub.updated_at = now
                    s.flush()
                    return _info(sub), replaced
            except IntegrityError:
                continue
        raise RuntimeError("could not save the subscription")  # pragma: no cover

    def unsubscribe(self, channel_id: str) -> SubscriptionInfo | None:
        """Delete the channel's subscription (and its unsent outbox rows, and its slices)."""
        with self.db.unit_of_work() as s:
            repo = SubscriptionRepo(s)
            sub = repo.for_channel(channel_id)
            if sub is None:
                return None
            info = _info(sub)
            repo.delete(sub)
            slices = ChannelSubscriptionRepo(s)
            for row in slices.listed(channel_id):
                if row.kind == DIGEST_KIND:
                    slices.delete(row)
            return info

    def all(self) -> list[SubscriptionInfo]:
        """Every subscription by channel."""
        with self.db.read() as s:
            return [_info(r) for r in SubscriptionRepo(s).all()]

    def get(self, subscription_id: int) -> SubscriptionInfo | None:
        """One subscription by id."""
        with self.db.read() as s:
            sub = SubscriptionRepo(s).get(subscription_id)
            return _info(sub) if sub else None

    def for_channel(self, channel_id: str) -> SubscriptionInfo | None:
        """The channel's subscription, if any."""
        with self.db.read() as s:
            sub = SubscriptionRepo(s).for_channel(channel_id)
            return _info(sub) if sub else None

    # --- computing --------------------------------------------------------------------------
    def compute(
        self,
        start: datetime,
        end: datetime,
        label: str = "",
        on_demand: bool = False,
        channel_id: str | None = None,
    ) -> DigestData:
        """The digest data of [start, end) (read-only), restricted to the channel's slices
        when it has any."""
        with self.db.read() as s:
            scope = channel_slices(s, channel_id) if channel_id else None
            return compute_digest(
                s,
                start,
                end,
                self.policy,
                schedule_label=label,
                on_demand=on_demand,
                scope=scope,
            )

    def on_demand(self, channel_id: str | None) -> tuple[DigestData, dict[str, Any]]:
        """The digest of the running period (since the channel's last digest, else one day) up
        to now. Not recorded: the scheduled digest still covers the whole period."""
        now = self.now()
        sub = self.for_channel(channel_id) if channel_id else None
        if sub is not None:
            start = sub.last_period_end or now - sub.schedule.cadence.length
            label = sub.schedule.label
        else:
            start, label = now - timedelta(days=1), "Last 24 hours"
        data = self.compute(start, now, label, on_demand=True, channel_id=channel_id)
        return data, build_digest(data)

    # --- the outbox -------------------------------------------------------------------------
    def record_period(self, subscription_id: int, period_end: datetime) -> RecordedPeriod | None:
        """Compute and store the digest of the period ending at `period_end` and advance the
        marker, in one transaction. None when that period was already recorded."""
        try:
            with self.db.unit_of_work() as s:
                sub = SubscriptionRepo(s).get(subscription_id, for_update=True)
                if sub is None:
                    return None
                if sub.last_period_end is not None and sub.last_period_end >= period_end:
                    return None
                schedule = schedule_of(sub)
                start = sub.last_period_end or period_end - schedule.cadence.length
                data = compute_digest(
                    s,
                    start,
                    period_end,
                    self.policy,
                    schedule_label=schedule.label,
                    scope=channel_slices(s, sub.channel_id),
                )
                skip = data.is_empty and not sub.all_clear
                delivery = DigestDelivery(
                    subscription_id=sub.id,
                    channel_id=sub.channel_id,
                    period_start=start,
                    period_end=period_end,
                    status=DeliveryStatus.SKIPPED if skip else DeliveryStatus.PENDING,
                    payload={} if skip else build_digest(data),
                    project_ids=[p.project_id for p in data.still_failing],
                    attempts=0,
                    created_at=self.now(),
                )
                DeliveryRepo(s).add(delivery)
                sub.last_period_end = period_end
                s.flush()
                return RecordedPeriod(delivery.id, sub.id, start, period_end, delivery.status, data)
        except IntegrityError:  # another process recorded this period at the same moment
            log.info(
                "digest period %s of subscription %s already recorded", period_end, subscription_id
            )
            return None

    def _claim(self, delivery_id: int) -> DigestDelivery | None:
        now = self.now()
        with self.db.unit_of_work() as s:
            return DeliveryRepo(s).claim(delivery_id, self.holder, now)

    def _finish(
        self,
        delivery_id: int,
        ok: bool,
        ts: str | None,
        error: str | None,
        give_up: bool,
        permalink: str | None = None,
    ) -> None:
        with self.db.unit_of_work() as s:
            row = DeliveryRepo(s).get(delivery_id)
            if row is None:
                return
            if ok:
                row.status, row.ts, row.sent_at, row.last_error = "sent", ts, self.now(), None
                row.permalink = permalink
            else:
                row.last_error = (error or "unknown error")[:500]
                row.status = DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING
                row.claimed_at = self.now()  # the end of the last try: the backoff counts from it
            row.claimed_by = None

    def reclaim_stale(self) -> int:
        """Put rows left ``sending`` by a crashed process back to pending."""
        cutoff = self.now() - STALE_CLAIM
        with self.db.unit_of_work() as s:
            return DeliveryRepo(s).reclaim_stale(cutoff)

    def pending_ids(self, limit: int = 200) -> list[int]:
        """Outbox rows due to be sent, oldest first (failed tries wait `resend_backoff`).

        A channel's rows go out in order: behind a row still waiting out its backoff, the
        channel's later rows wait too."""
        now = self.now()
        with self.db.read() as s:
            rows = DeliveryRepo(s).pending(limit)
        due, waiting = [], set()
        for i, attempts, last, channel in rows:
            if channel in waiting:
                continue
            if not attempts or last is None or last + resend_backoff(attempts) <= now:
                due.append(i)
            else:
                waiting.add(channel)
        return due

    def send_pending(self, limit: int = 200) -> int:
        """Send every pending outbox row (claimed first, so no two processes send one row);
        returns how many were sent."""
        deliverer = self._deliverer()
        if deliverer is None:
            return 0
        self.reclaim_stale()
        claimed = [row for i in self.pending_ids(limit) if (row := self._claim(i)) is not None]
        if not claimed:
            return 0
        items = [Outgoing(r.channel_id, r.payload, key=str(r.id)) for r in claimed]
        attempts = {r.id: r.attempts for r in claimed}
        sent = 0
        for result in deliverer.send_all(items):
            delivery_id = int(result.key)
            give_up = result.permanent or attempts[delivery_id] >= MAX_SEND_ATTEMPTS
            link = (
                deliverer.permalink(result.channel, result.ts) if result.ok and result.ts else None
            )
            self._finish(delivery_id, result.ok, result.ts, result.error, give_up, link)
            if result.ok:
                sent += 1
            else:
                log.warning(
                    "digest %s to %s not sent: %s", delivery_id, result.channel, result.error
                )
        return sent

    def fire(self, subscription_id: int, scheduled: datetime) -> str:
        """One scheduled occurrence: record the period, then send what is pending."""
        recorded = self.record_period(subscription_id, scheduled)
        self.send_pending()
        if recorded is None:
            return "already recorded"
        # the scheduled time comes in the subscription's time zone: say it in UTC
        start, end = recorded.period_start.astimezone(UTC), recorded.period_end.astimezone(UTC)
        return f"recorded {recorded.status} ({start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC)"

    def catch_up(self) -> list[tuple[int, datetime]]:
        """Record the latest occurrence of every subscription whose marker is behind it."""
        now = self.now()
        done = []
        for sub in self.all():
            if sub.created_at > now:
                continue
            trigger = sub.schedule.trigger()
            latest = latest_fire_at_or_before(
                trigger, now, sub.schedule.cadence.length + timedelta(days=1)
            )
            if latest is None or latest < sub.created_at:
                continue
            if sub.last_period_end is not None and sub.last_period_end >= latest:
                continue
            if self.record_period(sub.id, latest) is not None:
                log.warning(
                    "digest of %s for %s was missed; recorded it now", sub.channel_id, latest
                )
                done.append((sub.id, latest))
        return done

    def deliveries(self, subscription_id: int | None = None) -> list[dict[str, Any]]:
        """Outbox rows (newest first), for operators and tests."""
        with self.db.read() as s:
            return [
                {
                    "id": r.id,
                    "subscription_id": r.subscription_id,
                    "channel_id": r.channel_id,
                    "period_start": r.period_start,
                    "period_end": r.period_end,
                    "status": r.status,
                    "attempts": r.attempts,
                    "ts": r.ts,
                    "last_error": r.last_error,
                }
                for r in DeliveryRepo(s).recent(subscription_id)
            ]


def require_subscription(info: SubscriptionInfo | None, channel_id: str) -> SubscriptionInfo:
    """The subscription, or a NotFoundError naming the channel."""
    if info is None:
        raise NotFoundError(f"Channel {channel_id} has no digest subscription.")
    return info
