"""Read-only queries that fill the builders' view models (`bot.views.models`).

Everything goes through the services (or, where a service has no such read, a read-only
session on the repositories); nothing here writes. Actor names stored by the services
(``slack:U123``) become Slack user ids for the builders to mention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.codec import SupportRef
from bot.domain import ErrorCategory, JobStatus, ScanStatus
from bot.errors import NotFoundError
from bot.runtime import Runtime
from bot.services.connectors import ConnectorInfo as ServiceConnector
from bot.services.projects import ProjectInfo as ServiceProject
from bot.services.scans import ErrorInfo, ScanInfo
from bot.views import connectors as connectors_view
from bot.views import history as history_view
from bot.views import home as home_view
from bot.views import projects as projects_view
from bot.views.models import (
    ConnectorInfo,
    ErrorEntryView,
    ErrorLogData,
    FailingFinding,
    FindingsSummary,
    HistoryData,
    HomeData,
    JobRow,
    Page,
    ProjectInfo,
    ProjectRow,
    ScanProgress,
    ScanRow,
    SupportBundle,
)
from storage.models import Scan

SCAN_ID_RE = re.compile(r"^#?(\d{1,18})$")
_PERMISSION_RE = re.compile(r"\b([a-z0-9-]+:[A-Za-z0-9*]+)\b")
HOME_FAILING_MAX = 30
FINDINGS_LIMIT = 200
RERUN_WINDOW = timedelta(days=7)
"""Re-runs of a project counted in a support bundle: from this long before the scan on."""


def slack_user(actor: str | None) -> str | None:
    """``slack:U123`` → ``U123``; other actors (``cli:alice``) as they are."""
    if not actor:
        return None
    return actor.removeprefix("slack:")


def _page_count(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def scan_row(scan: ScanInfo) -> ScanRow:
    """A service `ScanInfo` as the builders' `ScanRow`."""
    return ScanRow(
        scan_id=scan.id,
        project_id=scan.project_id,
        status=scan.status,
        trigger=scan.trigger,
        requested_by=None if scan.trigger == "schedule" else slack_user(scan.requested_by),
        queued_at=scan.created_at,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        jobs_ok=scan.jobs_ok,
        jobs_failed=scan.jobs_failed,
        jobs_total=scan.jobs_total,
        status_message=scan.status_message,
    )


def connector_view(c: ServiceConnector) -> ConnectorInfo:
    """A service `ConnectorInfo` as the builders' `ConnectorInfo`."""
    return ConnectorInfo(
        connector_id=c.id,
        name=c.name,
        provider=c.provider,
        fingerprint=c.fingerprint,
        account_id=c.account_id,
        projects=c.projects,
        project_count=c.project_count,
        last_validated_at=c.last_validated_at,
        last_validation_ok=c.last_validation_ok,
        last_error=c.last_validation_error,
        created_by=slack_user(c.created_by),
        created_at=c.created_at,
    )


def project_row(p: ServiceProject, jobs: Sequence[JobRow] | None = None) -> ProjectRow:
    """A service `ProjectInfo` as a projects-list row (expanded when `jobs` is given)."""
    return ProjectRow(
        project_id=p.id,
        name=p.name,
        provider=p.provider,
        connector_name=p.connector_name,
        status=p.last_status,
        status_message=p.last_status_message if p.last_status else "",
        last_scan_id=p.last_scan_id,
        last_scan_at=p.last_scan_at,
        jobs=jobs,
    )


def _project_info(p: ServiceProject) -> ProjectInfo:
    return ProjectInfo(p.id, p.name, p.provider, p.connector_name)


def _entry(e: ErrorInfo, connector_id: int | None) -> ErrorEntryView:
    missing = None
    if e.category is ErrorCategory.PERMISSION_DENIED:
        found = _PERMISSION_RE.search(e.message)
        missing = found.group(1) if found else None
    return ErrorEntryView(
        entry_id=e.id,
        job_unit=e.unit,
        category=e.category,
        code=e.code,
        message=e.message,
        detail=e.detail,
        remediation=e.remediation,
        at=e.at,
        connector_id=connector_id,
        missing_permission=missing,
    )


