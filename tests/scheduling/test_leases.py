"""The scheduler lease and the per-occurrence fire keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import storage.models_scheduling  # noqa: F401  (tables)
from bot.scheduling.leases import Lease, claim_fire
from storage.db import Database

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_one_holder_at_a_time(db: Database) -> None:
    a, b = Lease(db, "a", TTL), Lease(db, "b", TTL)
    assert a.acquire(T0)
    assert not b.acquire(T0 + timedelta(seconds=1))
    assert a.acquire(T0 + timedelta(seconds=10))  # renew
    assert not b.acquire(T0 + timedelta(seconds=35))  # renewed until 40 s
    assert b.acquire(T0 + timedelta(seconds=41))  # expired: taken over
    assert not a.acquire(T0 + timedelta(seconds=42))
    assert a.current_holder(T0 + timedelta(seconds=42)) == "b"


def test_release_hands_over_at_once(db: Database) -> None:
    a, b = Lease(db, "a", TTL), Lease(db, "b", TTL)
    assert a.acquire(T0)
    a.release(T0 + timedelta(seconds=1))
    assert b.acquire(T0 + timedelta(seconds=1))


def test_racing_first_acquisitions_elect_exactly_one(db: Database) -> None:
    leases = [Lease(db, f"p{i}", TTL) for i in range(6)]
    won: list[str] = []
    barrier = threading.Barrier(len(leases))

    def go(lease: Lease) -> None:
        barrier.wait()
        if lease.acquire(T0):
            won.append(lease.holder)

    threads = [threading.Thread(target=go, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_an_occurrence_is_fired_once(db: Database) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def go(i: int) -> None:
        barrier.wait()
        results.append(claim_fire(db, "scan:1", T0, f"p{i}", T0))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert claim_fire(db, "scan:1", T0 + timedelta(days=1), "p0", T0)  # next occurrence
    assert claim_fire(db, "scan:2", T0, "p0", T0)  # another schedule
