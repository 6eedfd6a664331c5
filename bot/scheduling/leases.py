"""Leader lease and per-occurrence fire keys: how several bot processes share one database
and still fire each schedule once.

Two independent guards:

1. `Lease`: one row per lease name in `scheduler_leases`. A process becomes the holder with
   one atomic ``UPDATE … WHERE name = :name AND (holder = :me OR expires_at < :now)`` (or by
   inserting the row when it does not exist yet) and renews it well before it expires. Only the
   holder runs APScheduler's job processing; the others keep their scheduler paused.
2. `claim_fire`: a row in `schedule_fires` keyed by (job id, scheduled time), inserted in its
   own transaction before a schedule's work starts. Should two processes ever fire the same
   occurrence (a lease hand-over during a long GC pause, clock skew between hosts), the second
   insert violates the primary key and that process does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models_scheduling import ScheduleFire, SchedulerLease

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"


class Lease:
    """A named lease in the database, held by `holder` for `ttl` at a time."""

    def __init__(self, db: Database, holder: str, ttl: timedelta, name: str = SCHEDULER_LEASE):
        self.db = db
        self.holder = holder
        self.ttl = ttl
        self.name = name

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; True if this holder has it until `now + ttl`."""
        expires = now + self.ttl
        with self.db.unit_of_work() as s:
            result = s.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == self.name,
                    (SchedulerLease.holder == self.holder) | (SchedulerLease.expires_at < now),
                )
                .values(holder=self.holder, expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                return True
            exists = s.scalar(select(SchedulerLease.name).where(SchedulerLease.name == self.name))
            if exists is not None:
                return False
        try:
            with self.db.unit_of_work() as s:
                s.add(
                    SchedulerLease(
                        name=self.name, holder=self.holder, expires_at=expires, acquired_at=now
                    )
                )
        except IntegrityError:  # another process created it first: it holds the lease
            return False
        return True

    def release(self, now: datetime) -> None:
        """Give the lease up at once, so another process can take over without waiting."""
        with self.db.unit_of_work() as s:
            s.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.holder == self.holder)
                .values(expires_at=now - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )

    def current_holder(self, now: datetime) -> str | None:
        """Who holds the lease now (None if nobody does)."""
        with self.db.read() as s:
            row = s.get(SchedulerLease, self.name)
            if row is None or row.expires_at < now:
                return None
            return row.holder


def claim_fire(db: Database, job_id: str, fire_time: datetime, holder: str, now: datetime) -> bool:
    """Record that `holder` fires occurrence `fire_time` of `job_id`; False if already fired."""
    try:
        with db.unit_of_work() as s:
            s.add(ScheduleFire(job_id=job_id, fire_time=fire_time, fired_by=holder, fired_at=now))
    except IntegrityError:
        log.info("occurrence %s of %s was already fired elsewhere", fire_time, job_id)
        return False
    return True


def record_fire_outcome(
    db: Database, job_id: str, fire_time: datetime, outcome: str, scan_id: int | None = None
) -> None:
    """Note what a claimed occurrence did (shown by `cspm-bot schedule list --json`)."""
    with db.unit_of_work() as s:
        s.execute(
            update(ScheduleFire)
            .where(ScheduleFire.job_id == job_id, ScheduleFire.fire_time == fire_time)
            .values(outcome=outcome[:300], scan_id=scan_id)
            .execution_options(synchronize_session=False)
        )
