"""The scan engine: runs a scan's jobs, records results, honours Stop, recovers after crashes.

Flow of one scan (`run_scan`): mark it Running, prepare (open the cloud session and plan the
units), create one job per unit, run the jobs on the executor, write their results, then set
the final status and status message (bot.engine.status). Job results go through one writer
thread (`_Recorder`) that batches them into few transactions, which keeps SQLite's single
writer from becoming the bottleneck, and that also heartbeats the running scans and notices
Stop requests made by other processes (the CLI's `scan stop`, another bot replica).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from bot.domain import (
    CancelToken,
    CloudCallError,
    CloudError,
    Credentials,
    ErrorCategory,
    JobStatus,
    Provider,
    ScanCancelled,
    ScanStatus,
)
from bot.engine.executor import JobExecutor, thread_pool
from bot.engine.jobs import ErrorRecord, JobRunner, UnitOutcome
from bot.engine.status import JobOutcome, final_status, status_message
from bot.errors import NotFoundError
from bot.redaction import redact, redact_one_line
from storage.db import Database
from storage.models import Connector, ErrorEntry, Finding, Job, Project, Scan
from storage.repositories import ProjectRepo

log = logging.getLogger(__name__)

PLAN_UNIT = "plan"
"""The pseudo-unit of the single failed job recorded when a scan cannot even be planned."""


def _now() -> datetime:
    return datetime.now(UTC)


def process_owner() -> str:
    """Identifies this process in `scans.owner`: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ScanEvent:
    """Told to listeners (Slack progress messages, alerts) as a scan moves."""

    scan_id: int
    project_id: int
    kind: str  # "started", "job_finished", "finished"
    status: ScanStatus


ScanListener = Callable[[ScanEvent], None]


@dataclass
class _JobDone:
    job_id: int
    status: JobStatus
    unit: str
    outcome: UnitOutcome | None
    message: str
    at: datetime = field(default_factory=_now)


@dataclass
class _JobStarted:
    job_id: int
    at: datetime = field(default_factory=_now)


@dataclass
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


class _Recorder:
    """One writer thread: batches job results, heartbeats scans, polls Stop requests."""

    BATCH = 200

    def __init__(self, engine: ScanEngine) -> None:
        self.engine = engine
        self.queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="cspm-recorder", daemon=True)
        self._stopping = threading.Event()
        self._thread.start()

    def put(self, item: Any) -> None:
        self.queue.put(item)

    def flush(self) -> None:
        """Block until everything queued so far is written (by the caller itself once the
        writer thread has stopped, so nothing is lost and nobody waits forever)."""
        marker = _Flush()
        self.queue.put(marker)
        while not marker.done.wait(0.2):
            if not self._thread.is_alive():
                self._drain_inline()

    def _drain_inline(self) -> None:
        batch: list[Any] = []
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                batch.append(item)
        self._write(batch)
        for item in batch:
            if isinstance(item, _Flush):
                item.done.set()

    def close(self) -> None:
        self._stopping.set()
        self.queue.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        interval = self.engine.heartbeat_seconds
        last_beat = 0.0
        import time

        while True:
            try:
                first = self.queue.get(timeout=interval)
            except queue.Empty:
                first = None
            batch = [first] if first is not None else []
            while len(batch) < self.BATCH:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            try:
                self._write(batch)
            except Exception:
                log.exception("failed to record job results")
            for item in batch:
                if isinstance(item, _Flush):
                    item.done.set()
            if time.monotonic() - last_beat >= interval:
                last_beat = time.monotonic()
                try:
                    self.engine._heartbeat()
                except Exception:
                    log.exception("heartbeat failed")
            if self._stopping.is_set() and self.queue.empty():
                return

    def _write(self, batch: list[Any]) -> None:
        started = [i for i in batch if isinstance(i, _JobStarted)]
        done = [i for i in batch if isinstance(i, _JobDone)]
        if not started and not done:
            return
        with self.engine.db.unit_of_work() as s:
            for begun in started:
                s.execute(
                    update(Job)
                    .where(Job.id == begun.job_id, Job.status == JobStatus.QUEUED.value)
                    .values(status=JobStatus.RUNNING.value, started_at=begun.at)
                )
            findings: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            for item in done:
                failed_count = total = 0
                if item.outcome is not None:
                    scan_id = self.engine._scan_of_job[item.job_id]
                    for f in item.outcome.findings:
                        total += 1
                        failed_count += 0 if f.result.passed else 1
                        findings.append(
                            {
                                "scan_id": scan_id,
                                "job_id": item.job_id,
                                "check_id": f.check_id,
                                "resource": f.result.resource[:500],
                                "region": f.result.region[:64],
                                "severity": f.severity,
                                "passed": f.result.passed,
                                "detail": f.result.detail[:1000],
                            }
                        )
                    for e in item.outcome.errors:
                        errors.append(
                            _error_row(scan_id, item.job_id, item.unit, e.error, e.check_id)
                        )
                s.execute(
                    update(Job)
                    .where(Job.id == item.job_id)
                    .values(
                        status=item.status.value,
                        message=item.message[:300],
                        finished_at=item.at,
                        findings_failed=failed_count,
                        findings_total=total,
                    )
                )
            if findings:
                s.execute(insert(Finding), findings)
            if errors:
                s.execute(insert(ErrorEntry), errors)
            for scan_id in {self.engine._scan_of_job[d.job_id] for d in done}:
                _refresh_running_counts(s, scan_id)


