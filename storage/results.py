"""The scan result writer: every write the scan engine makes, and the reads it needs.

The engine orchestrates (plans units, runs jobs, honours Stop, recovers work of dead
processes); this module turns what it learns into rows. Work carries only ids, so any
process may write any step, and every write is guarded by the state it expects:

- a scan is marked running only while it is queued, and only its owner creates its jobs;
- a job is claimed by the process that runs it (the claim counts the delivery in
  `jobs.attempts`); a job already final, or held by a live process, is not run again;
- a job's result is written once, in one transaction, only while the job is unfinished and
  held by the writer and the scan is still running; the same transaction adds the job to
  `scans.jobs_done`, and the job that makes it reach `jobs_total` finalises the scan;
- every status/finished_at write is conditional on the scan not being final yet.

The status rules themselves are the engine's; they are handed in as `StatusRules`, so
storage computes nothing about what a status means. Each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus
from bot.redaction import redact, redact_one_line
from storage.db import Database
from storage.models import Connector, ErrorEntry, Finding, Job, Owner, Project, Scan
from storage.repositories import ACTIVE_STATUSES, ProjectRepo

PLAN_UNIT = "plan"
"""The pseudo-unit of the single job recorded when a scan cannot even be planned."""

UNFINISHED_JOBS = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def _now() -> datetime:
    return datetime.now(UTC)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class JobFacts(NamedTuple):
    """What the status rules need to know about one job."""

    unit: str
    status: JobStatus
    category: ErrorCategory | None = None


class StatusRules(Protocol):
    """The engine's rules for a scan's status and its one-line message."""

    def running_message(self, done: int, total: int, failed: Sequence[JobFacts]) -> str:
        """The message of a running scan: `done` of `total` jobs ended, `failed` of them
        failed."""
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
    """What planning a scan needs, read when it was marked running."""

    scan_id: int
    project_id: int
    connector_id: int
    scope: tuple[str, ...]
    check_ids: tuple[str, ...]
    stop_requested: bool
    target: dict[str, str] | None = None  # the project's discovered account, if any
    resumed: bool = False  # taken over from a planner that died: its jobs may exist already
    jobs_total: int = 0


@dataclass(frozen=True)
class OwnerRow:
    """A process that holds scan work, as recorded."""

    owner_id: int
    host: str
    pid: int
    start_ticks: int
    boot_id: str
    lease_expires_at: datetime


@dataclass(frozen=True)
class JobClaim:
    """The outcome of claiming a job: whether to run it, and what running it needs."""

    run: bool
    reason: str  # "claimed", "taken over", "final", "scan final", "held", "missing"
    scan_id: int = 0
    project_id: int = 0
    connector_id: int = 0
    unit: str = ""
    scope: tuple[str, ...] = ()
    check_ids: tuple[str, ...] = ()
    stop_requested: bool = False
    attempts: int = 0
    target: dict[str, str] | None = None  # the project's discovered account, if any


@dataclass(frozen=True)
class Written:
    """The outcome of writing a job's result (or a plan failure)."""

    written: bool  # False: the job or the scan was final already, or taken over
    project_id: int = 0
    final: ScanStatus | None = None  # set when this write finalised the scan


@dataclass(frozen=True)
class ActiveWork:
    """A queued or running scan and who holds it and its unfinished jobs, for recovery."""

    scan_id: int
    status: ScanStatus
    owner_id: int | None
    jobs_total: int
    jobs_done: int
    job_owner_ids: frozenset[int]
    queued_at: datetime | None = None


@dataclass(frozen=True)
class ScanFlags:
    """What a process running a scan's jobs watches: the Stop flag and whether it ended."""

    scan_id: int
    status: ScanStatus
    stop_requested: bool


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


def _counts(status: JobStatus) -> tuple[int, int]:
    """(ok, failed) increments of a job ending with `status`."""
    return (
        int(status is JobStatus.SUCCEEDED),
        int(status in (JobStatus.FAILED, JobStatus.INTERRUPTED)),
    )