class Queries:
    """The reads every Slack surface needs."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # --- references ------------------------------------------------------------------------
    def scan_id(self, ref: str) -> int:
        """A scan id from ``#12`` / ``12``, or a project name meaning its latest scan."""
        found = SCAN_ID_RE.match(ref.strip())
        if found:
            scan_id = int(found.group(1))
            self.rt.scans.get(scan_id)  # NotFoundError when it does not exist
            return scan_id
        project = self.rt.projects.get(ref)
        if project.last_scan_id is None:
            raise NotFoundError(f"Project {project.name!r} has never been scanned.")
        return project.last_scan_id

    def latest_scan_id(self, project_id: int) -> int:
        """The latest scan of a project (NotFoundError if never scanned)."""
        project = self.rt.projects.get(project_id)
        if project.last_scan_id is None:
            raise NotFoundError(f"Project {project.name!r} has never been scanned.")
        return project.last_scan_id

    def _live_connector_id(self, connector_id: int) -> int | None:
        try:
            return self.rt.connectors.get(connector_id).id
        except NotFoundError:
            return None

    # --- projects --------------------------------------------------------------------------
    def _jobs(self, scan_id: int) -> list[JobRow]:
        categories: dict[str, ErrorCategory] = {}
        for e in self.rt.scans.errors(scan_id):
            categories.setdefault(e.unit, e.category)
        return [
            JobRow(
                j.unit,
                j.status,
                "" if j.status is JobStatus.SUCCEEDED else j.message,
                categories.get(j.unit),
            )
            for j in self.rt.scans.jobs(scan_id)
        ]

    def projects_page(
        self,
        status: ScanStatus | None = None,
        page: int = 0,
        expanded: frozenset[int] = frozenset(),
        per_page: int = projects_view.PAGE_SIZE,
    ) -> Page[ProjectRow]:
        """One page of the projects list; rows in `expanded` carry their latest jobs."""
        items, total = self.rt.projects.page(status, page=max(0, page), per_page=per_page)
        pages = _page_count(total, per_page)
        if page >= pages and total:
            page = pages - 1
            items, total = self.rt.projects.page(status, page=page, per_page=per_page)
        rows = [
            project_row(
                p,
                self._jobs(p.last_scan_id)
                if p.id in expanded and p.last_scan_id is not None
                else None,
            )
            for p in items
        ]
        return Page(rows, max(0, min(page, pages - 1)), pages, total)

    # --- history, error log, findings ------------------------------------------------------
    def history(self, project_ref: str | int, page: int = 0) -> HistoryData:
        """A project's history, one page (newest first)."""
        project = self.rt.projects.get(project_ref)
        per_page = history_view.PAGE_SIZE
        scans, total = self.rt.scans.history(project.id, page=max(0, page), per_page=per_page)
        pages = _page_count(total, per_page)
        if page >= pages and total:
            page = pages - 1
            scans, total = self.rt.scans.history(project.id, page=page, per_page=per_page)
        return HistoryData(
            _project_info(project),
            Page([scan_row(s) for s in scans], max(0, min(page, pages - 1)), pages, total),
        )

    def error_log(self, scan_id: int) -> ErrorLogData:
        """A scan's error log with the connector to fix (if it still exists)."""
        scan = self.rt.scans.get(scan_id)
        project = self.rt.projects.get(scan.project_id)
        connector_id = self._live_connector_id(scan.connector_id)
        entries = [_entry(e, connector_id) for e in self.rt.scans.errors(scan.id)]
        return ErrorLogData(_project_info(project), scan_row(scan), entries)

    def findings(self, scan_id: int) -> FindingsSummary:
        """Failing findings of a scan by severity."""
        report = self.rt.scans.findings(scan_id, limit=FINDINGS_LIMIT)
        scan = report.scan
        return FindingsSummary(
            scan_id=scan.id,
            project_name=scan.project_name,
            status=scan.status,
            finished_at=scan.finished_at,
            failed_counts=report.failed_by_severity,
            passed=report.passed,
            failing=[
                FailingFinding(f.check_id, f.title, f.severity, f.resource, f.region)
                for f in report.failing
            ],
        )

    # --- connectors ------------------------------------------------------------------------
    def connectors_page(
        self, page: int = 0, per_page: int = connectors_view.PAGE_SIZE
    ) -> Page[ConnectorInfo]:
        """One page of the live connectors (only that page is read)."""
        items, total = self.rt.connectors.page(page, per_page)
        pages = _page_count(total, per_page)
        if page > pages - 1:  # a stale Next button after deletions: show the last page
            items, total = self.rt.connectors.page(pages - 1, per_page)
        return Page(
            items=[connector_view(c) for c in items],
            page=min(page, pages - 1),
            total_pages=pages,
            total_items=total,
        )

    def connector(self, connector_id: int) -> ConnectorInfo:
        """One live connector."""
        return connector_view(self.rt.connectors.get(connector_id))

    # --- progress, alerts, support ---------------------------------------------------------
    def scan_progress(self, scan_id: int) -> ScanProgress:
        """A scan's live progress."""
        s = self.rt.scans.get(scan_id)
        return ScanProgress(
            scan_id=s.id,
            project_id=s.project_id,
            project_name=s.project_name,
            status=s.status,
            jobs_total=s.jobs_total,
            jobs_succeeded=s.jobs_ok,
            jobs_failed=s.jobs_failed,
            started_at=s.started_at,
            finished_at=s.finished_at,
            requested_by=None if s.trigger == "schedule" else slack_user(s.requested_by),
            status_message=s.status_message,
        )

    def _reruns(self, project_id: int, since: datetime) -> int:
        with self.rt.db.read() as s:
            return int(
                s.scalar(
                    select(func.count(Scan.id)).where(
                        Scan.project_id == project_id,
                        Scan.trigger.in_(("rerun", "retry")),
                        Scan.created_at >= since,
                    )
                )
                or 0
            )

    def support_bundle(self, ref: SupportRef) -> SupportBundle:
        """The redacted bundle a support request carries (chosen entry first)."""
        if ref.scan_id is None:
            if ref.connector_id is None:
                raise NotFoundError("There is nothing to report: no scan or connector given.")
            c = self.rt.connectors.get(ref.connector_id)
            return SupportBundle(
                scan_id=None,
                project_name=f"connector {c.name}",
                provider=c.provider,
                connector_name=c.name,
                account_id=c.account_id,
            )
        scan = self.rt.scans.get(ref.scan_id)
        connector_id = self._live_connector_id(scan.connector_id)
        entries = [_entry(e, connector_id) for e in self.rt.scans.errors(scan.id)]
        if ref.entry_id is not None:
            entries.sort(key=lambda e: e.entry_id != ref.entry_id)
        connector_name, account = "", ""
        if connector_id is not None:
            c = self.rt.connectors.get(connector_id)
            connector_name, account = c.name, c.account_id
        return SupportBundle(
            scan_id=scan.id,
            project_name=scan.project_name,
            provider=scan.provider,
            connector_name=connector_name,
            account_id=account,
            status=scan.status,
            status_message=scan.status_message,
            started_at=scan.started_at,
            finished_at=scan.finished_at,
            entries=entries,
            reruns=self._reruns(scan.project_id, scan.created_at - RERUN_WINDOW),
        )

    # --- home ------------------------------------------------------------------------------
    def home(self, as_of: datetime) -> HomeData:
        """The App Home dashboard data."""
        counts = self.rt.projects.status_counts()
        failing: list[ProjectRow] = []
        for status in (ScanStatus.FAILED, ScanStatus.PARTIALLY_COMPLETED):
            items, _ = self.rt.projects.page(status, page=0, per_page=HOME_FAILING_MAX)
            failing += [project_row(p) for p in items]
        failing.sort(key=lambda r: r.last_scan_at or as_of, reverse=True)
        attention, attention_total = self.rt.connectors.page(
            0, home_view.ATTENTION_MAX, failing_only=True
        )
        running = counts.get(ScanStatus.RUNNING, 0) + counts.get(ScanStatus.QUEUED, 0)
        return HomeData(
            status_counts=counts,
            failing=failing,
            attention=[connector_view(c) for c in attention],
            attention_total=attention_total,
            running=running,
            as_of=as_of,
        )
