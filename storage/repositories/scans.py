"""Scans and what they produced: jobs, error-log entries, findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from storage.models import Connector, ErrorEntry, Finding, Job, Project, Scan

ACTIVE_STATUSES = ("queued", "running")


class ScanRepo:
    """Scans, jobs, error entries and findings."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, scan_id: int) -> Scan | None:
        """A scan by id."""
        return self.s.get(Scan, scan_id)

    def with_project_and_connector(self, scan_id: int) -> tuple[Scan, str, str] | None:
        """A scan with its project's name and its connector's provider, in one query."""
        row = self.s.execute(
            select(Scan, Project.name, Connector.provider)
            .join(Project, Project.id == Scan.project_id)
            .join(Connector, Connector.id == Scan.connector_id)
            .where(Scan.id == scan_id)
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    def request_stop(self, scan_id: int, actor: str, at: datetime) -> None:
        """Record a Stop request (the first one wins); the engine notices it."""
        self.s.execute(
            update(Scan)
            .where(Scan.id == scan_id, Scan.stop_requested_at.is_(None))
            .values(stop_requested_at=at, stopped_by=actor)
        )

    def count_reruns(self, project_id: int, since: datetime) -> int:
        """How many re-runs and automatic retries a project had since `since`."""
        return int(
            self.s.scalar(
                select(func.count(Scan.id)).where(
                    Scan.project_id == project_id,
                    Scan.trigger.in_(("rerun", "retry")),
                    Scan.created_at >= since,
                )
            )
            or 0
        )

    def add(self, scan: Scan) -> Scan:
        """Stage a new scan and assign its id."""
        self.s.add(scan)
        self.s.flush()
        return scan

    def active_for_project(self, project_id: int) -> Scan | None:
        """The queued or running scan of a project, if any."""
        return self.s.scalar(
            select(Scan).where(Scan.project_id == project_id, Scan.status.in_(ACTIVE_STATUSES))
        )

    def active(self) -> Sequence[Scan]:
        """Every queued or running scan."""
        return self.s.scalars(select(Scan).where(Scan.status.in_(ACTIVE_STATUSES))).all()

    def history(self, project_id: int, offset: int, limit: int) -> Sequence[Scan]:
        """A project's scans, newest first."""
        return self.s.scalars(
            select(Scan)
            .where(Scan.project_id == project_id)
            .order_by(Scan.created_at.desc(), Scan.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()

    def count_history(self, project_id: int) -> int:
        """How many scans a project has."""
        return int(
            self.s.scalar(select(func.count(Scan.id)).where(Scan.project_id == project_id)) or 0
        )

    def finished_since(
        self, since: datetime, until: datetime, statuses: Sequence[str]
    ) -> Sequence[Scan]:
        """Scans with one of `statuses` that finished in [since, until)."""
        return self.s.scalars(
            select(Scan)
            .where(
                Scan.status.in_(statuses),
                and_(Scan.finished_at >= since, Scan.finished_at < until),
            )
            .order_by(Scan.finished_at)
        ).all()

    def finished_history(
        self, project_id: int, up_to_scan_id: int, statuses: Sequence[str], depth: int
    ) -> list[tuple[str, str]]:
        """(status, trigger) of a project's scans with one of `statuses`, up to and including
        scan `up_to_scan_id`, newest first, at most `depth` of them."""
        rows = self.s.execute(
            select(Scan.status, Scan.trigger)
            .where(
                Scan.project_id == project_id,
                Scan.id <= up_to_scan_id,
                Scan.status.in_(statuses),
            )
            .order_by(Scan.created_at.desc(), Scan.id.desc())
            .limit(depth)
        ).all()
        return [(str(status), str(trigger)) for status, trigger in rows]

    def jobs(self, scan_id: int) -> Sequence[Job]:
        """A scan's jobs in creation order."""
        return self.s.scalars(select(Job).where(Job.scan_id == scan_id).order_by(Job.id)).all()

    def error_entries(self, scan_id: int) -> Sequence[ErrorEntry]:
        """A scan's error log entries in the order they happened."""
        return self.s.scalars(
            select(ErrorEntry).where(ErrorEntry.scan_id == scan_id).order_by(ErrorEntry.id)
        ).all()

    def findings(self, scan_id: int, failed_only: bool = False) -> Sequence[Finding]:
        """A scan's findings."""
        query = select(Finding).where(Finding.scan_id == scan_id)
        if failed_only:
            query = query.where(Finding.passed.is_(False))
        return self.s.scalars(query.order_by(Finding.id)).all()

    def finding_counts(self, scan_id: int) -> dict[tuple[str, bool], int]:
        """(severity, passed) -> count for one scan."""
        rows = self.s.execute(
            select(Finding.severity, Finding.passed, func.count(Finding.id))
            .where(Finding.scan_id == scan_id)
            .group_by(Finding.severity, Finding.passed)
        ).all()
        return {(sev, bool(passed)): int(n) for sev, passed, n in rows}
