"""Failure alerts: open incidents per project and the one follow-up of each finished scan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Scan
from storage.models_scheduling import AlertIncident, FailureAlertCopy, ScanFollowup


class IncidentRepo:
    """Alert incidents: at most one open per project."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def open_for_project(self, project_id: int) -> AlertIncident | None:
        """The project's open incident, locked for this transaction."""
        return self.s.scalar(
            select(AlertIncident)
            .where(AlertIncident.project_id == project_id, AlertIncident.is_open.is_(True))
            .with_for_update()
        )

    def get(self, incident_id: int) -> AlertIncident | None:
        """One incident."""
        return self.s.get(AlertIncident, incident_id)

    def add(self, incident: AlertIncident) -> AlertIncident:
        """Stage an incident and assign its id."""
        self.s.add(incident)
        self.s.flush()
        return incident

    def open_links(self, project_ids: Sequence[int]) -> dict[int, str]:
        """The alert-thread permalink of each of `project_ids` with an open, posted incident."""
        if not project_ids:
            return {}
        rows = self.s.execute(
            select(AlertIncident.project_id, AlertIncident.permalink).where(
                AlertIncident.project_id.in_(list(project_ids)),
                AlertIncident.is_open.is_(True),
                AlertIncident.permalink.is_not(None),
            )
        ).all()
        return {int(pid): str(link) for pid, link in rows}

    def unposted(self, max_attempts: int) -> Sequence[AlertIncident]:
        """Open incidents whose message was never posted, with tries left."""
        return self.s.scalars(
            select(AlertIncident).where(
                AlertIncident.is_open.is_(True),
                AlertIncident.ts.is_(None),
                AlertIncident.channel_id != "",  # no alert channel: only subscribed channels
                AlertIncident.post_attempts < max_attempts,
            )
        ).all()

    def recent(self, project_id: int | None = None, limit: int = 200) -> Sequence[AlertIncident]:
        """The newest incidents first (of one project, if given)."""
        query = select(AlertIncident).order_by(AlertIncident.id.desc()).limit(limit)
        if project_id is not None:
            query = query.where(AlertIncident.project_id == project_id)
        return self.s.scalars(query).all()


class FailureCopyRepo:
    """An incident's alert in the channels subscribed to ``failures``: one row per channel."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def of_incident(self, incident_id: int) -> Sequence[FailureAlertCopy]:
        """The incident's copies, oldest first."""
        return self.s.scalars(
            select(FailureAlertCopy)
            .where(FailureAlertCopy.incident_id == incident_id)
            .order_by(FailureAlertCopy.id)
        ).all()

    def add(self, copy: FailureAlertCopy) -> FailureAlertCopy:
        """Stage a copy and assign its id (IntegrityError when the channel has one)."""
        self.s.add(copy)
        self.s.flush()
        return copy

    def get(self, copy_id: int) -> FailureAlertCopy | None:
        """One copy."""
        return self.s.get(FailureAlertCopy, copy_id)

    def unposted(self, max_attempts: int) -> Sequence[tuple[FailureAlertCopy, AlertIncident]]:
        """Copies of open incidents never posted, with tries left."""
        rows = self.s.execute(
            select(FailureAlertCopy, AlertIncident)
            .join(AlertIncident, AlertIncident.id == FailureAlertCopy.incident_id)
            .where(
                AlertIncident.is_open.is_(True),
                FailureAlertCopy.ts.is_(None),
                FailureAlertCopy.post_attempts < max_attempts,
            )
            .order_by(FailureAlertCopy.id)
        ).all()
        return [(c, i) for c, i in rows]


class FollowupRepo:
    """Follow-ups of finished scans: a row per scan makes it happen once."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def claim(self, scan_id: int, holder: str, now: datetime) -> None:
        """Insert the scan's follow-up row (IntegrityError if it was followed up already)."""
        self.s.add(ScanFollowup(scan_id=scan_id, processed_by=holder, processed_at=now))
        self.s.flush()

    def set_outcome(self, scan_id: int, outcome: str) -> None:
        """Note what the follow-up did."""
        followup = self.s.get(ScanFollowup, scan_id)
        if followup is not None:
            followup.outcome = outcome

    def unfollowed(self, statuses: Sequence[str], since: datetime, limit: int) -> list[int]:
        """Scans with one of `statuses` that ended since `since` and were not followed up."""
        return list(
            self.s.scalars(
                select(Scan.id)
                .outerjoin(ScanFollowup, ScanFollowup.scan_id == Scan.id)
                .where(
                    Scan.status.in_(statuses),
                    Scan.finished_at >= since,
                    ScanFollowup.scan_id.is_(None),
                )
                .order_by(Scan.id)
                .limit(limit)
            )
        )
