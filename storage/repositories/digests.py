"""Failure digests: the aggregate queries a digest is computed from, the subscriptions and the
outbox of digest deliveries.

`DigestQueries` runs a fixed number of grouped queries whatever the number of projects and
scans, each driven by the scans indexes (`ix_scans_status_finished`,
`ix_scans_project_created`, `ix_error_entries_scan_id`); `bot.scheduling.digest_query` only
ranks and labels the grouped rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from bot.domain import ErrorCategory, ScanStatus
from storage.models import Connector, ErrorEntry, Project, Scan, UtcDateTime
from storage.models_scheduling import DigestDelivery, DigestSubscription

FAILING = (ScanStatus.FAILED.value, ScanStatus.PARTIALLY_COMPLETED.value)
FINISHED = (
    ScanStatus.COMPLETED.value,
    ScanStatus.PARTIALLY_COMPLETED.value,
    ScanStatus.FAILED.value,
    ScanStatus.STOPPED.value,
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETRY_TRIGGER = "retry"
"""The trigger of automatic retries (not counted in failure streaks)."""


def _aware(value: Any) -> datetime | None:
    """A datetime from an aggregate (SQLite returns naive UTC or text for MIN/MAX)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


ProjectSlice = tuple[str, str | None]
"""(project name pattern with ``*`` / ``?`` wildcards, lower case; provider or None)."""


