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

from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.repositories.leases import FireRepo, LeaseRepo

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
            repo = LeaseRepo(s)
            if repo.renew(self.name, self.holder, now, expires):
                return True
            if repo.exists(self.name):
                return False
        try:
            with self.db.unit_of_work() as s:
                LeaseRepo(s).create(self.name, self.holder, now, expires)
        except IntegrityError:  # another process created it first: it holds the lease
            return False
        return True

    def release(self, now: datetime) -> None:
        """Give the lease up at once, so another process can take over without waiting."""
        with self.db.unit_of_work() as s:
            LeaseRepo(s).release(self.name, self.holder, now)

    def current_holder(self, now: datetime) -> str | None:
        """Who holds the lease now (None if nobody does)."""
        with self.db.read() as s:
            return LeaseRepo(s).holder_at(self.name, now)


def claim_fire(db: Database, job_id: str, fire_time: datetime, holder: str, now: datetime) -> bool:
    """Record that `holder` fires occurrence `fire_time` of `job_id`; False if already fired."""
    try:
        with db.unit_of_work() as s:
            FireRepo(s).claim(job_id, fire_time, holder, now)
    except IntegrityError:
        log.info("occurrence %s of %s was already fired elsewhere", fire_time, job_id)
        return False
    return True


def record_fire_outcome(
    db: Database, job_id: str, fire_time: datetime, outcome: str, scan_id: int | None = None
) -> None:
    """Note what a claimed occurrence did (shown by `cspm-bot schedule list --json`)."""
    with db.unit_of_work() as s:
        FireRepo(s).record_outcome(job_id, fire_time, outcome, scan_id)