class OwnerLeases:
    """The owners table: a process registers once and its heartbeat extends its lease.

    Give it a `Database` of its own (its own connections), so a heartbeat never waits for a
    connection busy with the scan's writes.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(
        self, host: str, pid: int, start_ticks: int, boot_id: str, lease: timedelta
    ) -> int:
        """The id of this process's owner row (created, or found again), lease extended."""
        now = _now()
        try:
            with self.db.unit_of_work() as s:
                row = Owner(
                    host=host[:255],
                    pid=pid,
                    start_ticks=start_ticks,
                    boot_id=boot_id[:64],
                    started_at=now,
                    heartbeat_at=now,
                    lease_expires_at=now + lease,
                )
                s.add(row)
                s.flush()
                return row.id
        except IntegrityError:
            with self.db.unit_of_work() as s:
                found = s.scalar(
                    select(Owner.id).where(
                        Owner.host == host[:255],
                        Owner.boot_id == boot_id[:64],
                        Owner.pid == pid,
                        Owner.start_ticks == start_ticks,
                    )
                )
                assert found is not None
                s.execute(
                    update(Owner)
                    .where(Owner.id == found)
                    .values(heartbeat_at=now, lease_expires_at=now + lease)
                )
                return int(found)

    def renew(self, owner_id: int, lease: timedelta) -> None:
        """Extend a lease by `lease` from now."""
        now = _now()
        with self.db.unit_of_work() as s:
            s.execute(
                update(Owner)
                .where(Owner.id == owner_id)
                .values(heartbeat_at=now, lease_expires_at=now + lease)
            )

    def flags(self, scan_ids: Sequence[int]) -> list[ScanFlags]:
        """Status and Stop flag of each scan (one indexed read)."""
        if not scan_ids:
            return []
        with self.db.read() as s:
            rows = s.execute(
                select(Scan.id, Scan.status, Scan.stop_requested_at).where(Scan.id.in_(scan_ids))
            ).all()
        return [ScanFlags(i, ScanStatus(st), at is not None) for i, st, at in rows]