def _like(pattern: str) -> str:
    """A ``*`` / ``?`` pattern as a LIKE pattern (``\\`` escapes)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def project_scope(slices: Sequence[ProjectSlice]) -> Select[Any]:
    """The ids of the projects in any of `slices` (name pattern, case-insensitive, and
    provider), as a subquery."""
    conditions: list[ColumnElement[bool]] = []
    for pattern, provider in slices:
        condition: ColumnElement[bool] = func.lower(Project.name).like(_like(pattern), escape="\\")
        if provider is not None:
            condition = and_(condition, Connector.provider == provider)
        conditions.append(condition)
    return (
        select(Project.id)
        .join(Connector, Connector.id == Project.connector_id)
        .where(or_(*conditions) if conditions else false())
    )


class DigestQueries:
    """The grouped reads of one digest period [start, end), of every project or only those in
    `scope` (a `project_scope`)."""

    def __init__(self, session: Session, scope: Sequence[ProjectSlice] | None = None) -> None:
        self.s = session
        self._scope = project_scope(scope) if scope is not None else None

    def _scoped(self, *conditions: Any) -> tuple[Any, ...]:
        """`conditions`, and the scans' project in the scope when there is one."""
        if self._scope is None:
            return conditions
        return (*conditions, Scan.project_id.in_(self._scope))

    def _in_period(self, start: datetime, end: datetime) -> tuple[Any, ...]:
        return self._scoped(
            Scan.status.in_(FAILING), Scan.finished_at >= start, Scan.finished_at < end
        )

    def counts(
        self, prev_start: datetime, start: datetime, end: datetime
    ) -> dict[bool, Counter[str]]:
        """Finished scans per status, and failing projects (key ``_projects``), in the period
        [start, end) (key True) and in the one before it [prev_start, start) (key False)."""
        in_current = case((Scan.finished_at >= start, 1), else_=0).label("cur")
        rows = self.s.execute(
            select(Scan.status, in_current, func.count())
            .where(
                *self._scoped(
                    Scan.status.in_(FINISHED),
                    Scan.finished_at >= prev_start,
                    Scan.finished_at < end,
                )
            )
            .group_by(Scan.status, in_current)
        ).all()
        out: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
        for status, cur, n in rows:
            out[bool(cur)][status] += int(n)
        projects = self.s.execute(
            select(in_current, func.count(distinct(Scan.project_id)))
            .where(
                *self._scoped(
                    Scan.status.in_(FAILING),
                    Scan.finished_at >= prev_start,
                    Scan.finished_at < end,
                )
            )
            .group_by(in_current)
        ).all()
        for cur, n in projects:
            out[bool(cur)]["_projects"] = int(n)
        return out

    def failing_projects(self, start: datetime, end: datetime) -> list[Any]:
        """Per project failing in the period: (id, name, connector id, failing scans, latest
        failing scan id, its status, its message, newest scan id, newest scan status, newest
        scan's end)."""
        agg = (
            select(
                Scan.project_id.label("project_id"),
                func.count().label("n"),
                func.max(Scan.id).label("latest_id"),
            )
            .where(*self._in_period(start, end))
            .group_by(Scan.project_id)
            .subquery()
        )
        latest, last = aliased(Scan), aliased(Scan)
        return list(
            self.s.execute(
                select(
                    Project.id,
                    Project.name,
                    Project.connector_id,
                    agg.c.n,
                    agg.c.latest_id,
                    latest.status,
                    latest.status_message,
                    last.id,
                    last.status,
                    last.finished_at,
                )
                .join(agg, agg.c.project_id == Project.id)
                .join(latest, latest.id == agg.c.latest_id)
                .outerjoin(last, last.id == Project.last_scan_id)
            ).all()
        )

    def categories(self, start: datetime, end: datetime) -> list[Any]:
        """(error category, project id, failing scans with it) in the period."""
        return list(
            self.s.execute(
                select(
                    ErrorEntry.category, Scan.project_id, func.count(distinct(ErrorEntry.scan_id))
                )
                .join(Scan, Scan.id == ErrorEntry.scan_id)
                .where(*self._in_period(start, end))
                .group_by(ErrorEntry.category, Scan.project_id)
            ).all()
        )

    def streaks(self, start: datetime, end: datetime) -> dict[int, tuple[int, Any]]:
        """Per project failing in the period: (failures in a row, failing since) of the run of
        failures that ends with its newest failing scan of the period.

        The streak counts the run's failing scans a person or a schedule started (automatic
        retries and Stopped scans neither count nor break it); failing since is the end of the
        run's first failing scan (retries included). Correlated lookups per failing project on
        `ix_scans_project_created`, so the cost follows the failing projects' history, not the
        whole table.
        """
        failing = (
            select(Scan.project_id, func.max(Scan.created_at).label("last_fail"))
            .where(*self._in_period(start, end))
            .group_by(Scan.project_id)
            .subquery("f")
        )
        ok, bad, first = aliased(Scan, name="ok"), aliased(Scan, name="bad"), aliased(Scan)
        last_ok = (
            select(func.max(ok.created_at))
            .where(
                ok.project_id == failing.c.project_id,
                ok.status == ScanStatus.COMPLETED.value,
                ok.created_at < failing.c.last_fail,
            )
            .correlate_except(ok)
            .scalar_subquery()
        )
        since_ok = func.coalesce(last_ok, literal(EPOCH, UtcDateTime()))
        run = (
            failing.c.project_id == bad.project_id,
            bad.status.in_(FAILING),
            bad.created_at > since_ok,
            bad.created_at <= failing.c.last_fail,
        )
        streak = (
            select(func.count())
            .select_from(bad)
            .where(*run, bad.trigger != RETRY_TRIGGER)
            .correlate_except(bad)
            .scalar_subquery()
        )
        since = (
            select(func.min(first.finished_at))
            .where(
                first.project_id == failing.c.project_id,
                first.status.in_(FAILING),
                first.created_at > since_ok,
                first.created_at <= failing.c.last_fail,
            )
            .correlate_except(first)
            .scalar_subquery()
        )
        rows = self.s.execute(select(failing.c.project_id, streak, since)).all()
        return {pid: (int(n), _aware(at)) for pid, n, at in rows}

    def day_counts(self, points: Sequence[datetime]) -> list[tuple[int, int, int]]:
        """(finished, failed, partially completed) scans in each window between consecutive
        `points` (sorted): one query whatever the number of windows."""
        columns = []
        for lo, hi in pairwise(points):
            inside = (Scan.finished_at >= lo) & (Scan.finished_at < hi)
            columns += [
                func.sum(case((inside, 1), else_=0)),
                func.sum(case((inside & (Scan.status == ScanStatus.FAILED.value), 1), else_=0)),
                func.sum(
                    case(
                        (inside & (Scan.status == ScanStatus.PARTIALLY_COMPLETED.value), 1),
                        else_=0,
                    )
                ),
            ]
        if not columns:
            return []
        row = self.s.execute(
            select(*columns).where(
                *self._scoped(
                    Scan.status.in_(FINISHED),
                    Scan.finished_at >= points[0],
                    Scan.finished_at < points[-1],
                )
            )
        ).one()
        values = [int(v or 0) for v in row]
        return [tuple(values[i : i + 3]) for i in range(0, len(values), 3)]  # type: ignore[misc]

    def failing_at(self, points: Sequence[datetime]) -> list[int]:
        """How many projects were failing at each of `points` (sorted): those whose newest
        Completed / Partially Completed / Failed scan finished before it was not Completed.

        Two grouped queries: each project's newest such scan before the first point, and its
        newest in each window between points.
        """
        if not points:
            return []
        decisive = (*FAILING, ScanStatus.COMPLETED.value)
        newest = (
            select(Scan.project_id, func.max(Scan.id).label("scan_id"))
            .where(*self._scoped(Scan.status.in_(decisive), Scan.finished_at < points[0]))
            .group_by(Scan.project_id)
            .subquery()
        )
        state = {
            pid: status in FAILING
            for pid, status in self.s.execute(
                select(newest.c.project_id, Scan.status).join(Scan, Scan.id == newest.c.scan_id)
            ).all()
        }
        counts = [sum(state.values())]
        if len(points) < 2:
            return counts
        whens = [
            ((Scan.finished_at >= lo) & (Scan.finished_at < hi), i)
            for i, (lo, hi) in enumerate(pairwise(points))
        ]
        window = case(*whens, else_=-1).label("window")
        per_window = (
            select(Scan.project_id, window, func.max(Scan.id).label("scan_id"))
            .where(
                *self._scoped(
                    Scan.status.in_(decisive),
                    Scan.finished_at >= points[0],
                    Scan.finished_at < points[-1],
                )
            )
            .group_by(Scan.project_id, window)
            .subquery()
        )
        changes: dict[int, list[tuple[int, bool]]] = {}
        for pid, index, status in self.s.execute(
            select(per_window.c.project_id, per_window.c.window, Scan.status).join(
                Scan, Scan.id == per_window.c.scan_id
            )
        ).all():
            changes.setdefault(int(index), []).append((pid, status in FAILING))
        for index in range(len(points) - 1):
            for pid, is_failing in changes.get(index, ()):
                state[pid] = is_failing
            counts.append(sum(state.values()))
        return counts

    def credential_failures(self, start: datetime, end: datetime) -> dict[int, tuple[int, Any]]:
        """Per connector whose scans were rejected in the period: (failing scans, first
        failure time)."""
        rows = self.s.execute(
            select(Scan.connector_id, func.count(distinct(Scan.id)), func.min(Scan.finished_at))
            .join(ErrorEntry, ErrorEntry.scan_id == Scan.id)
            .where(
                *self._in_period(start, end),
                ErrorEntry.category == ErrorCategory.INVALID_CREDENTIALS,
            )
            .group_by(Scan.connector_id)
        ).all()
        return {cid: (int(n), first) for cid, n, first in rows}

    def problem_connectors(self, connector_ids: Sequence[int]) -> list[Any]:
        """(id, name, provider, created at) of the live connectors among `connector_ids` and
        of those whose last validation failed (in a scope: only those its projects use)."""
        query = select(
            Connector.id, Connector.name, Connector.provider, Connector.created_at
        ).where(
            Connector.deleted_at.is_(None),
            Connector.id.in_(list(connector_ids)) | Connector.last_validation_ok.is_(False),
        )
        if self._scope is not None:
            used = select(Project.connector_id).where(Project.id.in_(self._scope))
            query = query.where(Connector.id.in_(used))
        return list(self.s.execute(query).all())


