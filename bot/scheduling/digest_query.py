"""Computing a digest's data with a fixed number of aggregate queries.

Whatever the number of projects and scans, `compute_digest` runs the same eight queries, each
grouped in the database and driven by the scans indexes (`ix_scans_status_finished`,
`ix_scans_project_created`, `ix_error_entries_scan_id`); Python only ranks and labels the
grouped rows. `bench/bench_digest.py` measures it over 5,000 projects and 200,000 scans.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.orm import Session, aliased

from bot.domain import ErrorCategory, Provider, ScanStatus
from bot.views.digest_models import (
    CauseGroup,
    CredentialProblem,
    DigestData,
    DigestProject,
    PeriodCounts,
    SupportCase,
    SupportReason,
)
from storage.models import Connector, ErrorEntry, Project, Scan, UtcDateTime

FAILING = (ScanStatus.FAILED.value, ScanStatus.PARTIALLY_COMPLETED.value)
FINISHED = (
    ScanStatus.COMPLETED.value,
    ScanStatus.PARTIALLY_COMPLETED.value,
    ScanStatus.FAILED.value,
    ScanStatus.STOPPED.value,
)
_CATEGORY_ORDER = {c: i for i, c in enumerate(ErrorCategory)}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SupportPolicy:
    """When a failing project becomes a support case."""

    failure_streak: int = 3
    new_connector_window: timedelta = timedelta(hours=24)


def streak_of(statuses: Iterable[str]) -> int:
    """Failures in a row at the head of `statuses` (newest first); Stopped scans are skipped."""
    count = 0
    for status in statuses:
        if status in FAILING:
            count += 1
        elif status == ScanStatus.STOPPED.value:
            continue
        else:
            break
    return count


def _counts(s: Session, prev_start: datetime, start: datetime, end: datetime) -> dict[bool, dict]:
    in_current = case((Scan.finished_at >= start, 1), else_=0).label("cur")
    rows = s.execute(
        select(Scan.status, in_current, func.count())
        .where(Scan.status.in_(FINISHED), Scan.finished_at >= prev_start, Scan.finished_at < end)
        .group_by(Scan.status, in_current)
    ).all()
    out: dict[bool, dict] = {True: Counter(), False: Counter()}
    for status, cur, n in rows:
        out[bool(cur)][status] += int(n)
    projects = s.execute(
        select(in_current, func.count(distinct(Scan.project_id)))
        .where(Scan.status.in_(FAILING), Scan.finished_at >= prev_start, Scan.finished_at < end)
        .group_by(in_current)
    ).all()
    for cur, n in projects:
        out[bool(cur)]["_projects"] = int(n)
    return out


def _period(counter: dict) -> PeriodCounts:
    return PeriodCounts(
        scans=sum(v for k, v in counter.items() if not k.startswith("_")),
        failed=counter.get(ScanStatus.FAILED.value, 0),
        partial=counter.get(ScanStatus.PARTIALLY_COMPLETED.value, 0),
        failing_projects=counter.get("_projects", 0),
    )


def _in_period(start: datetime, end: datetime) -> tuple:
    return (Scan.status.in_(FAILING), Scan.finished_at >= start, Scan.finished_at < end)


def _failing_projects(s: Session, start: datetime, end: datetime) -> list:
    agg = (
        select(
            Scan.project_id.label("project_id"),
            func.count().label("n"),
            func.max(Scan.id).label("latest_id"),
        )
        .where(*_in_period(start, end))
        .group_by(Scan.project_id)
        .subquery()
    )
    latest, last = aliased(Scan), aliased(Scan)
    return list(
        s.execute(
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
            )
            .join(agg, agg.c.project_id == Project.id)
            .join(latest, latest.id == agg.c.latest_id)
            .outerjoin(last, last.id == Project.last_scan_id)
        ).all()
    )


def _categories(s: Session, start: datetime, end: datetime) -> list:
    return list(
        s.execute(
            select(ErrorEntry.category, Scan.project_id, func.count(distinct(ErrorEntry.scan_id)))
            .join(Scan, Scan.id == ErrorEntry.scan_id)
            .where(*_in_period(start, end))
            .group_by(ErrorEntry.category, Scan.project_id)
        ).all()
    )


def _streaks(s: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Failures in a row up to `end` of every project failing in the period: its failing scans
    since its last Completed one (Stopped scans neither count nor break a streak).

    Two correlated lookups per failing project, both on `ix_scans_project_created`, so the
    cost follows the failing projects' history, not the whole table.
    """
    failing = select(Scan.project_id).where(*_in_period(start, end)).distinct().subquery("f")
    ok, bad = aliased(Scan, name="ok"), aliased(Scan, name="bad")
    last_ok = (
        select(func.max(ok.created_at))
        .where(
            ok.project_id == failing.c.project_id,
            ok.status == ScanStatus.COMPLETED.value,
            ok.finished_at < end,
        )
        .correlate_except(ok)
        .scalar_subquery()
    )
    streak = (
        select(func.count())
        .select_from(bad)
        .where(
            bad.project_id == failing.c.project_id,
            bad.status.in_(FAILING),
            bad.finished_at < end,
            bad.created_at > func.coalesce(last_ok, literal(EPOCH, UtcDateTime())),
        )
        .correlate_except(bad)
        .scalar_subquery()
    )
    return {pid: int(n) for pid, n in s.execute(select(failing.c.project_id, streak)).all()}


