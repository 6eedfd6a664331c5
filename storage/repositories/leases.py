"""The scheduler lease and the fired occurrences of schedules (`models_scheduling`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models_scheduling import ScheduleFire, SchedulerLease


class LeaseRepo:
    """Named leases: who holds one, until when."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def renew(self, name: str, holder: str, now: datetime, expires: datetime) -> bool:
        """Extend the lease if `holder` has it or it expired; True when it did."""
        result = self.s.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now),
            )
            .values(holder=holder, expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def exists(self, name: str) -> bool:
        """True once the lease row exists (whoever holds it)."""
        found = self.s.scalar(select(SchedulerLease.name).where(SchedulerLease.name == name))
        return found is not None

    def create(self, name: str, holder: str, now: datetime, expires: datetime) -> None:
        """Stage the first row of a lease (IntegrityError at flush/commit if it exists)."""
        self.s.add(SchedulerLease(name=name, holder=holder, expires_at=expires, acquired_at=now))

    def release(self, name: str, holder: str, now: datetime) -> None:
        """Let the lease expire at once, if `holder` has it."""
        self.s.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(expires_at=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )

    def holder_at(self, name: str, now: datetime) -> str | None:
        """Who holds the lease at `now` (None if nobody does)."""
        row = self.s.get(SchedulerLease, name)
        if row is None or row.expires_at < now:
            return None
        return row.holder


class FireRepo:
    """Fired occurrences of schedules: one row per (job id, scheduled time)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def claim(self, job_id: str, fire_time: datetime, holder: str, now: datetime) -> None:
        """Stage the occurrence's row (IntegrityError at flush/commit if already fired)."""
        self.s.add(ScheduleFire(job_id=job_id, fire_time=fire_time, fired_by=holder, fired_at=now))

    def record_outcome(
        self, job_id: str, fire_time: datetime, outcome: str, scan_id: int | None
    ) -> None:
        """Note what a claimed occurrence did."""
        self.s.execute(
            update(ScheduleFire)
            .where(ScheduleFire.job_id == job_id, ScheduleFire.fire_time == fire_time)
            .values(outcome=outcome[:300], scan_id=scan_id)
            .execution_options(synchronize_session=False)
        )