class SubscriptionRepo:
    """Digest subscriptions, one per channel."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def for_channel(self, channel_id: str) -> DigestSubscription | None:
        """The channel's subscription."""
        return self.s.scalar(
            select(DigestSubscription).where(DigestSubscription.channel_id == channel_id)
        )

    def get(self, subscription_id: int, *, for_update: bool = False) -> DigestSubscription | None:
        """One subscription by id (locked for this transaction with `for_update`)."""
        return self.s.get(DigestSubscription, subscription_id, with_for_update=for_update)

    def all(self) -> Sequence[DigestSubscription]:
        """Every subscription by channel."""
        return self.s.scalars(
            select(DigestSubscription).order_by(DigestSubscription.channel_id)
        ).all()

    def add(self, sub: DigestSubscription) -> DigestSubscription:
        """Stage a new subscription."""
        self.s.add(sub)
        return sub

    def delete(self, sub: DigestSubscription) -> None:
        """Delete a subscription (its unsent outbox rows go with it)."""
        self.s.delete(sub)


class DeliveryRepo:
    """The outbox: one digest delivery per (subscription, period end)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, delivery: DigestDelivery) -> DigestDelivery:
        """Stage a delivery and assign its id."""
        self.s.add(delivery)
        self.s.flush()
        return delivery

    def get(self, delivery_id: int) -> DigestDelivery | None:
        """One delivery."""
        return self.s.get(DigestDelivery, delivery_id)

    def claim(self, delivery_id: int, holder: str, now: datetime) -> DigestDelivery | None:
        """Move a pending delivery to sending, for `holder`; None if it is not pending."""
        result = self.s.execute(
            update(DigestDelivery)
            .where(DigestDelivery.id == delivery_id, DigestDelivery.status == "pending")
            .values(
                status="sending",
                claimed_by=holder,
                claimed_at=now,
                attempts=DigestDelivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            return None
        # read it back as the update left it, even if this session loaded it before
        return self.s.get(DigestDelivery, delivery_id, populate_existing=True)

    def reclaim_stale(self, cutoff: datetime) -> int:
        """Put deliveries left sending since before `cutoff` back to pending."""
        result = self.s.execute(
            update(DigestDelivery)
            .where(DigestDelivery.status == "sending", DigestDelivery.claimed_at < cutoff)
            .values(status="pending", claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def pending(self, limit: int) -> list[tuple[int, int, datetime | None, str]]:
        """(id, attempts, last claimed at, channel) of pending deliveries, oldest first."""
        rows = self.s.execute(
            select(
                DigestDelivery.id,
                DigestDelivery.attempts,
                DigestDelivery.claimed_at,
                DigestDelivery.channel_id,
            )
            .where(DigestDelivery.status == "pending")
            .order_by(DigestDelivery.id)
            .limit(limit)
        ).all()
        return [
            (int(i), int(attempts or 0), last, str(channel)) for i, attempts, last, channel in rows
        ]

    def recent(self, subscription_id: int | None = None, limit: int = 200) -> list[DigestDelivery]:
        """The newest deliveries first (of one subscription, if given)."""
        query = select(DigestDelivery).order_by(DigestDelivery.id.desc()).limit(limit)
        if subscription_id is not None:
            query = query.where(DigestDelivery.subscription_id == subscription_id)
        return list(self.s.scalars(query))

    def latest_link_listing(self, project_id: int, lookback: int = 20) -> str | None:
        """The permalink of the newest sent digest (among the last `lookback` with a link)
        that listed `project_id` as still failing; None when none did."""
        rows = self.s.execute(
            select(DigestDelivery.permalink, DigestDelivery.project_ids)
            .where(DigestDelivery.status == "sent", DigestDelivery.permalink.is_not(None))
            .order_by(DigestDelivery.id.desc())
            .limit(lookback)
        ).all()
        for link, listed in rows:
            if project_id in (listed or ()):
                return str(link)
        return None
