"""The records services return and views render: plain data, defined once.

The services fill these from storage; the builders (`bot.views`) only read them. They are
frozen, hold no ORM objects and no secrets, and every text in them is already redacted (error
messages and details go through `bot.redaction` before they are stored). Times are timezone-aware
datetimes (naive ones are taken as UTC); the builders never read the clock.

Ids are database ids (ints). Sequences may be lists or tuples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from bot.domain import CloudError, ErrorCategory, JobStatus, Provider, ScanStatus, Severity

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list.

    items: the rows on this page only.
    page: 0-based page number.
    total_pages: number of pages (at least 1, also for an empty list).
    total_items: number of rows over all pages.
    """

    items: Sequence[T]
    page: int = 0
    total_pages: int = 1
    total_items: int = 0

    @classmethod
    def of(cls, all_items: Sequence[T], page: int, page_size: int) -> Page[T]:
        """Cut page `page` (clamped into range) of `page_size` rows out of `all_items`."""
        total_pages = max(1, math.ceil(len(all_items) / page_size))
        page = min(max(page, 0), total_pages - 1)
        start = page * page_size
        return cls(
            items=list(all_items[start : start + page_size]),
            page=page,
            total_pages=total_pages,
            total_items=len(all_items),
        )

    @property
    def has_prev(self) -> bool:
        """True if there is a page before this one."""
        return self.page > 0

    @property
    def has_next(self) -> bool:
        """True if there is a page after this one."""
        return self.page < self.total_pages - 1


@dataclass(frozen=True)
class JobRow:
    """One job of a scan, as listed when a projects row is expanded.

    unit: the scope unit ("us-east-1", "global", an Azure subscription id, a GCP project id).
    status: the job's state.
    message: one-line redacted reason when it failed ("" otherwise).
    category: the error category when it failed.
    """

    unit: str
    status: JobStatus
    message: str = ""
    category: ErrorCategory | None = None


@dataclass(frozen=True)
class ProjectRow:
    """One row of the projects list (and of the failing projects on App Home).

    project_id, name: the project.
    provider, connector_name: the cloud and the connector it scans through.
    status: status of the latest scan; None if the project was never scanned.
    status_message: the tooltip, e.g. "2 of 5 jobs failed: authentication failed".
    last_scan_id: id of the latest scan (None if never scanned).
    last_scan_at: when it started (or was queued).
    jobs: the latest scan's jobs; given only for rows the user expanded (None = collapsed).
    """

    project_id: int
    name: str
    provider: Provider
    connector_name: str
    status: ScanStatus | None = None
    status_message: str = ""
    last_scan_id: int | None = None
    last_scan_at: datetime | None = None
    jobs: Sequence[JobRow] | None = None

    @property
    def expanded(self) -> bool:
        """True if the row shows its jobs."""
        return self.jobs is not None


@dataclass(frozen=True)
class ProjectInfo:
    """A project and its newest scan (history header, findings, error log, CLI lists).

    project_id, name, provider, connector_name: as in ProjectRow.
    connector_id: the connector it scans through; scope, check_ids: what it scans (empty:
    everything reachable / every check); alert_channel: where failure alerts go;
    schedule_cron, schedule_tz: its scan schedule (None: not scheduled).
    last_scan_id, last_status, last_status_message, last_scan_at: its newest scan (None /
    "Never scanned" if it never ran).
    owner: the Slack user (``U…``) or user group (``S…``) its alerts mention (None: the
    default mention).
    """

    project_id: int
    name: str
    provider: Provider
    connector_name: str = ""
    connector_id: int | None = None
    scope: tuple[str, ...] = ()
    check_ids: tuple[str, ...] = ()
    alert_channel: str | None = None
    schedule_cron: str | None = None
    schedule_tz: str | None = None
    last_scan_id: int | None = None
    last_status: ScanStatus | None = None
    last_status_message: str = "Never scanned"
    last_scan_at: datetime | None = None
    owner: str | None = None