def _credential_rows(s: Session, start: datetime, end: datetime) -> list:
    return list(
        s.execute(
            select(Scan.connector_id, func.count(distinct(Scan.id)), func.min(Scan.finished_at))
            .join(ErrorEntry, ErrorEntry.scan_id == Scan.id)
            .where(
                *_in_period(start, end), ErrorEntry.category == ErrorCategory.INVALID_CREDENTIALS
            )
            .group_by(Scan.connector_id)
        ).all()
    )


def compute_digest(
    s: Session,
    start: datetime,
    end: datetime,
    policy: SupportPolicy | None = None,
    *,
    schedule_label: str = "",
    on_demand: bool = False,
) -> DigestData:
    """The digest of scans that finished in [start, end), and the change against the period of
    equal length before it."""
    policy = policy or SupportPolicy()
    prev_start = start - (end - start)
    counts = _counts(s, prev_start, start, end)
    current, previous = _period(counts[True]), _period(counts[False])

    projects = _failing_projects(s, start, end)
    by_category: dict[int, Counter[ErrorCategory]] = defaultdict(Counter)
    cause_scans: Counter[ErrorCategory] = Counter()
    cause_projects: dict[ErrorCategory, list[tuple[int, int]]] = defaultdict(list)
    for category, project_id, n in _categories(s, start, end):
        cat = ErrorCategory(category)
        by_category[project_id][cat] += int(n)
        cause_scans[cat] += int(n)
        cause_projects[cat].append((project_id, int(n)))

    streaks = _streaks(s, start, end)

    rows: list[DigestProject] = []
    names: dict[int, str] = {}
    for pid, name, connector_id, n, latest_id, status, message, last_id, last_status in projects:
        names[pid] = name
        categories = sorted(
            by_category.get(pid, {}), key=lambda c: (-by_category[pid][c], _CATEGORY_ORDER[c])
        )
        recovered = (
            last_status == ScanStatus.COMPLETED.value
            and last_id is not None
            and last_id > latest_id
        )
        rows.append(
            DigestProject(
                project_id=pid,
                name=name,
                connector_id=connector_id,
                failures=int(n),
                latest_scan_id=latest_id,
                latest_status=ScanStatus(status),
                status_message=message or "",
                streak=max(1, streaks.get(pid, 0)),
                categories=tuple(categories),
                recovered=recovered,
            )
        )
    rows.sort(key=lambda p: (p.recovered, -p.streak, -p.failures, p.name))

    causes = [
        CauseGroup(
            category=cat,
            scans=cause_scans[cat],
            project_names=tuple(
                names[pid]
                for pid, _ in sorted(
                    cause_projects[cat], key=lambda t: (-t[1], names.get(t[0], ""))
                )
                if pid in names
            ),
        )
        for cat in sorted(cause_scans, key=lambda c: (-cause_scans[c], _CATEGORY_ORDER[c]))
    ]

    credentials = _credentials(s, start, end, policy)
    support = _support_cases(rows, credentials, policy)
    return DigestData(
        period_start=start,
        period_end=end,
        current=current,
        previous=previous,
        causes=tuple(causes),
        projects=tuple(rows),
        credentials=tuple(credentials),
        support=tuple(support),
        schedule_label=schedule_label,
        on_demand=on_demand,
    )


def _credentials(
    s: Session, start: datetime, end: datetime, policy: SupportPolicy
) -> list[CredentialProblem]:
    failing = {cid: (int(n), first) for cid, n, first in _credential_rows(s, start, end)}
    connectors = s.execute(
        select(
            Connector.id,
            Connector.name,
            Connector.provider,
            Connector.created_at,
        ).where(
            Connector.deleted_at.is_(None),
            Connector.id.in_(list(failing)) | Connector.last_validation_ok.is_(False),
        )
    ).all()
    if not connectors:
        return []
    ids = [c[0] for c in connectors]
    users: dict[int, list[str]] = defaultdict(list)
    for cid, name in s.execute(
        select(Project.connector_id, Project.name)
        .where(Project.connector_id.in_(ids))
        .order_by(Project.name)
    ).all():
        users[cid].append(name)
    problems = []
    for cid, name, provider, created_at in connectors:
        n, first_failure = failing.get(cid, (0, None))
        recent = (
            first_failure is not None
            and created_at is not None
            and first_failure - created_at < policy.new_connector_window
        )
        problems.append(
            CredentialProblem(
                connector_id=cid,
                name=name,
                provider=Provider(provider),
                projects=tuple(users.get(cid, ())),
                failing_scans=n,
                created_at=created_at,
                recently_created=bool(recent),
            )
        )
    problems.sort(key=lambda p: (not p.recently_created, -p.failing_scans, p.name))
    return problems


def _support_cases(
    projects: Sequence[DigestProject],
    credentials: Sequence[CredentialProblem],
    policy: SupportPolicy,
) -> list[SupportCase]:
    new_connectors = {c.connector_id for c in credentials if c.recently_created}
    cases = []
    for p in projects:
        if p.recovered:
            continue
        if p.connector_id in new_connectors and ErrorCategory.INVALID_CREDENTIALS in p.categories:
            reason = SupportReason.NEW_CONNECTOR_AUTH
            detail = "its connector was created recently and is still rejected"
        elif p.streak >= policy.failure_streak:
            reason = SupportReason.REPEATED_FAILURES
            detail = f"failed {p.streak} times in a row"
        elif ErrorCategory.UNKNOWN in p.categories:
            reason = SupportReason.UNKNOWN_ERRORS
            detail = f"{p.failures} failing scan(s) with errors the scanner could not classify"
        else:
            continue
        cases.append(
            SupportCase(
                project_id=p.project_id,
                project_name=p.name,
                reason=reason,
                detail=detail,
                scan_id=p.latest_scan_id,
                connector_id=p.connector_id,
            )
        )
    return cases