class ResultWriter:
    """Writes a scan's progress and results; see the module docstring."""

    def __init__(self, db: Database, rules: StatusRules) -> None:
        self.db = db
        self.rules = rules

    # --- planning ---------------------------------------------------------------------------
    def hold_queued(self, scan_id: int, owner_id: int) -> None:
        """Record that `owner_id` holds a queued scan in its memory (it dies with it)."""
        with self.db.unit_of_work() as s:
            s.execute(
                update(Scan)
                .where(Scan.id == scan_id, Scan.status == ScanStatus.QUEUED.value)
                .values(owner_id=owner_id)
            )

    def begin(
        self,
        scan_id: int,
        owner_id: int,
        owner_name: str,
        may_take_over: Callable[[OwnerRow], bool] | None = None,
    ) -> ScanPlan:
        """Mark a queued scan running by `owner_id` and return what planning it needs.

        A running scan whose planner `may_take_over` accepts (shown dead) is taken over
        instead: its plan comes back `resumed`, with the jobs it has so far. A scan queued
        with a connector that was replaced since runs with the connector its project uses
        now. Raises ScanNotQueued when the scan is missing, or neither queued nor resumable.
        """
        now = _now()
        with self.db.unit_of_work() as s:
            marked = s.execute(
                update(Scan)
                .where(Scan.id == scan_id, Scan.status == ScanStatus.QUEUED.value)
                .values(
                    status=ScanStatus.RUNNING.value,
                    started_at=now,
                    owner_id=owner_id,
                    owner=owner_name[:120],
                    heartbeat_at=now,
                    status_message=self.rules.running_message(0, 0, []),
                )
            )
            if _rowcount(marked) != 1:
                return self._resume(s, scan_id, owner_id, owner_name, may_take_over)
            scan = s.get(Scan, scan_id)
            assert scan is not None
            project = s.get(Project, scan.project_id)
            assert project is not None
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
                target=dict(project.target) if project.target else None,
            )

    def _resume(
        self,
        s: Session,
        scan_id: int,
        owner_id: int,
        owner_name: str,
        may_take_over: Callable[[OwnerRow], bool] | None,
    ) -> ScanPlan:
        """`begin` for a running scan whose planner died: take it over, if allowed."""
        found = s.execute(select(Scan.status, Scan.owner_id).where(Scan.id == scan_id)).first()
        if found is None or found[0] != ScanStatus.RUNNING.value or may_take_over is None:
            raise ScanNotQueued(f"scan {scan_id} is not queued")
        holder = found[1]
        if holder is not None:
            row = s.get(Owner, holder)
            if row is not None and not may_take_over(_owner_row(row)):
                raise ScanNotQueued(f"scan {scan_id} is planned by a live process")
        taken = s.execute(
            update(Scan)
            .where(
                Scan.id == scan_id,
                Scan.status == ScanStatus.RUNNING.value,
                (Scan.owner_id == holder) if holder is not None else Scan.owner_id.is_(None),
            )
            .values(owner_id=owner_id, owner=owner_name[:120], heartbeat_at=_now())
        )
        if _rowcount(taken) != 1:
            raise ScanNotQueued(f"scan {scan_id} was taken over by another process")
        scan = s.get(Scan, scan_id)
        assert scan is not None
        project = s.get(Project, scan.project_id)
        assert project is not None
        return ScanPlan(
            scan_id=scan_id,
            project_id=project.id,
            connector_id=scan.connector_id,
            scope=tuple(project.scope),
            check_ids=tuple(project.check_ids),
            stop_requested=scan.stop_requested_at is not None,
            target=dict(project.target) if project.target else None,
            resumed=True,
            jobs_total=scan.jobs_total,
        )

    def unfinished_job_ids(self, scan_id: int) -> list[int]:
        """The ids of a scan's queued or running jobs, oldest first."""
        with self.db.read() as s:
            return [
                int(i)
                for i in s.scalars(
                    select(Job.id)
                    .where(Job.scan_id == scan_id, Job.status.in_(UNFINISHED_JOBS))
                    .order_by(Job.id)
                )
            ]

    def create_jobs(
        self, scan_id: int, units: Sequence[str], owner_id: int, holder_id: int | None
    ) -> list[int] | None:
        """One queued job per unit, held by `holder_id` (None: a durable queue holds them),
        and `jobs_total`; returns their ids in the order of `units`, or None when the scan is
        no longer running under `owner_id` (taken over or stopped and finalised)."""
        with self.db.unit_of_work() as s:
            mine = s.execute(
                update(Scan)
                .where(
                    Scan.id == scan_id,
                    Scan.status == ScanStatus.RUNNING.value,
                    Scan.owner_id == owner_id,
                )
                .values(jobs_total=len(units))
            )
            if _rowcount(mine) != 1:
                s.rollback()
                return None
            existing = s.execute(
                select(Job.id, Job.unit).where(Job.scan_id == scan_id).order_by(Job.id)
            ).all()
            if existing:  # planned before (a planner that died, a write tried again)
                s.rollback()
                return [int(job_id) for job_id, _ in existing]
            jobs = [
                Job(scan_id=scan_id, unit=u, status=JobStatus.QUEUED.value, owner_id=holder_id)
                for u in units
            ]
            s.add_all(jobs)
            s.flush()
            return [j.id for j in jobs]

    def record_plan_failure(self, scan_id: int, owner_id: int, error: CloudError) -> Written:
        """The single failed job (and its error entry) of a scan that could not be planned,
        and the scan's final status; nothing when the scan is not running under `owner_id`."""
        return self._end_unplanned(scan_id, owner_id, JobStatus.FAILED, error)

    def end_unplanned(self, scan_id: int, owner_id: int) -> Written:
        """Finalise a scan that ended before it had jobs (stopped while planning)."""
        return self._end_unplanned(scan_id, owner_id, None, None)

    def fail_queued(
        self, scan_id: int, error: CloudError, holders: set[int | None] | None = None
    ) -> Written:
        """End a scan that never started (still queued) as failed, with one failed job and
        `error` as its error entry. With `holders`, only while the scan is held by one of them
        (None: by nobody). Nothing when the scan is not queued any more."""
        with self.db.unit_of_work() as s:
            query = select(Scan).where(Scan.id == scan_id, Scan.status == ScanStatus.QUEUED.value)
            if holders is not None:
                ids = [h for h in holders if h is not None]
                conditions = [Scan.owner_id.in_(ids)] if ids else []
                if None in holders:
                    conditions.append(Scan.owner_id.is_(None))
                if not conditions:
                    return Written(False)
                query = query.where(or_(*conditions))
            scan = s.scalar(query.with_for_update())
            if scan is None:
                return Written(False)
            self._add_plan_job(s, scan_id, JobStatus.FAILED, error)
            return Written(True, scan.project_id, self._finalize(s, scan))

    def _end_unplanned(
        self, scan_id: int, owner_id: int, status: JobStatus | None, error: CloudError | None
    ) -> Written:
        with self.db.unit_of_work() as s:
            scan = s.scalar(
                select(Scan)
                .where(
                    Scan.id == scan_id,
                    Scan.status == ScanStatus.RUNNING.value,
                    Scan.owner_id == owner_id,
                )
                .with_for_update()
            )
            if scan is None:
                return Written(False)
            if status is not None and error is not None:
                self._add_plan_job(s, scan_id, status, error)
            return Written(True, scan.project_id, self._finalize(s, scan))

    @staticmethod
    def _add_plan_job(s: Session, scan_id: int, status: JobStatus, error: CloudError) -> None:
        now = _now()
        job = Job(
            scan_id=scan_id,
            unit=PLAN_UNIT,
            status=status.value,
            message=f"{error.category.label}: {error.message}"[:300],
            started_at=now,
            finished_at=now,
        )
        s.add(job)
        s.flush()
        s.execute(insert(ErrorEntry), [error_row(scan_id, job.id, PLAN_UNIT, error, None)])

    # --- jobs -------------------------------------------------------------------------------
    def claim_job(
        self, job_id: int, owner_id: int, may_take_over: Callable[[OwnerRow], bool]
    ) -> JobClaim:
        """Count a delivery of a job and claim it for `owner_id` if it is to run here: it is
        queued (held by nobody or by `owner_id`), or its holder is one `may_take_over`
        accepts. A job already final, of a final scan, or held by another live process is
        not run (the delivery is still counted)."""
        now = _now()
        with self.db.unit_of_work() as s:
            s.execute(update(Job).where(Job.id == job_id).values(attempts=Job.attempts + 1))
            found = s.execute(
                select(
                    Job.scan_id,
                    Job.unit,
                    Job.status,
                    Job.owner_id,
                    Job.attempts,
                    Scan.status,
                    Scan.project_id,
                    Scan.connector_id,
                    Scan.stop_requested_at,
                    Project.scope,
                    Project.check_ids,
                    Project.target,
                )
                .join(Scan, Scan.id == Job.scan_id)
                .join(Project, Project.id == Scan.project_id)
                .where(Job.id == job_id)
            ).first()
            if found is None:
                return JobClaim(False, "missing")
            (scan_id, unit, job_status, holder, attempts, scan_status, project_id,
             connector_id, stop_at, scope, check_ids, target) = found  # fmt: skip
            if JobStatus(job_status).is_finished:
                return JobClaim(False, "final", scan_id, attempts=attempts)
            if not ScanStatus(scan_status).is_active:
                return JobClaim(False, "scan final", scan_id, attempts=attempts)
            reason = "claimed"
            if holder is not None and holder != owner_id:
                row = s.get(Owner, holder)
                if row is not None and not may_take_over(_owner_row(row)):
                    return JobClaim(False, "held", scan_id, attempts=attempts)
                reason = "taken over"
            elif job_status == JobStatus.RUNNING.value and holder == owner_id:
                # Running, held by `owner_id` itself, which is alive (it is asking): it runs
                # on another thread of that process; a job never runs twice at once.
                return JobClaim(False, "held", scan_id, attempts=attempts)
            # No other transaction can have changed the job since it was read: the delivery
            # count's UPDATE above holds its row lock (SQLite: the write lock) until commit.
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status=JobStatus.RUNNING.value, owner_id=owner_id, started_at=now)
            )
            return JobClaim(
                run=True,
                reason=reason,
                scan_id=scan_id,
                project_id=project_id,
                connector_id=connector_id,
                unit=unit,
                scope=tuple(scope),
                check_ids=tuple(check_ids),
                stop_requested=stop_at is not None,
                target=dict(target) if target else None,
                attempts=attempts,
            )

    def finish_job(self, item: JobFinished, owner_id: int) -> Written:
        """Write a job's result in one transaction, if the job is still unfinished and held
        by `owner_id` and its scan still running: the job row, its findings and error
        entries, the scan's counts; the job that brings `jobs_done` to `jobs_total`
        finalises the scan. Otherwise nothing is written."""
        ok, failed = _counts(item.status)
        with self.db.unit_of_work() as s:
            counted = s.execute(
                update(Scan)
                .where(Scan.id == item.scan_id, Scan.status == ScanStatus.RUNNING.value)
                .values(
                    jobs_done=Scan.jobs_done + 1,
                    jobs_ok=Scan.jobs_ok + ok,
                    jobs_failed=Scan.jobs_failed + failed,
                )
                .returning(Scan.jobs_done, Scan.jobs_total, Scan.jobs_failed, Scan.project_id)
            ).first()
            if counted is None:
                s.rollback()
                return Written(False)
            done, total, failed_so_far, project_id = counted
            failing = sum(1 for f in item.findings if not f.passed)
            ended = s.execute(
                update(Job)
                .where(
                    Job.id == item.job_id,
                    Job.status.in_(UNFINISHED_JOBS),
                    Job.owner_id == owner_id,
                )
                .values(
                    status=item.status.value,
                    message=item.message[:300],
                    finished_at=item.at,
                    findings_failed=failing,
                    findings_total=len(item.findings),
                )
            )
            if _rowcount(ended) != 1:
                s.rollback()
                return Written(False)
            if item.findings:
                s.execute(
                    insert(Finding),
                    [
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
                    ],
                )
            if item.errors:
                s.execute(
                    insert(ErrorEntry),
                    [
                        error_row(item.scan_id, item.job_id, item.unit, e.error, e.check_id)
                        for e in item.errors
                    ],
                )
            if done >= total:
                scan = s.get(Scan, item.scan_id)  # not loaded before: read after the update
                assert scan is not None
                return Written(True, project_id, self._finalize(s, scan))
            failed_jobs = self._failed_facts(s, item.scan_id) if failed_so_far else []
            s.execute(
                update(Scan)
                .where(Scan.id == item.scan_id)
                .values(status_message=self.rules.running_message(done, total, failed_jobs))
            )
            return Written(True, project_id)

    # --- Stop, state ------------------------------------------------------------------------
    def scan_status(self, scan_id: int) -> ScanStatus | None:
        """A scan's status (None when it does not exist): one primary-key read."""
        with self.db.read() as s:
            status = s.scalar(select(Scan.status).where(Scan.id == scan_id))
            return None if status is None else ScanStatus(status)

    def scan_state(self, scan_id: int) -> tuple[int, ScanStatus] | None:
        """(project id, status) of a scan, or None when it does not exist."""
        with self.db.read() as s:
            row = s.execute(select(Scan.project_id, Scan.status).where(Scan.id == scan_id)).first()
            return None if row is None else (row[0], ScanStatus(row[1]))

    # --- crash recovery -----------------------------------------------------------------------
    def active_work(self) -> tuple[list[ActiveWork], dict[int, OwnerRow]]:
        """Every queued or running scan with who holds it and its unfinished jobs, and the
        owner rows they name."""
        with self.db.read() as s:
            scans = s.execute(
                select(
                    Scan.id,
                    Scan.status,
                    Scan.owner_id,
                    Scan.jobs_total,
                    Scan.jobs_done,
                    Scan.created_at,
                ).where(Scan.status.in_(ACTIVE_STATUSES))
            ).all()
            if not scans:
                return [], {}
            holders: dict[int, set[int]] = {}
            for scan_id, holder in s.execute(
                select(Job.scan_id, Job.owner_id)
                .where(
                    Job.scan_id.in_([row[0] for row in scans]),
                    Job.status.in_(UNFINISHED_JOBS),
                    Job.owner_id.is_not(None),
                )
                .distinct()
            ).all():
                if holder is not None:
                    holders.setdefault(scan_id, set()).add(holder)
            work = [
                ActiveWork(
                    scan_id,
                    ScanStatus(status),
                    owner,
                    total,
                    done,
                    frozenset(holders.get(scan_id, ())),
                    created,
                )
                for scan_id, status, owner, total, done, created in scans
            ]
            ids = {w.owner_id for w in work if w.owner_id is not None}
            ids |= {h for w in work for h in w.job_owner_ids}
            owners = {
                o.id: _owner_row(o) for o in s.scalars(select(Owner).where(Owner.id.in_(ids)))
            }
            return work, owners

    def interrupt(self, scan_id: int, dead: set[int], error: CloudError) -> Written:
        """Take over what dead owners held of a scan: their unfinished jobs end interrupted
        with `error`; a scan that a dead owner held before it had jobs gets one interrupted
        job. The scan is finalised when that ends its last job. Conditional throughout:
        nothing is written for a scan already final or work no longer held by `dead`."""
        now = _now()
        with self.db.unit_of_work() as s:
            scan = s.scalar(
                select(Scan)
                .where(Scan.id == scan_id, Scan.status.in_(ACTIVE_STATUSES))
                .with_for_update()
            )
            if scan is None or not dead:
                return Written(False)
            jobs = s.scalars(
                select(Job)
                .where(
                    Job.scan_id == scan_id,
                    Job.status.in_(UNFINISHED_JOBS),
                    Job.owner_id.in_(dead),
                )
                .with_for_update()
            ).all()
            for job in jobs:
                job.status = JobStatus.INTERRUPTED.value
                job.message = error.message[:300]
                job.finished_at = now
                s.add(ErrorEntry(**error_row(scan_id, job.id, job.unit, error, None)))
            scan.jobs_done += len(jobs)
            scan.jobs_failed += len(jobs)
            unplanned = scan.jobs_total == 0 and scan.owner_id in dead
            if unplanned:
                self._add_plan_job(s, scan_id, JobStatus.INTERRUPTED, error)
            if unplanned or (jobs and scan.jobs_done >= scan.jobs_total):
                return Written(True, scan.project_id, self._finalize(s, scan))
            return Written(bool(jobs), scan.project_id)

    def interrupt_job(self, item: JobFinished, owner_id: int) -> Written:
        """Record a job of this owner as interrupted (the process is shutting down)."""
        return self.finish_job(item, owner_id)

    # --- the end ------------------------------------------------------------------------------
    def _failed_facts(self, s: Session, scan_id: int) -> list[JobFacts]:
        rows = s.execute(
            select(Job.id, Job.unit, Job.status).where(
                Job.scan_id == scan_id,
                Job.status.in_((JobStatus.FAILED.value, JobStatus.INTERRUPTED.value)),
            )
        ).all()
        categories = self._first_categories(s, scan_id)
        return [JobFacts(unit, JobStatus(st), categories.get(job_id)) for job_id, unit, st in rows]

    @staticmethod
    def _first_categories(s: Session, scan_id: int) -> dict[int, ErrorCategory]:
        rows = s.execute(
            select(ErrorEntry.job_id, ErrorEntry.category)
            .where(ErrorEntry.scan_id == scan_id)
            .order_by(ErrorEntry.id.desc())
        ).all()
        return {job_id: ErrorCategory(cat) for job_id, cat in rows if job_id is not None}

    def _finalize(self, s: Session, scan: Scan) -> ScanStatus | None:
        """Compute and store a scan's final status from its jobs, if it is not final yet
        (inside the caller's transaction); None when someone else finalised it."""
        jobs = s.scalars(select(Job).where(Job.scan_id == scan.id).order_by(Job.id)).all()
        categories = self._first_categories(s, scan.id)
        facts = [JobFacts(j.unit, JobStatus(j.status), categories.get(j.id)) for j in jobs]
        status, message = self.rules.final(
            scan.stop_requested_at is not None, facts, scan.stopped_by
        )
        ok = sum(1 for f in facts if f.status is JobStatus.SUCCEEDED)
        failed = sum(1 for f in facts if f.status in (JobStatus.FAILED, JobStatus.INTERRUPTED))
        done = sum(1 for f in facts if f.status.is_finished)
        ended = s.execute(
            update(Scan)
            .where(Scan.id == scan.id, Scan.status.in_(ACTIVE_STATUSES))
            .values(
                status=status.value,
                status_message=message,
                finished_at=_now(),
                jobs_total=len(jobs),
                jobs_done=done,
                jobs_ok=ok,
                jobs_failed=failed,
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(ended) != 1:
            return None
        ProjectRepo(s).set_last_status(scan.id, status.value)
        return status

    def job_counts(self, scan_id: int) -> tuple[int, int]:
        """(jobs done, jobs total) of a scan."""
        with self.db.read() as s:
            row = s.execute(
                select(Scan.jobs_done, Scan.jobs_total).where(Scan.id == scan_id)
            ).first()
            return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def unfinished_jobs(self, scan_id: int) -> int:
        """How many of a scan's jobs are queued or running."""
        with self.db.read() as s:
            return int(
                s.scalar(
                    select(func.count(Job.id)).where(
                        Job.scan_id == scan_id, Job.status.in_(UNFINISHED_JOBS)
                    )
                )
                or 0
            )


def _owner_row(o: Owner) -> OwnerRow:
    return OwnerRow(o.id, o.host, o.pid, o.start_ticks, o.boot_id, o.lease_expires_at)
