"""The scan result writer: every write the scan engine makes, and the reads it needs.

The engine orchestrates (plans units, runs them, honours Stop); this module turns what it
learns into rows: a scan marked running, one job per unit, job results with their findings
and error-log entries (batched: many results per transaction), the running counts progress
views show, heartbeats, Stop requests made by other processes, crash recovery and the final
status. The status rules themselves are the engine's; they are handed in as `StatusRules`, so
storage computes nothing about what a status means.

Each method is one transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from sqlalchemy import insert, select, update

from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus
from bot.redaction import redact, redact_one_line
from storage.db import Database
from storage.models import Connector, ErrorEntry, Finding, Job, Project, Scan
from storage.repositories import ACTIVE_STATUSES, ProjectRepo

PLAN_UNIT = "plan"
"""The pseudo-unit of the single failed job recorded when a scan cannot even be planned."""


def _now() -> datetime:
    return datetime.now(UTC)


class JobFacts(NamedTuple):
    """What the status rules need to know about one job."""

    unit: str
    status: JobStatus
    category: ErrorCategory | None = None


class StatusRules(Protocol):
    """The engine's rules for a scan's status and its one-line message."""

    def running_message(self, jobs: Sequence[JobFacts]) -> str:
        """The message of a running scan whose jobs are `jobs` so far."""
        ...

    def final(
        self, stop_requested: bool, jobs: Sequence[JobFacts], stopped_by: str | None
    ) -> tuple[ScanStatus, str]:
        """The final status and message of a scan whose jobs all ended."""
        ...


@dataclass(frozen=True)
class FindingResult:
    """A check's verdict on one resource, as a job reports it."""

    check_id: str
    severity: str
    resource: str
    region: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class JobError:
    """A classified error of a job (one error-log entry)."""

    error: CloudError
    check_id: str | None = None


@dataclass(frozen=True)
class JobStarted:
    """A job began running."""

    job_id: int
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class JobFinished:
    """A job ended: its status, one-line message, findings and errors."""

    job_id: int
    scan_id: int
    unit: str
    status: JobStatus
    message: str
    findings: Sequence[FindingResult] = ()
    errors: Sequence[JobError] = ()
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class ScanPlan:
    """What running a scan needs, read when it was marked running."""

    scan_id: int
    project_id: int
    connector_id: int
    scope: tuple[str, ...]
    check_ids: tuple[str, ...]
    stop_requested: bool


@dataclass(frozen=True)
class ActiveScan:
    """A queued or running scan, for crash recovery."""

    scan_id: int
    owner: str | None
    last_seen: datetime


class ScanNotQueued(Exception):
    """The scan to run does not exist or is not queued any more."""


def error_row(
    scan_id: int, job_id: int | None, unit: str, error: CloudError, check_id: str | None
) -> dict[str, object]:
    """The error-log row of a classified error (redacted once more: the last line of defence;
    the adapters redact already)."""
    return {
        "scan_id": scan_id,
        "job_id": job_id,
        "unit": unit[:120],
        "check_id": check_id,
        "category": error.category.value,
        "code": error.code[:120],
        "message": redact_one_line(error.message, limit=500),
        "detail": redact(error.detail)[:8000],
        "remediation": error.remediation[:500],
        "missing_permissions": [p[:200] for p in error.missing_permissions],
        "created_at": _now(),
    }


