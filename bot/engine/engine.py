"""The scan engine: runs a scan's jobs, records results, honours Stop, recovers after crashes.

Flow of one scan (`run_scan`): mark it Running, prepare (open the cloud session and plan the
units), create one job per unit, run the jobs on the executor, write their results, then set
the final status and status message (rules: bot.engine.status). Every row is written by the
result writer (`storage.results.ResultWriter`); job results reach it through one thread
(`_Recorder`) that batches them into few transactions, which keeps SQLite's single writer from
becoming the bottleneck, and that also heartbeats the running scans and notices Stop requests
made by other processes (the CLI's `scan stop`, another bot replica).

Scans are started by `ScanService.start` (bot.services.scans), which queues the scan and hands
it to `submit`.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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
from bot.engine.status import ScanStatusRules
from bot.errors import NotFoundError
from bot.redaction import redact
from storage.db import Database
from storage.results import (
    PLAN_UNIT,
    FindingResult,
    JobError,
    JobFinished,
    JobStarted,
    ResultWriter,
    ScanNotQueued,
)

log = logging.getLogger(__name__)

__all__ = ["PLAN_UNIT", "ScanEngine", "ScanEvent", "process_owner"]


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
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


class _Recorder:
    """One writer thread: batches job results into few transactions (so SQLite's single
    writer is no bottleneck), heartbeats running scans and polls Stop requests. The rows are
    written by the result writer (`storage.results`)."""

    BATCH = 200

    def __init__(self, engine: ScanEngine) -> None:
        self.engine = engine
        self.queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="cspm-recorder", daemon=True)
        self._stopping = threading.Event()
        self._thread.start()

    def put(self, item: JobStarted | JobFinished) -> None:
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
        self.engine.writer.write(
            [i for i in batch if isinstance(i, JobStarted)],
            [i for i in batch if isinstance(i, JobFinished)],
        )


def _finished(
    scan_id: int, job_id: int, unit: str, status: JobStatus, message: str, outcome: UnitOutcome
) -> JobFinished:
    """A job's result as the result writer records it."""
    return JobFinished(
        job_id=job_id,
        scan_id=scan_id,
        unit=unit,
        status=status,
        message=message,
        findings=[
            FindingResult(
                f.check_id,
                f.severity,
                f.result.resource,
                f.result.region,
                f.result.passed,
                f.result.detail,
            )
            for f in outcome.findings
        ],
        errors=[JobError(e.error, e.check_id) for e in outcome.errors],
    )


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
        self.writer = ResultWriter(db, ScanStatusRules())
        self.runner = runner
        self.load_credentials = load_credentials
        self.heartbeat_seconds = heartbeat_seconds
        self.owner = process_owner()
        self._jobs = executor or thread_pool(concurrency)
        self._scans = ThreadPoolExecutor(max_workers=32, thread_name_prefix="cspm-scan")
        self._tokens: dict[int, CancelToken] = {}
        self._running: dict[int, Future[ScanStatus]] = {}
        self._lock = threading.Lock()
        self._listeners: list[ScanListener] = []
        self._closing = False  # set by shutdown(wait_for_scans=False): cancels mean interrupted
        self._recorder = _Recorder(self)

    # --- public API ------------------------------------------------------------------------
    def add_listener(self, listener: ScanListener) -> None:
        """Call `listener` on every scan event (from engine threads; keep it quick)."""
        self._listeners.append(listener)

    def submit(self, scan_id: int) -> Future[ScanStatus]:
        """Run a queued scan in the background (`ScanService.start` calls this)."""
        future = self._scans.submit(self.run_scan, scan_id)
        with self._lock:
            self._running[scan_id] = future
        future.add_done_callback(lambda _: self._forget(scan_id, future))
        return future

    def _forget(self, scan_id: int, future: Future[ScanStatus]) -> None:
        with self._lock:
            if self._running.get(scan_id) is future:
                del self._running[scan_id]

    def wait(self, scan_id: int, timeout: float | None = None) -> ScanStatus | None:
        """The final status of a scan submitted here, once it ends within `timeout` seconds;
        None if it is still running then, or is not (any more) running in this process."""
        with self._lock:
            future = self._running.get(scan_id)
        if future is None:
            return None
        try:
            return future.result(timeout)
        except FutureTimeout:
            return None

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
        try:
            plan = self.writer.begin(scan_id, self.owner)
        except ScanNotQueued as exc:
            raise RuntimeError(str(exc)) from None
        project_id, connector_id = plan.project_id, plan.connector_id
        scope, check_ids = list(plan.scope), list(plan.check_ids)
        if plan.stop_requested:
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
                status = self.writer.mark_interrupted(scan_id, INTERRUPTED_ERROR)
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
        return self.writer.create_jobs(scan_id, units)

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
            self._recorder.put(self._cancelled(scan_id, job_id, unit, "Stopped"))
            return
        self._recorder.put(JobStarted(job_id))
        try:
            outcome: UnitOutcome = prepared.run_unit(unit, token)
        except ScanCancelled:
            self._recorder.put(self._cancelled(scan_id, job_id, unit, "Stopped while running"))
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
        self._recorder.put(_finished(scan_id, job_id, unit, status, message, outcome))
        self._emit(scan_id, project_id, "job_finished", ScanStatus.RUNNING)

    def _cancelled(self, scan_id: int, job_id: int, unit: str, message: str) -> JobFinished:
        """A job ended by Stop, or by the bot shutting down (then it is interrupted)."""
        if self._closing:
            outcome = UnitOutcome(errors=[ErrorRecord(INTERRUPTED_ERROR)])
            return _finished(
                scan_id, job_id, unit, JobStatus.INTERRUPTED, INTERRUPTED_ERROR.message, outcome
            )
        return JobFinished(job_id, scan_id, unit, JobStatus.CANCELLED, message)

    def _record_plan_failure(self, scan_id: int, error: CloudError) -> None:
        self.writer.record_plan_failure(scan_id, error)

    def _finish(self, scan_id: int, project_id: int) -> ScanStatus:
        status = self.writer.finalize(scan_id)
        self._emit(scan_id, project_id, "finished", status)
        return status

    def _fail_unexpectedly(self, scan_id: int) -> ScanStatus:
        try:
            state = self.writer.scan_state(scan_id)
            if state is None:
                return ScanStatus.FAILED
            project_id, current = state
            if not current.is_active:
                return current
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
        for scan_id in self.writer.heartbeat(ids):
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
        for scan in self.writer.active_scans():
            with self._lock:
                if scan.scan_id in self._tokens:
                    continue
            owner_host, _, pid = (scan.owner or "").rpartition(":")
            dead_here = owner_host == host and pid.isdigit() and not _pid_alive(int(pid))
            if dead_here or scan.last_seen < cutoff:
                orphans.append(scan.scan_id)
        for scan_id in orphans:
            self.writer.mark_interrupted(scan_id, INTERRUPTED_ERROR)
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