def _refresh_running_counts(s: Any, scan_id: int) -> None:
    """Keep a running scan's counters and status message current for progress views."""
    rows = s.execute(select(Job.unit, Job.status).where(Job.scan_id == scan_id)).all()
    outcomes = [JobOutcome(unit, JobStatus(st)) for unit, st in rows]
    s.execute(
        update(Scan)
        .where(Scan.id == scan_id, Scan.status == ScanStatus.RUNNING.value)
        .values(
            jobs_ok=sum(1 for o in outcomes if o.status is JobStatus.SUCCEEDED),
            jobs_failed=sum(1 for o in outcomes if o.status is JobStatus.FAILED),
            status_message=status_message(ScanStatus.RUNNING, outcomes),
        )
    )


def _error_row(
    scan_id: int, job_id: int | None, unit: str, error: CloudError, check_id: str | None
) -> dict[str, Any]:
    # Adapters redact already; redacting again here is the last line of defence.
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
        "created_at": _now(),
    }


CredentialLoader = Callable[[int], tuple[Provider, Credentials]]


class ScanEngine:
    """Runs scans. One per process; thread-safe."""

    def __init__(
        self,
        db: Database,
        runner: JobRunner,
        load_credentials: CredentialLoader,
        concurrency: int = 8,
        heartbeat_seconds: float = 5.0,
        executor: JobExecutor | None = None,
    ) -> None:
        self.db = db
        self.runner = runner
        self.load_credentials = load_credentials
        self.heartbeat_seconds = heartbeat_seconds
        self.owner = process_owner()
        self._jobs = executor or thread_pool(concurrency)
        self._scans = ThreadPoolExecutor(max_workers=32, thread_name_prefix="cspm-scan")
        self._tokens: dict[int, CancelToken] = {}
        self._scan_of_job: dict[int, int] = {}
        self._lock = threading.Lock()
        self._listeners: list[ScanListener] = []
        self._closing = False  # set by shutdown(wait_for_scans=False): cancels mean interrupted
        self._recorder = _Recorder(self)

    # --- public API ------------------------------------------------------------------------
    def add_listener(self, listener: ScanListener) -> None:
        """Call `listener` on every scan event (from engine threads; keep it quick)."""
        self._listeners.append(listener)

    def submit(self, scan_id: int) -> Future[ScanStatus]:
        """Run a queued scan in the background."""
        return self._scans.submit(self.run_scan, scan_id)

    def cancel(self, scan_id: int) -> bool:
        """Stop a scan running in this process now; returns False if it is not here."""
        with self._lock:
            token = self._tokens.get(scan_id)
        if token is None:
            return False
        token.cancel()
        return True

    def shutdown(self, wait_for_scans: bool = True) -> None:
        """Stop the pools and the writer.

        `wait_for_scans=False` interrupts running scans: their jobs stop at the next cloud
        call and are recorded as interrupted, so each scan still gets its true status (as
        after a crash, but without waiting for the next start to recover it).
        """
        if not wait_for_scans:
            self._closing = True
            with self._lock:
                tokens = list(self._tokens.values())
            for token in tokens:
                token.cancel()
        self._scans.shutdown(wait=True)
        self._jobs.shutdown(wait=True)
        self._recorder.close()

    def run_scan(self, scan_id: int) -> ScanStatus:
        """Run a queued scan to its end and return its final status."""
        token = CancelToken()
        with self._lock:
            self._tokens[scan_id] = token
        try:
            return self._run(scan_id, token)
        except Exception:
            log.exception("scan %s crashed; recording it as failed", scan_id)
            return self._fail_unexpectedly(scan_id)
        finally:
            with self._lock:
                self._tokens.pop(scan_id, None)

    # --- one scan -------------------------------------------------------------------------
    def _run(self, scan_id: int, token: CancelToken) -> ScanStatus:
        with self.db.unit_of_work() as s:
            scan = s.get(Scan, scan_id)
            if scan is None or scan.status != ScanStatus.QUEUED.value:
                raise RuntimeError(f"scan {scan_id} is not queued")
            project = s.get(Project, scan.project_id)
            assert project is not None
            scan.status = ScanStatus.RUNNING.value
            scan.started_at = _now()
            scan.owner = self.owner
            scan.heartbeat_at = _now()
            scan.status_message = status_message(ScanStatus.RUNNING, [])
            ProjectRepo(s).set_last_status(scan_id, ScanStatus.RUNNING.value)
            queued_with = s.get(Connector, scan.connector_id)
            if queued_with is None or queued_with.is_deleted:
                # Replaced since the scan was queued: scan with what the project uses now.
                scan.connector_id = project.connector_id
            project_id, connector_id = project.id, scan.connector_id
            scope, check_ids = list(project.scope), list(project.check_ids)
            if scan.stop_requested_at is not None:
                token.cancel()
        self._emit(scan_id, project_id, "started", ScanStatus.RUNNING)

        try:
            provider, creds = self.load_credentials(connector_id)
        except NotFoundError:
            log.warning("scan %s: its connector %s was deleted", scan_id, connector_id)
            self._record_plan_failure(scan_id, CONNECTOR_DELETED)
            return self._finish(scan_id, project_id)
        try:
            token.checkpoint()
            prepared = self.runner.prepare(provider, creds, scope, check_ids, token)
        except ScanCancelled:
            if self._closing:
                status = mark_interrupted(self.db, scan_id)
                self._emit(scan_id, project_id, "finished", status)
                return status
            return self._finish(scan_id, project_id)
        except CloudCallError as exc:
            self._record_plan_failure(scan_id, exc.error)
            return self._finish(scan_id, project_id)

        if not prepared.units:
            self._record_plan_failure(
                scan_id,
                CloudError(
                    ErrorCategory.PERMISSION_DENIED,
                    "NoScanUnits",
                    "The connector reaches no region, subscription or project to scan.",
                    "Give the connector read access to at least one subscription or project, "
                    "or set the project's scope.",
                ),
            )
            return self._finish(scan_id, project_id)

        job_ids = self._create_jobs(scan_id, prepared.units)
        futures = [
            self._jobs.submit(self._run_job, scan_id, project_id, job_id, unit, prepared, token)
            for job_id, unit in zip(job_ids, prepared.units, strict=True)
        ]
        wait(futures)
        close = getattr(prepared, "close", None)
        if callable(close):
            close()
        self._recorder.flush()
        return self._finish(scan_id, project_id)

    def _create_jobs(self, scan_id: int, units: list[str]) -> list[int]:
        with self.db.unit_of_work() as s:
            jobs = [Job(scan_id=scan_id, unit=u, status=JobStatus.QUEUED.value) for u in units]
            s.add_all(jobs)
            s.flush()
            ids = [j.id for j in jobs]
            s.execute(update(Scan).where(Scan.id == scan_id).values(jobs_total=len(ids)))
        with self._lock:
            for job_id in ids:
                self._scan_of_job[job_id] = scan_id
        return ids

    def _run_job(
        self,
        scan_id: int,
        project_id: int,
        job_id: int,
        unit: str,
        prepared: Any,
        token: CancelToken,
    ) -> None:
        if token.cancelled:
            self._recorder.put(self._cancelled(job_id, unit, "Stopped"))
            return
        self._recorder.put(_JobStarted(job_id))
        try:
            outcome: UnitOutcome = prepared.run_unit(unit, token)
        except ScanCancelled:
            self._recorder.put(self._cancelled(job_id, unit, "Stopped while running"))
            return
        except Exception as exc:  # a bug in a check must not take the scan down
            log.exception("job %s (%s) crashed", job_id, unit)
            outcome = UnitOutcome()
            outcome.errors.append(
                ErrorRecord(
                    CloudError(
                        ErrorCategory.UNKNOWN,
                        type(exc).__name__,
                        "Unexpected processing error in the scanner.",
                        "Contact support with the error details.",
                        redact(str(exc)),
                    )
                )
            )
        if outcome.failed:
            first = outcome.errors[0].error
            message = f"{first.category.label}: {first.message}"
            status = JobStatus.FAILED
        else:
            failing = sum(1 for f in outcome.findings if not f.result.passed)
            message = f"{len(outcome.findings)} resources checked, {failing} failing"
            status = JobStatus.SUCCEEDED
        self._recorder.put(_JobDone(job_id, status, unit, outcome, message))
        self._emit(scan_id, project_id, "job_finished", ScanStatus.RUNNING)

    def _cancelled(self, job_id: int, unit: str, message: str) -> _JobDone:
        """A job ended by Stop, or by the bot shutting down (then it is interrupted)."""
        if self._closing:
            outcome = UnitOutcome(errors=[ErrorRecord(INTERRUPTED_ERROR)])
            return _JobDone(job_id, JobStatus.INTERRUPTED, unit, outcome, INTERRUPTED_ERROR.message)
        return _JobDone(job_id, JobStatus.CANCELLED, unit, None, message)

    def _record_plan_failure(self, scan_id: int, error: CloudError) -> None:
        with self.db.unit_of_work() as s:
            job = Job(
                scan_id=scan_id,
                unit=PLAN_UNIT,
                status=JobStatus.FAILED.value,
                message=f"{error.category.label}: {error.message}"[:300],
                started_at=_now(),
                finished_at=_now(),
            )
            s.add(job)
            s.flush()
            s.execute(insert(ErrorEntry), [_error_row(scan_id, job.id, PLAN_UNIT, error, None)])

    def _finish(self, scan_id: int, project_id: int) -> ScanStatus:
        status = finalize_scan(self.db, scan_id)
        self._emit(scan_id, project_id, "finished", status)
        return status

    def _fail_unexpectedly(self, scan_id: int) -> ScanStatus:
        try:
            with self.db.read() as s:
                scan = s.get(Scan, scan_id)
                project_id = scan.project_id if scan else 0
                active = scan is not None and ScanStatus(scan.status).is_active
            if not active:
                return ScanStatus(scan.status) if scan else ScanStatus.FAILED
            self._record_plan_failure(
                scan_id,
                CloudError(
                    ErrorCategory.UNKNOWN,
                    "InternalError",
                    "The scanner hit an unexpected error.",
                    "Contact support with the error details.",
                ),
            )
            return self._finish(scan_id, project_id)
        except Exception:
            log.exception("could not record the failure of scan %s", scan_id)
            return ScanStatus.FAILED

    def _emit(self, scan_id: int, project_id: int, kind: str, status: ScanStatus) -> None:
        for listener in list(self._listeners):
            try:
                listener(ScanEvent(scan_id, project_id, kind, status))
            except Exception:
                log.exception("scan listener failed")

    def _heartbeat(self) -> None:
        """Mark our running scans alive and pick up Stop requests made elsewhere."""
        with self._lock:
            ids = list(self._tokens)
        if not ids:
            return
        with self.db.unit_of_work() as s:
            s.execute(update(Scan).where(Scan.id.in_(ids)).values(heartbeat_at=_now()))
            stopped = s.scalars(
                select(Scan.id).where(Scan.id.in_(ids), Scan.stop_requested_at.is_not(None))
            ).all()
        for scan_id in stopped:
            self.cancel(scan_id)

    # --- crash recovery -----------------------------------------------------------------
    def recover(self, stale_after: timedelta | None = None) -> list[int]:
        """Finish scans left Queued/Running by a dead process; returns their ids.

        A scan is orphaned when its owner is a process of this host that no longer exists,
        or when its heartbeat is older than `stale_after` (default: 3 heartbeats).
        """
        stale_after = stale_after or timedelta(seconds=self.heartbeat_seconds * 3)
        cutoff = _now() - stale_after
        host = socket.gethostname()
        orphans: list[int] = []
        with self.db.read() as s:
            for scan in s.scalars(select(Scan).where(Scan.status.in_(("queued", "running")))):
                with self._lock:
                    if scan.id in self._tokens:
                        continue
                beat = scan.heartbeat_at or scan.created_at
                owner_host, _, pid = (scan.owner or "").rpartition(":")
                dead_here = owner_host == host and pid.isdigit() and not _pid_alive(int(pid))
                if dead_here or beat < cutoff:
                    orphans.append(scan.id)
        for scan_id in orphans:
            mark_interrupted(self.db, scan_id)
            log.warning("scan %s was interrupted by a crash; recorded its true status", scan_id)
        return orphans


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Its category leads to the same next step as rejected credentials: replace the connector.
CONNECTOR_DELETED = CloudError(
    ErrorCategory.INVALID_CREDENTIALS,
    "ConnectorDeleted",
    "The project's connector was deleted, so the scan had no credentials to use.",
    "Replace the connector with working credentials, then re-run the scan.",
)

