"""The reads every Slack surface needs: delegations to the services, which return the records
the builders render (`bot.records`). Nothing here queries storage or converts records."""

from __future__ import annotations

from datetime import datetime

from bot.codec import SupportRef
from bot.domain import ScanStatus
from bot.records import (
    ConnectorInfo,
    ErrorLogData,
    FindingsPage,
    HistoryData,
    HomeData,
    Page,
    ProjectRow,
    ScanRow,
    SupportBundle,
)
from bot.runtime import Runtime
from bot.services.findings import FindingsService
from bot.views import connectors as connectors_view
from bot.views import findings as findings_view
from bot.views import history as history_view
from bot.views import home as home_view
from bot.views import projects as projects_view

HOME_FAILING_MAX = 30


class Queries:
    """The reads every Slack surface needs."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def scan_id(self, ref: str) -> int:
        """A scan id from ``#12`` / ``12``, or a project name meaning its latest scan."""
        return self.rt.scans.resolve(ref)

    def latest_scan_id(self, project_id: int) -> int:
        """The latest scan of a project (NotFoundError if never scanned)."""
        return self.rt.scans.resolve(project_id)

    def projects_page(
        self,
        status: ScanStatus | None = None,
        page: int = 0,
        expanded: frozenset[int] = frozenset(),
        per_page: int = projects_view.PAGE_SIZE,
    ) -> Page[ProjectRow]:
        """One page of the projects list; rows in `expanded` carry their latest jobs."""
        return self.rt.projects.rows(status, page, expanded, per_page)

    def history(self, project_ref: str | int, page: int = 0) -> HistoryData:
        """A project's history, one page (newest first)."""
        return self.rt.scans.history(project_ref, page, history_view.PAGE_SIZE)

    def error_log(self, scan_id: int) -> ErrorLogData:
        """A scan's error log with the connector to fix (if it still exists)."""
        return self.rt.scans.error_log(scan_id)

    def findings_page(self, scan_id: int, page: int = 0) -> FindingsPage:
        """One page of a scan's failing findings, most severe first (muted ones marked and
        left out of the counts)."""
        return FindingsService(self.rt.db).page(scan_id, page, findings_view.PAGE_SIZE)

    def connectors_page(
        self, page: int = 0, per_page: int = connectors_view.PAGE_SIZE
    ) -> Page[ConnectorInfo]:
        """One page of the live connectors (only that page is read)."""
        return self.rt.connectors.page(page, per_page)

    def connector(self, connector_id: int) -> ConnectorInfo:
        """One live connector."""
        return self.rt.connectors.get(connector_id)

    def scan_progress(self, scan_id: int) -> ScanRow:
        """A scan as its live progress message shows it."""
        return self.rt.scans.get(scan_id)

    def support_bundle(self, ref: SupportRef) -> SupportBundle:
        """The redacted bundle a support request carries (chosen entry first)."""
        return self.rt.scans.support_bundle(ref.scan_id, ref.connector_id, ref.entry_id)

    def home(self, as_of: datetime) -> HomeData:
        """The App Home dashboard data."""
        failing = [
            row
            for status in (ScanStatus.FAILED, ScanStatus.PARTIALLY_COMPLETED)
            for row in self.rt.projects.rows(status, 0, per_page=HOME_FAILING_MAX).items
        ]
        failing.sort(key=lambda r: r.last_scan_at or as_of, reverse=True)
        attention = self.rt.connectors.page(0, home_view.ATTENTION_MAX, failing_only=True)
        counts = self.rt.projects.status_counts()
        return HomeData(
            status_counts=counts,
            failing=failing,
            attention=attention.items,
            attention_total=attention.total_items,
            running=counts.get(ScanStatus.RUNNING, 0) + counts.get(ScanStatus.QUEUED, 0),
            as_of=as_of,
        )
