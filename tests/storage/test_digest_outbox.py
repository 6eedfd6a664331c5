"""The digest outbox (`DeliveryRepo`) on SQLite and (when configured) PostgreSQL: what is
pending, who may claim a delivery, and when a claim left behind by a dead sender is taken
back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.models_scheduling import DigestDelivery, DigestSubscription
from storage.repositories.digests import DeliveryRepo, SubscriptionRepo

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _deliveries(db: Database, channels: list[str]) -> list[int]:
    """One subscription per channel and one pending delivery each, in that order."""
    ids = []
    with db.unit_of_work() as s:
        for channel in channels:
            sub = SubscriptionRepo(s).add(
                DigestSubscription(
                    channel_id=channel, cadence="daily", hour=9, minute=0, created_by="test"
                )
            )
            s.flush()  # its id
            delivery = DeliveryRepo(s).add(
                DigestDelivery(
                    subscription_id=sub.id,
                    channel_id=channel,
                    period_start=T0 - timedelta(days=1),
                    period_end=T0,
                )
            )
            ids.append(delivery.id)
    return ids


def test_pending_deliveries_are_listed_oldest_first_up_to_the_limit(db: Database) -> None:
    first, second, third = _deliveries(db, ["C1", "C2", "C3"])
    with db.unit_of_work() as s:
        repo = DeliveryRepo(s)
        assert repo.pending(10) == [(first, 0, None, "C1"), (second, 0, None, "C2"),
                                    (third, 0, None, "C3")]  # fmt: skip
        assert [row[0] for row in repo.pending(2)] == [first, second]
        assert repo.claim(first, "sender-a", T0) is not None
    with db.unit_of_work() as s:
        assert [row[0] for row in DeliveryRepo(s).pending(10)] == [second, third]


def test_a_delivery_is_claimed_once_and_counts_its_attempts(db: Database) -> None:
    [delivery_id] = _deliveries(db, ["C1"])
    with db.unit_of_work() as s:
        claimed = DeliveryRepo(s).claim(delivery_id, "sender-a", T0)
        assert claimed is not None
        assert (claimed.status, claimed.claimed_by, claimed.attempts) == ("sending", "sender-a", 1)
        assert claimed.claimed_at == T0
    with db.unit_of_work() as s:
        assert DeliveryRepo(s).claim(delivery_id, "sender-b", T0) is None  # already taken
        assert DeliveryRepo(s).claim(delivery_id + 100, "sender-b", T0) is None  # no such row


def test_a_claim_left_behind_is_taken_back_only_when_older_than_the_cutoff(
    db: Database,
) -> None:
    stale, fresh, other = _deliveries(db, ["C1", "C2", "C3"])
    with db.unit_of_work() as s:
        repo = DeliveryRepo(s)
        repo.claim(stale, "dead-sender", T0)
        repo.claim(fresh, "live-sender", T0 + timedelta(minutes=5))
    with db.unit_of_work() as s:
        assert DeliveryRepo(s).reclaim_stale(T0) == 0  # claimed exactly at the cutoff: kept
    with db.unit_of_work() as s:
        assert DeliveryRepo(s).reclaim_stale(T0 + timedelta(minutes=1)) == 1
    with db.unit_of_work() as s:
        rows = {d.id: d for d in DeliveryRepo(s).recent()}
        assert (rows[stale].status, rows[stale].claimed_by) == ("pending", None)
        assert (rows[fresh].status, rows[fresh].claimed_by) == ("sending", "live-sender")
        assert rows[other].status == "pending"
        # taken back, it is claimed again as a second attempt
        again = DeliveryRepo(s).claim(stale, "sender-b", T0 + timedelta(minutes=2))
        assert again is not None and again.attempts == 2
        assert [row[:2] for row in DeliveryRepo(s).pending(10)] == [(other, 0)]
