"""A scan's findings read without a cap: keyset batches for exports, severity-ordered pages
for Slack, and the failing counts with muted findings left out.

Exports read plain column rows (no ORM objects, so nothing piles up in a session's identity
map) in batches of ids greater than the last one seen: memory stays flat however many
findings a scan has, and each batch is a short read of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Finding
from storage.models_scheduling import FindingMute

if TYPE_CHECKING:
    from sqlalchemy import Row

    FindingRow: TypeAlias = Row[int, str, str, str, str, bool, str]
    """(id, check_id, resource, region, severity, passed, detail), by attribute name too."""

EXPORT_BATCH = 500
"""Findings read per batch by `stream_findings`."""

_COLUMNS = (
    Finding.id,
    Finding.check_id,
    Finding.resource,
    Finding.region,
    Finding.severity,
    Finding.passed,
    Finding.detail,
)

SEVERITY_RANK = case(
    {"critical": 0, "high": 1, "medium": 2, "low": 3}, value=Finding.severity, else_=4
)
"""Most severe first, as an SQL expression."""


class FindingRepo:
    """Reads over one scan's findings."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def batch_after(
        self,
        scan_id: int,
        after_id: int,
        limit: int,
        failed_only: bool,
        severity: str | None = None,
    ) -> Sequence[FindingRow]:
        """Up to `limit` findings of the scan (of one severity, if given) with an id above
        `after_id`, by id (keyset)."""
        query = select(*_COLUMNS).where(Finding.scan_id == scan_id, Finding.id > after_id)
        if failed_only:
            query = query.where(Finding.passed.is_(False))
        if severity is not None:
            query = query.where(Finding.severity == severity)
        return self.s.execute(query.order_by(Finding.id).limit(limit)).all()

    def failing_page(self, scan_id: int, offset: int, limit: int) -> Sequence[FindingRow]:
        """One page of the scan's failing findings: most severe first, then by check,
        resource, region (stable across pages)."""
        query = (
            select(*_COLUMNS)
            .where(Finding.scan_id == scan_id, Finding.passed.is_(False))
            .order_by(SEVERITY_RANK, Finding.check_id, Finding.resource, Finding.region, Finding.id)
            .offset(offset)
            .limit(limit)
        )
        return self.s.execute(query).all()

    def failing_total(self, scan_id: int) -> int:
        """How many failing findings the scan has (muted ones included)."""
        return int(
            self.s.scalar(
                select(func.count(Finding.id)).where(
                    Finding.scan_id == scan_id, Finding.passed.is_(False)
                )
            )
            or 0
        )

    def muted_failing_counts(self, scan_id: int, project_id: int, now: datetime) -> dict[str, int]:
        """Failing findings of the scan muted at `now` in its project, by severity."""
        muted = and_(
            FindingMute.project_id == project_id,
            FindingMute.check_id == Finding.check_id,
            FindingMute.resource == Finding.resource,
            FindingMute.region == Finding.region,
            FindingMute.expires_at > now,
        )
        rows = self.s.execute(
            select(Finding.severity, func.count(func.distinct(Finding.id)))
            .join(FindingMute, muted)
            .where(Finding.scan_id == scan_id, Finding.passed.is_(False))
            .group_by(Finding.severity)
        ).all()
        return {str(sev): int(n) for sev, n in rows}


def stream_findings(
    db: Database,
    scan_id: int,
    failed_only: bool,
    severity: str | None = None,
    batch: int = EXPORT_BATCH,
) -> Iterator[FindingRow]:
    """Every finding of a scan (failing only, or all; of one severity, if given) by id, read
    `batch` at a time, each batch in a short read session of its own: no cap, flat memory,
    and no transaction held open while the consumer (a pipe, a slow terminal) takes its time.
    """
    after = 0
    while True:
        with db.read() as s:
            rows = FindingRepo(s).batch_after(scan_id, after, batch, failed_only, severity)
        yield from rows
        if len(rows) < batch:
            return
        after = int(rows[-1].id)