@dataclass(frozen=True)
class ScanRow:
    """One scan, as a history row, in headers, in the CLI and in API answers.

    scan_id, project_id: the scan and its project.
    status: its status; status_message the one-line explanation.
    trigger: how it started: "manual", "schedule", "rerun", "retry" or "cli" (others shown
        as-is).
    requested_by: who started it as recorded ("slack:U123", "cli:alice", "scheduler", or a
        bare Slack user id); the builders turn Slack users into mentions.
    started_at / finished_at: None while queued / running.
    queued_at: when it was created.
    jobs_ok / jobs_failed / jobs_total: job counts (failed includes interrupted jobs).
    project_name, connector_id, provider: what it scanned through ("" / None when unknown).
    stopped_by: who asked it to stop, if anyone.
    """

    scan_id: int
    project_id: int
    status: ScanStatus
    trigger: str = "manual"
    requested_by: str | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    jobs_ok: int = 0
    jobs_failed: int = 0
    jobs_total: int = 0
    status_message: str = ""
    project_name: str = ""
    connector_id: int | None = None
    provider: Provider | None = None
    stopped_by: str | None = None

    @property
    def jobs_done(self) -> int:
        """Jobs that finished either way."""
        return self.jobs_ok + self.jobs_failed


@dataclass(frozen=True)
class HistoryData:
    """A project's scan history.

    project: the project; scans: one page of its scans, newest first.
    """

    project: ProjectInfo
    scans: Page[ScanRow]


@dataclass(frozen=True)
class ErrorEntryView:
    """One error-log entry (one failed job).

    entry_id: the entry; job_unit: the job's unit ("eu-west-1").
    category: decides the next step; code: the provider's code ("InvalidClientTokenId").
    message: redacted one line; detail: redacted, may be long (the provider's full message).
    remediation: one sentence telling the user what to do.
    at: when it happened.
    connector_id: the connector used (for Fix credentials).
    missing_permission: for permission_denied, the permission(s) the cloud named as missing,
        if it did (e.g. "ec2:DescribeRegions").
    check_id: the check that failed, when one check (not the whole job) failed.
    """

    entry_id: int
    job_unit: str
    category: ErrorCategory
    code: str
    message: str
    detail: str = ""
    remediation: str = ""
    at: datetime | None = None
    connector_id: int | None = None
    missing_permission: str | None = None
    check_id: str | None = None


@dataclass(frozen=True)
class ErrorLogData:
    """What the error log modal shows.

    project: the scanned project; scan: the scan; entries: its error-log entries, oldest first
    (empty unless the scan is Partially Completed or Failed).
    """

    project: ProjectInfo
    scan: ScanRow
    entries: Sequence[ErrorEntryView] = ()


@dataclass(frozen=True)
class ConnectorInfo:
    """A connector as every front end shows it (never a secret).

    connector_id, name, provider: the connector.
    fingerprint: masked key id / client id / client e-mail, e.g. "AKIA…WXYZ".
    account_id: the account reached (AWS account id, Azure tenant, GCP project); "" if unknown.
    account_label: the identity validated (e.g. the AWS ARN); "" if unknown.
    projects: names of the projects that use it (in a list: the first ones only).
    last_validated_at: when it was last validated; last_validation_ok: the outcome (None if
        never validated); last_error: the classified, redacted error of a failed validation
        (category, provider code, message, missing permissions, next step).
    created_by: who created it, as recorded ("slack:U123", "cli:alice" or a Slack user id);
    created_at: when it was created.
    project_count: how many projects use it (None: as many as `projects` names).
    deleted: True for a tombstone (replaced or deleted; its secret is destroyed).
    """

    connector_id: int
    name: str
    provider: Provider
    fingerprint: str = ""
    account_id: str = ""
    projects: Sequence[str] = ()
    last_validated_at: datetime | None = None
    last_validation_ok: bool | None = None
    last_error: CloudError | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    project_count: int | None = None
    account_label: str = ""
    deleted: bool = False

    @property
    def projects_total(self) -> int:
        """How many projects use it."""
        return len(self.projects) if self.project_count is None else self.project_count

    @property
    def needs_attention(self) -> bool:
        """True if its last validation failed."""
        return self.last_validation_ok is False


@dataclass(frozen=True)
class DiscoveredProject:
    """One project discovery created or found for an account of a connector.

    name, project_id: the project; target_id, target_name: the account (AWS account id,
    Azure subscription id, GCP project id) and its name in the cloud; change: "created",
    "updated" (its target changed, e.g. another member role) or "unchanged"."""

    project_id: int
    name: str
    target_id: str
    target_name: str
    change: str


@dataclass(frozen=True)
class DiscoveryResult:
    """What `connector discover` did: one project per account found, by account id."""

    connector: ConnectorInfo
    projects: tuple[DiscoveredProject, ...] = ()

    def count(self, change: str) -> int:
        """How many projects were `change` ("created", "updated", "unchanged")."""
        return sum(1 for p in self.projects if p.change == change)


