"""Computing a digest's data from a fixed number of aggregate queries.

Whatever the number of projects and scans, `compute_digest` runs the same grouped queries
(`storage.repositories.digests.DigestQueries`); this module only ranks and labels the grouped
rows. `bench/bench_digest.py` measures it over 5,000 projects and 200,000 scans.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain import ErrorCategory, Provider, ScanStatus
from bot.views.digest_models import (
    CauseGroup,
    CredentialProblem,
    DigestData,
    DigestProject,
    DigestTrends,
    PeriodCounts,
    SupportCase,
    SupportReason,
)
from storage.repositories import ConnectorRepo
from storage.repositories.alerts import IncidentRepo
from storage.repositories.digests import FAILING, FINISHED, DigestQueries, ProjectSlice

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["FAILING", "FINISHED", "SupportPolicy", "compute_digest", "streak_of"]

_CATEGORY_ORDER = {c: i for i, c in enumerate(ErrorCategory)}


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


TREND_DAYS = 14
"""Days of history in each headline figure's trend line."""


def _period(counter: Counter[str], failing_projects: int) -> PeriodCounts:
    return PeriodCounts(
        scans=sum(v for k, v in counter.items() if not k.startswith("_")),
        failed=counter.get(ScanStatus.FAILED.value, 0),
        partial=counter.get(ScanStatus.PARTIALLY_COMPLETED.value, 0),
        failing_projects=failing_projects,
    )


def _trends(
    queries: DigestQueries, start: datetime, end: datetime
) -> tuple[DigestTrends, int, int]:
    """The daily trends up to `end`, and the projects failing at `end` and at `start`."""
    days = [end - timedelta(days=TREND_DAYS - i) for i in range(TREND_DAYS + 1)]
    points = sorted({*days, start})
    failing = dict(zip(points, queries.failing_at(points), strict=True))
    per_day = queries.day_counts(days)
    trends = DigestTrends(
        failing_projects=tuple(failing[d] for d in days[1:]),
        failed=tuple(c[1] for c in per_day),
        partial=tuple(c[2] for c in per_day),
        scans=tuple(c[0] for c in per_day),
    )
    return trends, failing[end], failing[start]


def compute_digest(
    s: Session,
    start: datetime,
    end: datetime,
    policy: SupportPolicy | None = None,
    *,
    schedule_label: str = "",
    on_demand: bool = False,
    scope: Sequence[ProjectSlice] | None = None,
) -> DigestData:
    """The digest of scans that finished in [start, end), and the change against the period of
    equal length before it; with `scope`, of the projects in those slices only (every figure,
    cause, credential problem and support case)."""
    policy = policy or SupportPolicy()
    queries = DigestQueries(s, scope)
    prev_start = start - (end - start)
    counts = queries.counts(prev_start, start, end)
    trends, failing_now, failing_before = _trends(queries, start, end)
    current = _period(counts[True], failing_now)
    previous = _period(counts[False], failing_before)

    projects = queries.failing_projects(start, end)
    by_category: dict[int, Counter[ErrorCategory]] = defaultdict(Counter)
    cause_scans: Counter[ErrorCategory] = Counter()
    cause_projects: dict[ErrorCategory, list[tuple[int, int]]] = defaultdict(list)
    for category, project_id, n in queries.categories(start, end):
        cat = ErrorCategory(category)
        by_category[project_id][cat] += int(n)
        cause_scans[cat] += int(n)
        cause_projects[cat].append((project_id, int(n)))

    streaks = queries.streaks(start, end)
    alert_links = IncidentRepo(s).open_links([p[0] for p in projects])

    rows: list[DigestProject] = []
    names: dict[int, str] = {}
    for row in projects:
        pid, name, connector_id, n, latest_id, status, message, last_id, last_status, last_at = row
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
                streak=max(1, streaks.get(pid, (0, None))[0]),
                categories=tuple(categories),
                recovered=recovered,
                failing_since=streaks.get(pid, (0, None))[1],
                recovered_at=last_at if recovered else None,
                alert_link=alert_links.get(pid),
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

    credentials = _credentials(queries, s, start, end, policy)
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
        trends=trends,
        scope=tuple(scope or ()),
    )


def _credentials(
    queries: DigestQueries, s: Session, start: datetime, end: datetime, policy: SupportPolicy
) -> list[CredentialProblem]:
    failing = queries.credential_failures(start, end)
    connectors = queries.problem_connectors(list(failing))
    if not connectors:
        return []
    users = ConnectorRepo(s).project_names_by_connector([c[0] for c in connectors])
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