INTERRUPTED_ERROR = CloudError(
    ErrorCategory.TEMPORARY,
    "Interrupted",
    "The bot process stopped while this job was pending or running.",
    "Re-run the scan.",
)


def mark_interrupted(db: Database, scan_id: int) -> ScanStatus:
    """Mark a dead scan's unfinished jobs interrupted, then give the scan its true status."""
    with db.unit_of_work() as s:
        unfinished = s.scalars(
            select(Job).where(
                Job.scan_id == scan_id,
                Job.status.in_((JobStatus.QUEUED.value, JobStatus.RUNNING.value)),
            )
        ).all()
        for job in unfinished:
            job.status = JobStatus.INTERRUPTED.value
            job.message = INTERRUPTED_ERROR.message
            job.finished_at = _now()
            s.add(ErrorEntry(**_error_row(scan_id, job.id, job.unit, INTERRUPTED_ERROR, None)))
        if not unfinished and not s.scalar(select(Job.id).where(Job.scan_id == scan_id)):
            job = Job(
                scan_id=scan_id,
                unit=PLAN_UNIT,
                status=JobStatus.INTERRUPTED.value,
                message=INTERRUPTED_ERROR.message,
                finished_at=_now(),
            )
            s.add(job)
            s.flush()
            s.add(ErrorEntry(**_error_row(scan_id, job.id, PLAN_UNIT, INTERRUPTED_ERROR, None)))
    return finalize_scan(db, scan_id)


def finalize_scan(db: Database, scan_id: int) -> ScanStatus:
    """Compute and store a finished scan's status, message and job counts from its jobs."""
    with db.unit_of_work() as s:
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
        outcomes = [
            JobOutcome(
                j.unit,
                JobStatus(j.status),
                ErrorCategory(first_category[j.id]) if j.id in first_category else None,
            )
            for j in jobs
        ]
        status = final_status(scan.stop_requested_at is not None, outcomes)
        scan.status = status.value
        ProjectRepo(s).set_last_status(scan_id, status.value)
        scan.status_message = status_message(status, outcomes, scan.stopped_by)
        scan.finished_at = _now()
        scan.jobs_total = len(jobs)
        scan.jobs_ok = sum(1 for o in outcomes if o.status is JobStatus.SUCCEEDED)
        scan.jobs_failed = sum(
            1 for o in outcomes if o.status in (JobStatus.FAILED, JobStatus.INTERRUPTED)
        )
        return status
