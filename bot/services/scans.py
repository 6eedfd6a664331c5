"""Scans: start (one active per project), stop, wait, status, history, error log, findings.

`ScanService.start` is the only way any front end (CLI, Slack, scheduler) starts a scan: it
queues the scan, lets the caller act on the queued scan (Slack posts its progress message
there, so no event is missed), then hands its id to the dispatcher (`bot.engine.dispatch`),
which has `ScanEngine.plan_scan` run in this process or on a worker. Waiting and stopping go
through the database, so they work wherever the scan runs.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import DB_ID_MAX, JobStatus, Provider, ScanStatus, Severity, looks_like_id, parse_id
from bot.engine.dispatch import JobDispatcher
from bot.engine.engine import ScanEngine
from bot.errors import ConflictError, NotFoundError
from bot.providers import check_by_id
from bot.records import (
    ErrorEntryView,
    ErrorLogData,
    FailingFinding,
    FindingsSummary,
    HistoryData,
    Page,
    ScanRow,
    SupportBundle,
)
from bot.services.mapping import error_entry, project_info, scan_row
from bot.services.projects import find_project
from storage.db import Database
from storage.models import Scan
from storage.repositories import AuditRepo, ConnectorRepo, ScanRepo

log = logging.getLogger(__name__)

TRIGGERS = ("manual", "schedule", "rerun", "cli", "retry")
RERUN_WINDOW = timedelta(days=7)
"""Re-runs of a project counted in a support bundle: from this long before the scan on."""

BeforeRun = Callable[[ScanRow], None]
"""Called with a queued scan before the engine gets it (e.g. to post its progress message)."""


@dataclass(frozen=True)
class JobInfo:
    """One job of a scan."""

    id: int
    unit: str
    status: JobStatus
    message: str
    findings_failed: int
    findings_total: int


def _page_count(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


class ScanService:
    """Scan operations shared by the CLI, Slack and the scheduler."""

    def __init__(
        self, db: Database, engine: ScanEngine, dispatcher: JobDispatcher | None = None
    ) -> None:
        self.db = db
        self.engine = engine
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> JobDispatcher:
        """Where started scans go (the engine's, unless one was given)."""
        return self._dispatcher or self.engine.dispatcher

    # --- starting and stopping ----------------------------------------------------------
    def start(
        self,
        project_ref: str | int,
        trigger: str,
        actor: str,
        *,
        before_run: BeforeRun | None = None,
    ) -> ScanRow:
        """Queue a scan of a project and dispatch it; refused (ConflictError) while another
        scan of the project is active.

        `before_run` is called with the queued scan before it is dispatched; if it fails,
        the failure is logged and the scan runs anyway. When the scan cannot be dispatched
        (the task queue is down), it ends Failed with a temporary-error entry and the
        dispatcher's error is raised: no scan stays queued with nothing to run it.
        """
        row = self._queue(project_ref, trigger, actor)
        try:
            if before_run is not None:
                before_run(row)
        except Exception:
            log.exception("before starting scan %s; running it anyway", row.scan_id)
        try:
            self.dispatcher.dispatch_plan(row.scan_id)
        except Exception as exc:
            # Nothing will run it (the task queue is down): it must not stay queued and hold
            # the project's one active slot. It ends Failed with a temporary-error entry
            # saying why (so automatic retries re-run it), and the caller is told.
            log.error("scan %s could not be handed out; recording it as failed", row.scan_id)
            self.engine.fail_undispatched(row.scan_id, exc)
            raise
        return row

    def _queue(self, project_ref: str | int, trigger: str, actor: str) -> ScanRow:
        try:
            with self.db.unit_of_work() as s:
                project = find_project(s, project_ref)
                self._refuse_if_active(s, project.id, project.name)
                connector = project.connector
                if connector.is_deleted:
                    raise ConflictError(
                        f"Project {project.name!r} uses a deleted connector; replace it first."
                    )
                scan = ScanRepo(s).add(
                    Scan(
                        project_id=project.id,
                        connector_id=connector.id,
                        status=ScanStatus.QUEUED.value,
                        status_message="Waiting to start",
                        trigger=trigger,
                        requested_by=actor,
                    )
                )
                project.last_scan_id = scan.id
                project.last_status = scan.status
                AuditRepo(s).record(actor, "scan.run", "scan", scan.id, {"project": project.name})
                return scan_row(scan, project.name, Provider(connector.provider))
        except IntegrityError:  # another request won the race for the active slot
            with self.db.read() as s:
                project = find_project(s, project_ref)
                self._refuse_if_active(s, project.id, project.name)
            raise

    @staticmethod
    def _refuse_if_active(s: Session, project_id: int, project_name: str) -> None:
        active = ScanRepo(s).active_for_project(project_id)
        if active is not None:
            raise ConflictError(
                f"Project {project_name!r} already has scan #{active.id} "
                f"{ScanStatus(active.status).label.lower()} (started by {active.requested_by}). "
                "Wait for it to finish or stop it first."
            )

    def wait(self, scan_id: int, timeout: float | None = None) -> ScanStatus | None:
        """Wait up to `timeout` seconds (None: for ever) for a scan to end, wherever it runs;
        returns its final status, or None while it is still active. Polls the scan's status
        (one primary-key read) every 50 ms at first, then every 200 ms."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.05
        while True:
            status = self.engine.writer.scan_status(int(scan_id))
            if status is None:
                raise NotFoundError(f"No scan #{scan_id}.")
            if not status.is_active:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return None
            left = pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic()))
            time.sleep(left)
            pause = min(0.2, pause * 1.5)

    def stop(self, ref: str | int, actor: str, by_scan_id: bool = False) -> ScanRow:
        """Ask the active scan of a project (or a scan by id) to stop."""
        with self.db.unit_of_work() as s:
            repo = ScanRepo(s)
            if by_scan_id:
                scan_id = ref if isinstance(ref, int) else parse_id(ref.removeprefix("#"))
                scan = repo.get(scan_id) if scan_id is not None and scan_id <= DB_ID_MAX else None
                if scan is None:
                    raise NotFoundError(f"No scan #{ref}.")
            else:
                project = find_project(s, ref)
                found = repo.active_for_project(project.id)
                if found is None:
                    raise ConflictError(f"Project {project.name!r} has no scan running.")
                scan = found
            if not ScanStatus(scan.status).is_active:
                raise ConflictError(
                    f"Scan #{scan.id} is not running: it ended {ScanStatus(scan.status).label}."
                )
            repo.request_stop(scan.id, actor, datetime.now(UTC))
            AuditRepo(s).record(actor, "scan.stop", "scan", scan.id)
            scan_id = scan.id
        self.engine.cancel(scan_id)  # at once here; elsewhere within the stop watcher's poll
        return self.get(scan_id)

    # --- reading ------------------------------------------------------------------------
    def _row(self, s: Session, scan_id: int) -> ScanRow:
        in_range = 0 <= int(scan_id) <= DB_ID_MAX
        found = ScanRepo(s).with_project_and_connector(int(scan_id)) if in_range else None
        if found is None:
            raise NotFoundError(f"No scan #{scan_id}.")
        scan, project_name, provider = found
        return scan_row(scan, project_name, Provider(provider))

    def get(self, scan_id: int) -> ScanRow:
        """One scan."""
        with self.db.read() as s:
            return self._row(s, scan_id)

    def resolve(self, ref: str | int) -> int:
        """A scan id from ``12`` / ``#12``, or a project name (or id given as an int) meaning
        its newest scan; NotFoundError when there is no such scan."""
        text = str(ref).strip()
        with self.db.read() as s:
            if isinstance(ref, str) and looks_like_id(text.removeprefix("#")):
                scan_id = parse_id(text.removeprefix("#"))
                scan = ScanRepo(s).get(scan_id) if scan_id is not None else None
                if scan is None:
                    raise NotFoundError(f"No scan #{text.lstrip('#')}.")
                return scan.id
            project = find_project(s, ref)
            if project.last_scan_id is None:
                raise NotFoundError(f"Project {project.name!r} has never been scanned.")
            return project.last_scan_id

    def jobs(self, scan_id: int) -> list[JobInfo]:
        """A scan's jobs."""
        with self.db.read() as s:
            return [
                JobInfo(
                    j.id,
                    j.unit,
                    JobStatus(j.status),
                    j.message,
                    j.findings_failed,
                    j.findings_total,
                )
                for j in ScanRepo(s).jobs(int(scan_id))
            ]

    def history(self, project_ref: str | int, page: int = 0, per_page: int = 20) -> HistoryData:
        """A project's scans, one page, newest first (a page past the end shows the last),
        read in one session with one project lookup."""
        with self.db.read() as s:
            project = find_project(s, project_ref)
            repo = ScanRepo(s)
            total = repo.count_history(project.id)
            pages = _page_count(total, per_page)
            page = min(max(0, page), pages - 1)
            rows = repo.history(project.id, page * per_page, per_page)
            providers = ConnectorRepo(s).providers({r.connector_id for r in rows})
            last = ScanRepo(s).get(project.last_scan_id) if project.last_scan_id else None
            return HistoryData(
                project_info(project, last),
                Page(
                    [scan_row(r, project.name, Provider(providers[r.connector_id])) for r in rows],
                    page,
                    pages,
                    total,
                ),
            )

    def errors(self, scan_id: int) -> list[ErrorEntryView]:
        """A scan's error log (only Partially Completed and Failed scans have one)."""
        with self.db.read() as s:
            return self._entries(s, int(scan_id))

    @staticmethod
    def _entries(s: Session, scan_id: int, connector_id: int | None = None) -> list[ErrorEntryView]:
        return [error_entry(e, connector_id) for e in ScanRepo(s).error_entries(scan_id)]

    @staticmethod
    def _live_connector_id(s: Session, connector_id: int) -> int | None:
        c = ConnectorRepo(s).get(connector_id)
        return None if c is None or c.is_deleted else c.id

    def error_log(self, scan_id: int) -> ErrorLogData:
        """A scan's error log with the connector to fix (if it still exists)."""
        with self.db.read() as s:
            scan = self._row(s, scan_id)
            project = find_project(s, scan.project_id)
            last = ScanRepo(s).get(project.last_scan_id) if project.last_scan_id else None
            assert scan.connector_id is not None
            live = self._live_connector_id(s, scan.connector_id)
            return ErrorLogData(
                project_info(project, last), scan, self._entries(s, scan.scan_id, live)
            )

    def findings(self, scan_id: int, limit: int = 200) -> FindingsSummary:
        """Failing findings by severity for one scan (the most severe first)."""
        with self.db.read() as s:
            scan = self._row(s, scan_id)
            repo = ScanRepo(s)
            failed: dict[Severity, int] = defaultdict(int)
            passed = 0
            for (sev, ok), n in repo.finding_counts(scan.scan_id).items():
                if ok:
                    passed += n
                else:
                    failed[Severity(sev)] += n
            rank = {sev: i for i, sev in enumerate(Severity)}
            failing = []
            for f in repo.findings(scan.scan_id, failed_only=True):
                check = check_by_id(scan.provider, f.check_id) if scan.provider else None
                failing.append(
                    FailingFinding(
                        f.check_id,
                        check.meta.title if check else f.check_id,
                        Severity(f.severity),
                        f.resource,
                        f.region,
                        f.detail,
                    )
                )
            failing.sort(key=lambda x: (rank[x.severity], x.check_id, x.resource))
            return FindingsSummary(
                scan_id=scan.scan_id,
                project_name=scan.project_name,
                status=scan.status,
                finished_at=scan.finished_at,
                failed_counts=dict(failed),
                passed=passed,
                failing=failing[:limit],
            )

    def support_bundle(
        self, scan_id: int | None, connector_id: int | None = None, entry_id: int | None = None
    ) -> SupportBundle:
        """The redacted bundle a support request carries: a scan's (chosen entry first), or
        a connector's when there is no scan."""
        with self.db.read() as s:
            if scan_id is None:
                c = ConnectorRepo(s).get(connector_id) if connector_id is not None else None
                if connector_id is None:
                    raise NotFoundError("There is nothing to report: no scan or connector given.")
                if c is None or c.is_deleted:
                    raise NotFoundError(f"No connector named {str(connector_id)!r}.")
                return SupportBundle(
                    scan_id=None,
                    project_name=f"connector {c.name}",
                    provider=Provider(c.provider),
                    connector_name=c.name,
                    account_id=c.account_id,
                )
            scan = self._row(s, scan_id)
            assert scan.connector_id is not None and scan.provider is not None
            live = ConnectorRepo(s).get(scan.connector_id)
            if live is not None and live.is_deleted:
                live = None
            entries = self._entries(s, scan.scan_id, live.id if live else None)
            if entry_id is not None:
                entries.sort(key=lambda e: e.entry_id != entry_id)
            since = (scan.queued_at or datetime.now(UTC)) - RERUN_WINDOW
            return SupportBundle(
                scan_id=scan.scan_id,
                project_name=scan.project_name,
                provider=scan.provider,
                connector_name=live.name if live else "",
                account_id=live.account_id if live else "",
                status=scan.status,
                status_message=scan.status_message,
                started_at=scan.started_at,
                finished_at=scan.finished_at,
                entries=entries,
                reruns=ScanRepo(s).count_reruns(scan.project_id, since),
            )
