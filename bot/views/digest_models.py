"""Plain data for the failure digest and the failure alert builders.

The scheduled digest and the incident alert carry causes, credential problems, support
cases, the previous period, the incident's state, retries and a mention.
Like every view model: no ORM objects, no secrets, text already redacted, aware datetimes,
and the builders never read the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain import ErrorCategory, Provider, ScanStatus
from bot.records import ErrorEntryView, ProjectInfo, ScanRow


class SupportReason(StrEnum):
    """Why a project needs support (when a user should contact support)."""

    NEW_CONNECTOR_AUTH = "new_connector_auth"  # a freshly created connector fails authentication
    REPEATED_FAILURES = "repeated_failures"  # failing again and again, retries included
    UNKNOWN_ERRORS = "unknown_errors"  # the logs show unknown processing errors


@dataclass(frozen=True)
class SupportCase:
    """A project flagged for support.

    detail: plain words, e.g. "failed 4 times in a row" (escaped by the builder).
    scan_id / connector_id: what the Contact support button carries.
    """

    project_id: int
    project_name: str
    reason: SupportReason
    detail: str
    scan_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True)
class PeriodCounts:
    """Scans that finished in a period, and the projects failing at its end.

    scans: all finished scans; failed / partial: those Failed / Partially Completed;
    failing_projects: projects whose newest scan at the end of the period had failed
    (recovered ones are not counted).
    """

    scans: int = 0
    failed: int = 0
    partial: int = 0
    failing_projects: int = 0


@dataclass(frozen=True)
class CauseGroup:
    """Failing scans of the period with one error category.

    scans: failing scans with at least one error of this category.
    project_names: the projects concerned, most affected first (the builder truncates).
    """

    category: ErrorCategory
    scans: int
    project_names: Sequence[str] = ()


@dataclass(frozen=True)
class DigestProject:
    """One project that failed in the period.

    failures: its Failed + Partially Completed scans in the period.
    latest_scan_id / latest_status / status_message: its newest failing scan in the period.
    streak: failures in a row up to the end of the period (scans a person or a schedule
    started; automatic retries are not counted).
    categories: error categories seen in the period, most frequent first.
    recovered: its newest scan overall completed after the failures.
    failing_since: the end of the first failing scan of its current run of failures.
    recovered_at: when the scan that recovered it finished.
    """

    project_id: int
    name: str
    connector_id: int
    failures: int
    latest_scan_id: int
    latest_status: ScanStatus
    status_message: str = ""
    streak: int = 1
    categories: Sequence[ErrorCategory] = ()
    recovered: bool = False
    failing_since: datetime | None = None
    recovered_at: datetime | None = None
    alert_link: str | None = None


@dataclass(frozen=True)
class CredentialProblem:
    """A live connector whose credentials are rejected (invalid_credentials in the period, or
    a failed validation).

    projects: names of the projects using it; failing_scans: its scans that failed to
    authenticate in the period; recently_created: it is younger than the support threshold.
    """

    connector_id: int
    name: str
    provider: Provider
    projects: Sequence[str] = ()
    failing_scans: int = 0
    created_at: datetime | None = None
    recently_created: bool = False


@dataclass(frozen=True)
class DigestTrends:
    """One value per day for the last days up to the end of the period, oldest first.

    failing_projects: projects failing at the end of each day; failed / partial / scans:
    scans that finished that day (Failed, Partially Completed, all).
    """

    failing_projects: Sequence[int] = ()
    failed: Sequence[int] = ()
    partial: Sequence[int] = ()
    scans: Sequence[int] = ()


@dataclass(frozen=True)
class DigestData:
    """One failure digest: the period since the last digest and what failed in it.

    period_start / period_end: the window; previous: the same counts for the window of equal
    length before it (None when unknown); schedule_label: e.g. "Daily at 09:00 (UTC)";
    on_demand: asked for with `/cspm digest now` rather than sent on schedule;
    trends: the daily values of the headline figures (None: not computed).
    """

    period_start: datetime
    period_end: datetime
    current: PeriodCounts = PeriodCounts()
    previous: PeriodCounts | None = None
    causes: Sequence[CauseGroup] = ()
    projects: Sequence[DigestProject] = ()
    credentials: Sequence[CredentialProblem] = ()
    support: Sequence[SupportCase] = ()
    schedule_label: str = ""
    on_demand: bool = False
    trends: DigestTrends | None = None

    @property
    def still_failing(self) -> tuple[DigestProject, ...]:
        """The projects failing at the end of the period."""
        return tuple(p for p in self.projects if not p.recovered)

    @property
    def recovered(self) -> tuple[DigestProject, ...]:
        """The projects that failed in the period and have recovered since."""
        return tuple(p for p in self.projects if p.recovered)

    @property
    def is_empty(self) -> bool:
        """Nothing to report: no failures, no broken credentials, no support cases."""
        return not (self.projects or self.credentials or self.support)


class AlertState(StrEnum):
    """Where an incident stands."""

    OPEN = "open"  # the first failure: a new alert
    FAILING = "failing"  # failing again: the alert is updated and the thread told
    RECOVERED = "recovered"  # a scan completed: the alert is updated and the incident closed


@dataclass(frozen=True)
class RetryNotice:
    """An automatic retry that is scheduled: attempt n of max at a time."""

    attempt: int
    max_attempts: int
    at: datetime


@dataclass(frozen=True)
class AlertData:
    """A project's failure incident, as its one alert message shows it.

    scan: the newest scan of the incident; top_error: its most telling error entry.
    categories: error categories of that scan; failures: failing scans in the incident;
    opened_at / first_scan_id: when and with which scan the incident started.
    connector_id: the project's connector (Fix credentials); support: open support cases.
    retry: the scheduled automatic retry, if any (nobody is mentioned while one is pending);
    retries_exhausted: the cap was reached.
    mention: who to ping, ``<@U…>`` or ``<!subteam^S…>`` (already checked); None: nobody.
    account_id: the cloud account the connector reaches; missing_permissions: every
    permission the scan's errors name; digest_link: the latest digest that listed the project.
    routed: this copy goes to a channel subscribed to ``failures`` (never with a mention);
    home_channel: the project's own alert channel, where its owner is paged (None: it has
    none).
    """

    project: ProjectInfo
    scan: ScanRow
    state: AlertState = AlertState.OPEN
    top_error: ErrorEntryView | None = None
    categories: Sequence[ErrorCategory] = ()
    failures: int = 1
    opened_at: datetime | None = None
    first_scan_id: int | None = None
    connector_id: int | None = None
    support: Sequence[SupportCase] = ()
    retry: RetryNotice | None = None
    retries_exhausted: bool = False
    mention: str | None = None
    account_id: str | None = None
    missing_permissions: Sequence[str] = ()
    digest_link: str | None = None
    routed: bool = False
    home_channel: str | None = None