@dataclass(frozen=True)
class ReplaceOutcome:
    """A successful replacement.

    old_name: the replaced connector (now tombstoned, its secret destroyed).
    connector: the new connector.
    projects: the projects now pointed at it.
    """

    old_name: str
    connector: ConnectorInfo
    projects: Sequence[str] = ()


@dataclass(frozen=True)
class ValidationFailure:
    """New credentials the cloud rejected: nothing was created or deleted.

    connector_name: the connector being replaced, or the name typed for a new one.
    provider: the cloud; error: the classified, redacted error; attempts: failed tries so far.
    """

    connector_name: str
    provider: Provider
    error: CloudError
    attempts: int = 1


@dataclass(frozen=True)
class FailingFinding:
    """One failing check on one resource.

    check_id, title, severity: the check; resource: the resource id/ARN; region: "" if global;
    detail: the check's one-line explanation ("" if none).
    """

    check_id: str
    title: str
    severity: Severity
    resource: str
    region: str = ""
    detail: str = ""


@dataclass(frozen=True)
class FindingsSummary:
    """Findings of one scan.

    scan_id, project_name, status, finished_at: the scan.
    failed_counts: failing findings per severity (missing severities count 0).
    passed: number of passing findings.
    failing: the failing findings, most severe first (the builder truncates).
    """

    scan_id: int
    project_name: str
    status: ScanStatus
    finished_at: datetime | None = None
    failed_counts: Mapping[Severity, int] = field(default_factory=dict)
    passed: int = 0
    failing: Sequence[FailingFinding] = ()


@dataclass(frozen=True)
class FindingItem:
    """One finding of a scan, as the findings exports and the paged findings view show it.

    finding_id: its row; check_id, title, severity: the check; passed: its verdict;
    resource, region ("" if global), detail: what it judged; controls: the check's benchmark
    control ids by framework (``{"cis-aws-3.0": ("1.4",)}``); muted_until: when the mute of
    this (check, resource, region) in the project expires (None: not muted).
    """

    finding_id: int
    check_id: str
    title: str
    severity: Severity
    passed: bool
    resource: str
    region: str = ""
    detail: str = ""
    controls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    muted_until: datetime | None = None

    @property
    def control_ids(self) -> tuple[str, ...]:
        """``("cis-aws-3.0 1.4", …)``: every benchmark control, framework first."""
        return tuple(f"{fw} {c}" for fw, ids in sorted(self.controls.items()) for c in ids)


@dataclass(frozen=True)
class FindingsPage:
    """One page of a scan's failing findings, most severe first (muted ones marked).

    scan: the scan; failed_counts: failing findings per severity with muted ones left out;
    muted: how many failing findings are muted; passed: passing findings;
    findings: the page (its total_items counts muted findings too).
    """

    scan: ScanRow
    failed_counts: Mapping[Severity, int]
    muted: int
    passed: int
    findings: Page[FindingItem]


@dataclass(frozen=True)
class SupportBundle:
    """The redacted error bundle a support request carries.

    scan_id, project_name, status, status_message, started_at, finished_at: the scan.
    connector_name, provider, account_id: what it scanned through.
    entries: its error-log entries; reruns: how many times it was retried/re-run.
    """

    scan_id: int | None
    project_name: str
    provider: Provider
    connector_name: str = ""
    account_id: str = ""
    status: ScanStatus | None = None
    status_message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    entries: Sequence[ErrorEntryView] = ()
    reruns: int = 0


@dataclass(frozen=True)
class SupportTicket:
    """A submitted support request, as posted to the support channel.

    reference_id: the id the user quotes; requested_by: Slack user id.
    description: what the user wrote; details: the (re-redacted) bundle text they sent.
    project_name, scan_id: for the headline.
    """

    reference_id: str
    requested_by: str
    description: str
    details: str
    project_name: str = ""
    scan_id: int | None = None


@dataclass(frozen=True)
class HomeData:
    """The App Home dashboard.

    status_counts: number of projects per latest-scan status (None = never scanned).
    failing: Failed / Partially Completed projects, most recent first (the builder truncates).
    attention: connectors whose last validation failed (the first ones).
    attention_total: how many there are in all (None: as many as `attention` lists).
    running: scans queued or running now.
    as_of: when the data was read (shown; the builder does not read the clock).
    """

    status_counts: Mapping[ScanStatus | None, int] = field(default_factory=dict)
    failing: Sequence[ProjectRow] = ()
    attention: Sequence[ConnectorInfo] = ()
    attention_total: int | None = None
    running: int = 0
    as_of: datetime | None = None

    @property
    def total_projects(self) -> int:
        """Every project, whatever its status."""
        return sum(self.status_counts.values())