class ResultWriter:
    """Writes a scan's progress and results; see the module docstring."""

    def __init__(self, db: Database, rules: StatusRules) -> None:
        self.db = db
        self.rules = rules

    # --- starting ---------------------------------------------------------------------------
    def begin(self, scan_id: int, owner: str) -> ScanPlan:
        """Mark a queued scan running by `owner` and return what running it needs.

        A scan queued with a connector that was replaced since runs with the connector its
        project uses now. Raises ScanNotQueued when the scan is missing or not queued.
        """
        with self.db.unit_of_work() as s:
            scan = s.get(Scan, scan_id)
            if scan is None or scan.status != ScanStatus.QUEUED.value:
                raise ScanNotQueued(f"scan {scan_id} is not queued")
            project = s.get(Project, scan.project_id)
            assert project is not None
            now = _now()
            scan.status = ScanStatus.RUNNING.value
            scan.started_at = now
            scan.owner = owner
            scan.heartbeat_at = now
            scan.status_message = self.rules.running_message([])
            ProjectRepo(s).set_last_status(scan_id, ScanStatus.RUNNING.value)
            queued_with = s.get(Connector, scan.connector_id)
            if queued_with is None or queued_with.is_deleted:
                scan.connector_id = project.connector_id
            return ScanPlan(
                scan_id=scan_id,
                project_id=project.id,
                connector_id=scan.connector_id,
                scope=tuple(project.scope),
                check_ids=tuple(project.check_ids),
                stop_requested=scan.stop_requested_at is not None,
            )

    def create_jobs(self, scan_id: int, units: Sequence[str]) -> list[int]:
        """One queued job per unit; returns their ids in the order of `units`."""
        with self.db.unit_of_work() as s:
            jobs = [Job(scan_id=scan_id, unit=u, status=JobStatus.QUEUED.value) for u in units]
            s.add_all(jobs)
            s.flush()
            ids = [j.id for j in jobs]
            s.execute(update(Scan).where(Scan.id == scan_id).values(jobs_total=len(ids)))
        return ids

    # --- results ----------------------------------------------------------------------------
    def write(self, started: Sequence[JobStarted], finished: Sequence[JobFinished]) -> None:
        """Record a batch of job starts and results in one transaction, then refresh the
        running counts and message of every scan concerned."""
        if not started and not finished:
            return
        with self.db.unit_of_work() as s:
            for begun in started:
                s.execute(
                    update(Job)
                    .where(Job.id == begun.job_id, Job.status == JobStatus.QUEUED.value)
                    .values(status=JobStatus.RUNNING.value, started_at=begun.at)
                )
            findings: list[dict[str, object]] = []
            errors: list[dict[str, object]] = []
            for item in finished:
                failing = sum(1 for f in item.findings if not f.passed)
                findings += [
                    {
                        "scan_id": item.scan_id,
                        "job_id": item.job_id,
                        "check_id": f.check_id,
                        "resource": f.resource[:500],
                        "region": f.region[:64],
                        "severity": f.severity,
                        "passed": f.passed,
                        "detail": f.detail[:1000],
                    }
                    for f in item.findings
                ]
                errors += [
                    error_row(item.scan_id, item.job_id, item.unit, e.error, e.check_id)
                    for e in item.errors
                ]
                s.execute(
                    update(Job)
                    .where(Job.id == item.job_id)
                    .values(
                        status=item.status.value,
                        message=item.message[:300],
                        finished_at=item.at,
                        findings_failed=failing,
                        findings_total=len(item.findings),
                    )
                )
            if findings:
                s.execute(insert(Finding), findings)
            if errors:
                s.execute(insert(ErrorEntry), errors)
            for scan_id in sorted({item.scan_id for item in finished}):
                rows = s.execute(select(Job.unit, Job.status).where(Job.scan_id == scan_id)).all()
                facts = [JobFacts(unit, JobStatus(st)) for unit, st in rows]
                s.execute(
                    update(Scan)
                    .where(Scan.id == scan_id, Scan.status == ScanStatus.RUNNING.value)
                    .values(
                        jobs_ok=sum(1 for f in facts if f.status is JobStatus.SUCCEEDED),
                        jobs_failed=sum(1 for f in facts if f.status is JobStatus.FAILED),
                        status_message=self.rules.running_message(facts),
                    )
                )

    def record_plan_failure(self, scan_id: int, error: CloudError) -> None:
        """The single failed job (and its error entry) of a scan that could not be planned."""
        with self.db.unit_of_work() as s:
            now = _now()
            job = Job(
                scan_id=scan_id,
                unit=PLAN_UNIT,
                status=JobStatus.FAILED.value,
                message=f"{error.category.label}: {error.message}"[:300],
                started_at=now,
                finished_at=now,
            )
            s.add(job)
            s.flush()
            s.execute(insert(ErrorEntry), [error_row(scan_id, job.id, PLAN_UNIT, error, None)])

    # --- liveness and Stop ------------------------------------------------------------------
    def heartbeat(self, scan_ids: Sequence[int]) -> list[int]:
        """Mark scans alive; returns those of them whose Stop was requested (anywhere)."""
        if not scan_ids:
            return []
        with self.db.unit_of_work() as s:
            s.execute(update(Scan).where(Scan.id.in_(scan_ids)).values(heartbeat_at=_now()))
            return list(
                s.scalars(
                    select(Scan.id).where(
                        Scan.id.in_(scan_ids), Scan.stop_requested_at.is_not(None)
                    )
                ).all()
            )

    def scan_state(self, scan_id: int) -> tuple[int, ScanStatus] | None:
        """(project id, status) of a scan, or None when it does not exist."""
        with self.db.read() as s:
            scan = s.get(Scan, scan_id)
            return None if scan is None else (scan.project_id, ScanStatus(scan.status))

    # --- crash recovery and the end -----------------------------------------------------------
    def active_scans(self) -> list[ActiveScan]:
        """Every queued or running scan with its owner and when it was last seen alive."""
        with self.db.read() as s:
            return [
                ActiveScan(scan.id, scan.owner, scan.heartbeat_at or scan.created_at)
                for scan in s.scalars(select(Scan).where(Scan.status.in_(ACTIVE_STATUSES)))
            ]

    def mark_interrupted(self, scan_id: int, error: CloudError) -> ScanStatus:
        """Mark a dead scan's unfinished jobs interrupted with `error` (a scan without jobs
        gets one), then give the scan its true status."""
        with self.db.unit_of_work() as s:
            unfinished = s.scalars(
                select(Job).where(
                    Job.scan_id == scan_id,
                    Job.status.in_((JobStatus.QUEUED.value, JobStatus.RUNNING.value)),
                )
            ).all()
            for job in unfinished:
                job.status = JobStatus.INTERRUPTED.value
                job.message = error.message
                job.finished_at = _now()
                s.add(ErrorEntry(**error_row(scan_id, job.id, job.unit, error, None)))
            if not unfinished and not s.scalar(select(Job.id).where(Job.scan_id == scan_id)):
                job = Job(
                    scan_id=scan_id,
                    unit=PLAN_UNIT,
                    status=JobStatus.INTERRUPTED.value,
                    message=error.message,
                    finished_at=_now(),
                )
                s.add(job)
                s.flush()
                s.add(ErrorEntry(**error_row(scan_id, job.id, PLAN_UNIT, error, None)))
        return self.finalize(scan_id)

    def finalize(self, scan_id: int) -> ScanStatus:
        """Compute and store a finished scan's status, message and job counts from its jobs."""
        with self.db.unit_of_work() as s:
            scan = s.get(Scan, scan_id)
            assert scan is not None
            jobs = s.scalars(select(Job).where(Job.scan_id == scan_id).order_by(Job.id)).all()
            first_category = dict(
                s.execute(
                    select(ErrorEntry.job_id, ErrorEntry.category)
                    .where(ErrorEntry.scan_id == scan_id)
                    .order_by(ErrorEntry.id.desc())
                ).all()
            )
            facts = [
                JobFacts(
                    j.unit,
                    JobStatus(j.status),
                    ErrorCategory(first_category[j.id]) if j.id in first_category else None,
                )
                for j in jobs
            ]
            status, message = self.rules.final(
                scan.stop_requested_at is not None, facts, scan.stopped_by
            )
            scan.status = status.value
            ProjectRepo(s).set_last_status(scan_id, status.value)
            scan.status_message = message
            scan.finished_at = _now()
            scan.jobs_total = len(jobs)
            scan.jobs_ok = sum(1 for f in facts if f.status is JobStatus.SUCCEEDED)
            scan.jobs_failed = sum(
                1 for f in facts if f.status in (JobStatus.FAILED, JobStatus.INTERRUPTED)
            )
            return status
