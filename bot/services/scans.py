"""Scans: start (one active per project), stop, status, history, error log, findings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import ErrorCategory, JobStatus, Provider, ScanStatus, Severity
from bot.engine.engine import ScanEngine
from bot.errors import ConflictError, NotFoundError
from bot.providers import check_by_id
from bot.services.projects import find_project
from storage.db import Database
from storage.models import Connector, Project, Scan
from storage.repositories import AuditRepo, ScanRepo

TRIGGERS = ("manual", "schedule", "rerun", "cli", "retry")


@dataclass(frozen=True)
class JobInfo:
    """One job of a scan."""

    id: int
    unit: str
    status: JobStatus
    message: str
    findings_failed: int
    findings_total: int


@dataclass(frozen=True)
class ScanInfo:
    """A scan as every front end shows it."""

    id: int
    project_id: int
    project_name: str
    connector_id: int
    provider: Provider
    status: ScanStatus
    status_message: str
    trigger: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stopped_by: str | None
    jobs_total: int
    jobs_ok: int
    jobs_failed: int


@dataclass(frozen=True)
class ErrorInfo:
    """One error-log entry (already redacted)."""

    id: int
    scan_id: int
    unit: str
    check_id: str | None
    category: ErrorCategory
    code: str
    message: str
    detail: str
    remediation: str
    at: datetime


@dataclass(frozen=True)
class FailingFinding:
    """A failing resource."""

    check_id: str
    title: str
    severity: Severity
    resource: str
    region: str
    detail: str


@dataclass(frozen=True)
class FindingsReport:
    """Counts by severity and the failing resources of one scan."""

    scan: ScanInfo
    failed_by_severity: dict[Severity, int]
    passed: int
    failing: list[FailingFinding]


def scan_info(scan: Scan, project: Project, connector: Connector) -> ScanInfo:
    """Map rows to a ScanInfo."""
    return ScanInfo(
        id=scan.id,
        project_id=project.id,
        project_name=project.name,
        connector_id=scan.connector_id,
        provider=Provider(connector.provider),
        status=ScanStatus(scan.status),
        status_message=scan.status_message,
        trigger=scan.trigger,
        requested_by=scan.requested_by,
        created_at=scan.created_at,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        stopped_by=scan.stopped_by,
        jobs_total=scan.jobs_total,
        jobs_ok=scan.jobs_ok,
        jobs_failed=scan.jobs_failed,
    )


class ScanService:
    """Scan operations shared by the CLI and Slack."""

    def __init__(self, db: Database, engine: ScanEngine) -> None:
        self.db = db
        self.engine = engine

    # --- writing ------------------------------------------------------------------------
    def create(self, project_ref: str | int, trigger: str, actor: str) -> ScanInfo:
        """Queue a scan of a project; refused while another scan of it is active."""
        try:
            with self.db.unit_of_work() as s:
                project = find_project(s, project_ref)
                self._refuse_if_active(s, project)
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
                return scan_info(scan, project, connector)
        except IntegrityError:  # another request won the race for the active slot
            with self.db.read() as s:
                self._refuse_if_active(s, find_project(s, project_ref))
            raise

    @staticmethod
    def _refuse_if_active(s: Session, project: Project) -> None:
        active = ScanRepo(s).active_for_project(project.id)
        if active is not None:
            raise ConflictError(
                f"Project {project.name!r} already has scan #{active.id} "
                f"{ScanStatus(active.status).label.lower()} (started by {active.requested_by}). "
                "Wait for it to finish or stop it first."
            )

    def start(self, project_ref: str | int, trigger: str, actor: str) -> ScanInfo:
        """Queue a scan and run it in the background."""
        info = self.create(project_ref, trigger, actor)
        self.engine.submit(info.id)
        return info

    def stop(self, ref: str | int, actor: str, by_scan_id: bool = False) -> ScanInfo:
        """Ask the active scan of a project (or a scan by id) to stop."""
        with self.db.unit_of_work() as s:
            if by_scan_id:
                scan = ScanRepo(s).get(int(ref))
                if scan is None:
                    raise NotFoundError(f"No scan #{ref}.")
            else:
                project = find_project(s, ref)
                found = ScanRepo(s).active_for_project(project.id)
                if found is None:
                    raise ConflictError(f"Project {project.name!r} has no scan running.")
                scan = found
            if not ScanStatus(scan.status).is_active:
                raise ConflictError(
                    f"Scan #{scan.id} is not running: it ended {ScanStatus(scan.status).label}."
                )
            s.execute(
                update(Scan)
                .where(Scan.id == scan.id, Scan.stop_requested_at.is_(None))
                .values(stop_requested_at=datetime.now(UTC), stopped_by=actor)
            )
            AuditRepo(s).record(actor, "scan.stop", "scan", scan.id)
            scan_id = scan.id
        self.engine.cancel(scan_id)  # immediate here; other processes see it on heartbeat
        return self.get(scan_id)

    # --- reading ------------------------------------------------------------------------
    def get(self, scan_id: int) -> ScanInfo:
        """One scan."""
        with self.db.read() as s:
            scan = ScanRepo(s).get(int(scan_id))
            if scan is None:
                raise NotFoundError(f"No scan #{scan_id}.")
            project = s.get(Project, scan.project_id)
            connector = s.get(Connector, scan.connector_id)
            assert project is not None and connector is not None
            return scan_info(scan, project, connector)

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

    def history(
        self, project_ref: str | int, page: int = 0, per_page: int = 20
    ) -> tuple[list[ScanInfo], int]:
        """A project's scans newest first, and how many there are."""
        with self.db.read() as s:
            project = find_project(s, project_ref)
            repo = ScanRepo(s)
            rows = repo.history(project.id, page * per_page, per_page)
            ids = {r.connector_id for r in rows}
            connectors = {
                c.id: c for c in s.scalars(select(Connector).where(Connector.id.in_(ids)))
            }
            return [scan_info(r, project, connectors[r.connector_id]) for r in rows], (
                repo.count_history(project.id)
            )

    def errors(self, scan_id: int) -> list[ErrorInfo]:
        """A scan's error log (only Partially Completed and Failed scans have one)."""
        with self.db.read() as s:
            return [
                ErrorInfo(
                    e.id,
                    e.scan_id,
                    e.unit,
                    e.check_id,
                    ErrorCategory(e.category),
                    e.code,
                    e.message,
                    e.detail,
                    e.remediation,
                    e.created_at,
                )
                for e in ScanRepo(s).error_entries(int(scan_id))
            ]

    def findings(self, scan_id: int, limit: int = 200) -> FindingsReport:
        """Failing findings by severity for one scan."""
        scan = self.get(scan_id)
        with self.db.read() as s:
            repo = ScanRepo(s)
            counts = repo.finding_counts(scan.id)
            failed: dict[Severity, int] = defaultdict(int)
            passed = 0
            for (sev, ok), n in counts.items():
                if ok:
                    passed += n
                else:
                    failed[Severity(sev)] += n
            rank = {sev: i for i, sev in enumerate(Severity)}
            failing = []
            for f in repo.findings(scan.id, failed_only=True):
                check = check_by_id(scan.provider, f.check_id)
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
            return FindingsReport(scan, dict(failed), passed, failing[:limit])
