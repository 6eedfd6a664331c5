"""Findings alerts: channel subscriptions, the one alert per (scan, subscription), and the
reads that tell new failing findings and resolved ones apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import ScanStatus
from storage.models import Finding, Scan
from storage.models_scheduling import ChannelSubscription, FindingMute, FindingsAlert

FindingKey = tuple[str, str, str]
"""(check id, resource, region): the same finding in two scans."""


class ChannelSubscriptionRepo:
    """Channel subscriptions (several per channel, each a slice)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, sub: ChannelSubscription) -> ChannelSubscription:
        """Stage a subscription and assign its id."""
        self.s.add(sub)
        self.s.flush()
        return sub

    def get(self, subscription_id: int) -> ChannelSubscription | None:
        """One subscription."""
        return self.s.get(ChannelSubscription, subscription_id)

    def find(
        self, channel_id: str, kind: str, pattern: str, provider: str | None, severity: str
    ) -> ChannelSubscription | None:
        """The subscription with exactly this slice, if any."""
        query = select(ChannelSubscription).where(
            ChannelSubscription.channel_id == channel_id,
            ChannelSubscription.kind == kind,
            ChannelSubscription.project_pattern == pattern,
            ChannelSubscription.min_severity == severity,
        )
        if provider is None:
            query = query.where(ChannelSubscription.provider.is_(None))
        else:
            query = query.where(ChannelSubscription.provider == provider)
        return self.s.scalar(query)

    def listed(self, channel_id: str | None = None) -> Sequence[ChannelSubscription]:
        """Subscriptions by channel then id (of one channel, if given)."""
        query = select(ChannelSubscription).order_by(
            ChannelSubscription.channel_id, ChannelSubscription.id
        )
        if channel_id is not None:
            query = query.where(ChannelSubscription.channel_id == channel_id)
        return self.s.scalars(query).all()

    def of_kind(self, kind: str) -> Sequence[ChannelSubscription]:
        """Every subscription of a kind."""
        return self.s.scalars(
            select(ChannelSubscription)
            .where(ChannelSubscription.kind == kind)
            .order_by(ChannelSubscription.id)
        ).all()

    def delete(self, sub: ChannelSubscription) -> None:
        """Delete a subscription (its alert rows go with it)."""
        self.s.delete(sub)


class FindingsAlertRepo:
    """The findings alerts posted (or being posted) per scan and subscription."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def claim(self, alert: FindingsAlert) -> FindingsAlert:
        """Insert the row (IntegrityError when this scan's alert for it exists already)."""
        self.s.add(alert)
        self.s.flush()
        return alert

    def get(self, alert_id: int) -> FindingsAlert | None:
        """One alert row."""
        return self.s.get(FindingsAlert, alert_id)

    def of_scan(self, scan_id: int) -> Sequence[FindingsAlert]:
        """The alert rows of one scan."""
        return self.s.scalars(
            select(FindingsAlert).where(FindingsAlert.scan_id == scan_id).order_by(FindingsAlert.id)
        ).all()


class FindingDiffQueries:
    """What changed between a scan's findings and the project's previous completed scan."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def finished_at(self, scan_id: int) -> datetime | None:
        """When a scan finished."""
        return self.s.scalar(select(Scan.finished_at).where(Scan.id == scan_id))

    def previous_completed(self, project_id: int, before: datetime, scan_id: int) -> int | None:
        """The newest Completed scan of the project created before `before` (not `scan_id`)."""
        return self.s.scalar(
            select(Scan.id)
            .where(
                Scan.project_id == project_id,
                Scan.status == ScanStatus.COMPLETED.value,
                Scan.created_at < before,
                Scan.id != scan_id,
            )
            .order_by(Scan.created_at.desc(), Scan.id.desc())
            .limit(1)
        )

    def failing(self, scan_id: int) -> Sequence[Finding]:
        """A scan's failing findings."""
        return self.s.scalars(
            select(Finding)
            .where(Finding.scan_id == scan_id, Finding.passed.is_(False))
            .order_by(Finding.id)
        ).all()

    def passed_keys(self, scan_id: int) -> set[FindingKey]:
        """The (check, resource, region) of a scan's passing findings."""
        rows = self.s.execute(
            select(Finding.check_id, Finding.resource, Finding.region).where(
                Finding.scan_id == scan_id, Finding.passed.is_(True)
            )
        ).all()
        return {(c, r, g or "") for c, r, g in rows}


class MuteRepo:
    """Finding mutes."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, mute: FindingMute) -> FindingMute:
        """Stage a mute and assign its id."""
        self.s.add(mute)
        self.s.flush()
        return mute

    def get(self, mute_id: int) -> FindingMute | None:
        """One mute."""
        return self.s.get(FindingMute, mute_id)

    def finding(self, finding_id: int) -> tuple[Finding, Scan] | None:
        """A finding with its scan."""
        row = self.s.execute(
            select(Finding, Scan)
            .join(Scan, Scan.id == Finding.scan_id)
            .where(Finding.id == finding_id)
        ).first()
        return (row[0], row[1]) if row is not None else None

    def active(self, now: datetime, project_id: int | None = None) -> Sequence[FindingMute]:
        """Mutes not expired at `now` (of one project, if given), soonest to expire first."""
        query = select(FindingMute).where(FindingMute.expires_at > now)
        if project_id is not None:
            query = query.where(FindingMute.project_id == project_id)
        return self.s.scalars(query.order_by(FindingMute.expires_at, FindingMute.id)).all()

    def of_project(self, project_id: int) -> Sequence[FindingMute]:
        """Every mute of a project, expired ones included."""
        return self.s.scalars(
            select(FindingMute).where(FindingMute.project_id == project_id).order_by(FindingMute.id)
        ).all()

    def delete(self, mute: FindingMute) -> None:
        """Lift a mute."""
        self.s.delete(mute)
