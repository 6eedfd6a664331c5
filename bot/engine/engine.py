"""The scan engine: plans scans, runs their jobs, honours Stop, recovers work of dead processes.

Work carries only ids, so each step can run in any process that has a `Runtime`:

- `plan_scan(scan_id)`: marks the queued scan Running (only if it is still queued), loads the
  connector, opens a cloud session, plans the units, creates one job row per unit with
  `jobs_total`, then hands each job to the dispatcher (`bot.engine.dispatch`).
- `run_job(scan_id, job_id)`: claims the job (a job already final, or held by a live process,
  is not run again; the delivery is counted), loads the connector, opens its own cloud
  session, runs the unit's checks and writes the result itself, in one transaction that
  also counts it in `scans.jobs_done`. The job that brings `jobs_done` to `jobs_total`
  finalises the scan (rules: bot.engine.status), once.

Every row is written by the result writer (`storage.results.ResultWriter`), conditionally: a
process that finds its scan or job taken over writes nothing more.

Ownership is provable (bot.engine.ownership): each process that plans or runs work has an
owner row (host, pid, process start time, boot id) and a lease that a dedicated heartbeat
thread extends, on a database connection of its own. `recover()` takes over only work whose
holder is shown dead on this host, or whose lease expired on another host more than a grace
period ago. A stop watcher thread polls the Stop flag of the scans whose jobs run here
(every `stop_poll_seconds`, at most 0.5 s) and cancels their tokens, which the adapters check
before every cloud call: a Stop made anywhere reaches running jobs at their next call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

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
from bot.engine.dispatch import InProcessDispatcher, JobDispatcher
from bot.engine.jobs import ErrorRecord, JobRunner, ScanTarget, UnitOutcome, UnitSession
from bot.engine.ownership import OwnerFacts, ProcessIdentity, describe, is_dead, this_process
from bot.engine.status import ScanStatusRules
from bot.errors import CspmError, DatabaseUnavailableError, NotFoundError
from bot.redaction import redact
from storage.db import Database
from storage.results import (
    PLAN_UNIT,
    FindingResult,
    JobClaim,
    JobError,
    JobFinished,
    OwnerLeases,
    OwnerRow,
    ResultWriter,
    ScanNotQueued,
    ScanPlan,
    Written,
)

log = logging.getLogger(__name__)

__all__ = ["PLAN_UNIT", "ScanEngine", "ScanEvent", "process_owner"]

T = TypeVar("T")

DEFAULT_TAKEOVER_GRACE = timedelta(minutes=10)
STOP_POLL_SECONDS = 0.25
DB_RETRY_FIRST = 0.5
"""Seconds before the first new attempt at a write the database refused for a while."""
DB_RETRY_MAX = 5.0
"""Longest pause between attempts while the database is unavailable."""
DB_RETRY_WARN_EVERY = 60.0
"""A long outage is logged again every this many seconds."""


def _now() -> datetime:
    return datetime.now(UTC)


def process_owner() -> str:
    """Identifies this process for people: host and pid."""
    return describe(this_process())


@dataclass(frozen=True)
class ScanEvent:
    """Told to listeners (Slack progress messages, alerts) as a scan moves."""

    scan_id: int
    project_id: int
    kind: str  # "started", "job_finished", "finished"
    status: ScanStatus


ScanListener = Callable[[ScanEvent], None]
CredentialLoader = Callable[[int], tuple[Provider, Credentials]]


@dataclass
class _LocalScan:
    """A scan with planning or jobs running in this process."""

    token: CancelToken = field(default_factory=CancelToken)
    users: int = 0
    taken_over: bool = False  # someone else finalised it: write nothing more


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


def _judge(outcome: UnitOutcome) -> tuple[JobStatus, str]:
    if outcome.failed:
        first = outcome.errors[0].error
        return JobStatus.FAILED, f"{first.category.label}: {first.message}"
    failing = sum(1 for f in outcome.findings if not f.result.passed)
    return JobStatus.SUCCEEDED, f"{len(outcome.findings)} resources checked, {failing} failing"


class ScanEngine:
    """Plans scans and runs jobs given by id. One per process; thread-safe."""

    def __init__(
        self,
        db: Database,
        runner: JobRunner,
        load_credentials: CredentialLoader,
        concurrency: int = 8,
        heartbeat_seconds: float = 5.0,
        takeover_grace: timedelta = DEFAULT_TAKEOVER_GRACE,
        stop_poll_seconds: float = STOP_POLL_SECONDS,
        dispatcher: JobDispatcher | None = None,
    ) -> None:
        self.db = db
        self.writer = ResultWriter(db, ScanStatusRules())
        self.runner = runner
        self.load_credentials = load_credentials
        self.heartbeat_seconds = heartbeat_seconds
        self.lease = timedelta(seconds=heartbeat_seconds * 3)
        self.takeover_grace = takeover_grace
        self.stop_poll_seconds = min(stop_poll_seconds, 0.5)
        self.identity: ProcessIdentity = this_process()
        self.owner = describe(self.identity)
        self.dispatcher: JobDispatcher = dispatcher or InProcessDispatcher(self, concurrency)
        self._owner_id: int | None = None
        self._monitor_db: Database | None = None
        self._leases: OwnerLeases | None = None
        self._local: dict[int, _LocalScan] = {}
        self._lock = threading.Lock()
        self._listeners: list[ScanListener] = []
        self._closing = False  # set by shutdown(wait_for_scans=False): cancels mean interrupted
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- public API ------------------------------------------------------------------------
    def add_listener(self, listener: ScanListener) -> None:
        """Call `listener` on every scan event (from engine threads; keep it quick)."""
        self._listeners.append(listener)

    def use_dispatcher(self, dispatcher: JobDispatcher) -> None:
        """Send planned jobs through `dispatcher` (set before any scan starts)."""
        self.dispatcher = dispatcher

    @property
    def owner_id(self) -> int:
        """This process's owner row (registered, and its heartbeat started, on first use)."""
        return self._ensure_owner()

    def hold_queued(self, scan_id: int) -> None:
        """Record this process as the holder of a queued scan it keeps in memory."""
        self.writer.hold_queued(scan_id, self._ensure_owner())

    def cancel(self, scan_id: int) -> bool:
        """Stop a scan's work running in this process now; False if none runs here."""
        with self._lock:
            local = self._local.get(scan_id)
        if local is None:
            return False
        local.token.cancel()
        return True

    def running_here(self) -> list[int]:
        """Ids of the scans with planning or jobs running in this process."""
        with self._lock:
            return list(self._local)

    def shutdown(self, wait_for_scans: bool = True) -> None:
        """Stop the dispatcher and the engine's threads.

        `wait_for_scans=False` interrupts running work: jobs stop at the next cloud call and
        are recorded as interrupted, so each scan still gets its true status (as after a
        crash, but without waiting for a recovery).
        """
        if not wait_for_scans:
            self._closing = True
            with self._lock:
                tokens = [local.token for local in self._local.values()]
            for token in tokens:
                token.cancel()
        self.dispatcher.shutdown(wait=True)
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._monitor_db is not None and self._monitor_db is not self.db:
            self._monitor_db.dispose()

    # --- planning ----------------------------------------------------------------------------
    def plan_scan(self, scan_id: int) -> None:
        """Mark a queued scan Running, plan its units, create its jobs and dispatch them.

        A scan that is no longer queued (planned elsewhere, stopped, recovered) is left alone.
        """
        owner = self._ensure_owner()
        if self._closing:
            self._interrupt_own(scan_id, owner)
            return
        try:
            plan = self._write(
                self.writer.begin, scan_id, owner, self.owner, self._may_resume(scan_id)
            )
        except ScanNotQueued:
            log.info("scan %s is not queued any more; not planning it", scan_id)
            return
        local = self._enter(scan_id)
        try:
            if plan.stop_requested:
                local.token.cancel()
            if plan.resumed:
                log.warning("scan %s: its planner died; planning it here", scan_id)
            else:
                self._emit(scan_id, plan.project_id, "started", ScanStatus.RUNNING)
            if plan.resumed and plan.jobs_total:
                self._redispatch(scan_id)
                return
            self._plan(scan_id, owner, plan, local)
        except Exception:
            log.exception("planning scan %s crashed; recording it as failed", scan_id)
            self._plan_failed(scan_id, owner, INTERNAL)
        finally:
            self._leave(scan_id)

    def _plan(self, scan_id: int, owner: int, plan: ScanPlan, local: _LocalScan) -> None:
        try:
            provider, creds = self._write(self.load_credentials, plan.connector_id)
        except NotFoundError:
            log.warning("scan %s: its connector %s was deleted", scan_id, plan.connector_id)
            self._plan_failed(scan_id, owner, DELETED)
            return
        target = ScanTarget(
            scan_id, provider, creds, plan.scope, plan.check_ids, account=plan.target
        )
        try:
            local.token.checkpoint()
            units = self.runner.plan(target, local.token)
        except ScanCancelled:
            if local.taken_over:
                return
            if self._closing:
                self._interrupt_own(scan_id, owner)
            else:
                self._after(scan_id, self._write(self.writer.end_unplanned, scan_id, owner))
            return
        except CloudCallError as exc:
            self._plan_failed(scan_id, owner, exc.error)
            return
        if not units:
            self._plan_failed(scan_id, owner, NO_UNITS)
            return
        holder = owner if getattr(self.dispatcher, "holds_queued_work", False) else None
        job_ids = self._write(self.writer.create_jobs, scan_id, units, owner, holder)
        if job_ids is None:
            log.warning("scan %s was taken over while it was being planned", scan_id)
            return
        for job_id in job_ids:
            self.dispatcher.dispatch_job(scan_id, job_id)

    def _may_resume(self, scan_id: int) -> Callable[[OwnerRow], bool]:
        """Whether a running scan held by `row` may be planned again here: its planner is
        dead, or it is this process and no thread of it works on the scan (a write whose
        commit was not acknowledged, tried again)."""

        def check(row: OwnerRow) -> bool:
            if row.owner_id == self._owner_id:
                with self._lock:
                    return scan_id not in self._local
            return self._may_take_over(row)

        return check

    def _redispatch(self, scan_id: int) -> None:
        """Hand out again the unfinished jobs of a scan whose planner died part-way through
        dispatching them: a job already run or running elsewhere is not run twice (its
        claim says so), one never handed out runs now."""
        job_ids = self._write(self.writer.unfinished_job_ids, scan_id)
        log.warning("scan %s: handing out its %d unfinished job(s) again", scan_id, len(job_ids))
        for job_id in job_ids:
            self.dispatcher.dispatch_job(scan_id, job_id)

    def fail_undispatched(self, scan_id: int, exc: BaseException) -> bool:
        """A queued scan that could not be handed to any process (the task queue is down)
        ends Failed with a temporary-error entry saying why; False if it was not queued."""
        message = (
            exc.message
            if isinstance(exc, CspmError)
            else "The scan could not be handed to a process that runs it."
        )
        error = CloudError(
            ErrorCategory.TEMPORARY,
            type(exc).__name__[:120],
            message,
            "Check that the task queue (CSPM_BROKER_URL) is reachable, then re-run the scan.",
        )
        written = self._write(self.writer.fail_queued, scan_id, error)
        self._after(scan_id, written)
        return written.final is not None

    def _plan_failed(self, scan_id: int, owner: int, error: CloudError) -> None:
        self._after(scan_id, self._write(self.writer.record_plan_failure, scan_id, owner, error))

    def _interrupt_own(self, scan_id: int, owner: int) -> None:
        """This process is shutting down: a scan it holds unplanned ends interrupted."""
        self._after(
            scan_id, self._write(self.writer.interrupt, scan_id, {owner}, INTERRUPTED_ERROR)
        )

    # --- one job -----------------------------------------------------------------------------
    def run_job(self, scan_id: int, job_id: int) -> None:
        """Run one job of a scan and write its result (see the module docstring).

        Safe to call again for the same job: a job already final, or running in a live
        process, is not run again (the delivery is counted in `jobs.attempts`).
        """
        owner = self._ensure_owner()
        claim = self._write(self.writer.claim_job, job_id, owner, self._may_take_over)
        if not claim.run:
            log.info(
                "job %s of scan %s not run: %s (delivery %d)",
                job_id,
                scan_id,
                claim.reason,
                claim.attempts,
            )
            return
        if claim.reason == "taken over":
            log.warning("job %s of scan %s taken over from a dead process", job_id, scan_id)
        local = self._enter(scan_id)
        try:
            if claim.stop_requested:
                local.token.cancel()
            item = self._run_claimed(scan_id, job_id, claim.unit, claim, local)
            if item is None:
                return
            written = self._write(self.writer.finish_job, item, owner)
            if not written.written:
                local.taken_over = True
                log.warning("job %s of scan %s: result not written, taken over", job_id, scan_id)
                return
            self._emit(scan_id, written.project_id, "job_finished", ScanStatus.RUNNING)
            self._after(scan_id, written)
        finally:
            self._leave(scan_id)

    def _run_claimed(
        self, scan_id: int, job_id: int, unit: str, claim: JobClaim, local: _LocalScan
    ) -> JobFinished | None:
        """Run a claimed job; its result, or None when nothing is to be written."""
        if local.token.cancelled or self._closing:
            return self._cancelled(scan_id, job_id, unit, "Stopped", local)
        session: UnitSession | None = None
        try:
            try:
                provider, creds = self._write(self.load_credentials, claim.connector_id)
            except NotFoundError:
                outcome = UnitOutcome(errors=[ErrorRecord(DELETED)])
            else:
                target = ScanTarget(
                    scan_id, provider, creds, claim.scope, claim.check_ids, account=claim.target
                )
                session = self.runner.open(target, local.token)
                outcome = session.run_unit(unit, local.token)
        except ScanCancelled:
            return self._cancelled(scan_id, job_id, unit, "Stopped while running", local)
        except CloudCallError as exc:
            outcome = UnitOutcome(errors=[ErrorRecord(exc.error)])
        except Exception as exc:  # a bug in a check must not take the scan down
            log.exception("job %s (%s) crashed", job_id, unit)
            outcome = UnitOutcome(
                errors=[
                    ErrorRecord(
                        CloudError(
                            ErrorCategory.UNKNOWN,
                            type(exc).__name__,
                            "Unexpected processing error in the scanner.",
                            "Contact support with the error details.",
                            redact(str(exc)),
                        )
                    )
                ]
            )
        finally:
            if session is not None:
                try:
                    session.close()
                except Exception:
                    log.warning("closing the cloud session of job %s failed", job_id)
        status, message = _judge(outcome)
        return _finished(scan_id, job_id, unit, status, message, outcome)

    def _cancelled(
        self, scan_id: int, job_id: int, unit: str, message: str, local: _LocalScan
    ) -> JobFinished | None:
        """A job ended by Stop, by the bot shutting down (then it is interrupted), or because
        someone else finalised its scan (then nothing is written)."""
        if local.taken_over:
            return None
        if self._closing:
            outcome = UnitOutcome(errors=[ErrorRecord(INTERRUPTED_ERROR)])
            return _finished(
                scan_id, job_id, unit, JobStatus.INTERRUPTED, INTERRUPTED_ERROR.message, outcome
            )
        return JobFinished(job_id, scan_id, unit, JobStatus.CANCELLED, message)

    # --- writes, events ------------------------------------------------------------------
    def _write(self, fn: Callable[..., T], *args: object) -> T:
        """Call a result-writer method (or a database read), trying again for as long as the
        database is unavailable (locked by another process, a server down or restarting):
        the process that holds the work is alive, so nobody else takes it over, and it must
        carry on once the database is back. Each write is one conditional transaction, so
        trying again never writes twice. Gives up only when this process shuts down."""
        delay = DB_RETRY_FIRST
        waited = 0.0
        warned_at = 0.0
        while True:
            try:
                return fn(*args)
            except Exception as exc:
                if not _is_transient(exc) or self._closing or self._stopped.is_set():
                    raise
                if waited == 0.0 or waited - warned_at >= DB_RETRY_WARN_EVERY:
                    warned_at = waited
                    log.warning(
                        "database busy or unavailable (%s) for %.0f s; trying again until it "
                        "is back",
                        type(exc).__name__,
                        waited,
                    )
            if self._stopped.wait(delay):
                continue  # shutting down: the next attempt is the last
            waited += delay
            delay = min(delay * 2, DB_RETRY_MAX)

    def _after(self, scan_id: int, written: Written) -> None:
        if written.final is not None:
            self._emit(scan_id, written.project_id, "finished", written.final)

    def _emit(self, scan_id: int, project_id: int, kind: str, status: ScanStatus) -> None:
        for listener in list(self._listeners):
            try:
                listener(ScanEvent(scan_id, project_id, kind, status))
            except Exception:
                log.exception("scan listener failed")

    # --- local work, ownership, Stop --------------------------------------------------------
    def _enter(self, scan_id: int) -> _LocalScan:
        with self._lock:
            local = self._local.setdefault(scan_id, _LocalScan())
            local.users += 1
            if self._closing:
                local.token.cancel()
            return local

    def _leave(self, scan_id: int) -> None:
        with self._lock:
            local = self._local.get(scan_id)
            if local is not None:
                local.users -= 1
                if local.users <= 0:
                    del self._local[scan_id]

    def _ensure_owner(self) -> int:
        with self._lock:
            if self._owner_id is not None:
                return self._owner_id
            if ":memory:" in self.db.url or self.db.url in ("sqlite://", "sqlite:///"):
                self._monitor_db = self.db
            else:
                self._monitor_db = Database(self.db.url)
            self._leases = OwnerLeases(self._monitor_db)
            me = self.identity
            self._owner_id = self._leases.register(
                me.host, me.pid, me.start_ticks, me.boot_id, self.lease
            )
            for target, name in (
                (self._heartbeat_loop, "cspm-heartbeat"),
                (self._stop_watch_loop, "cspm-stop-watch"),
            ):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
            return self._owner_id

    def _heartbeat_loop(self) -> None:
        """Extend this process's lease every heartbeat, on connections of its own."""
        assert self._leases is not None and self._owner_id is not None
        period = self.heartbeat_seconds
        while not self._stopped.wait(period):
            began = time.monotonic()
            try:
                self._leases.renew(self._owner_id, self.lease)
            except Exception as exc:
                log.warning("heartbeat failed: %s", type(exc).__name__)
            took = time.monotonic() - began
            if took > period:
                log.warning(
                    "heartbeat took %.1f s, longer than its %.1f s period (busy database?)",
                    took,
                    period,
                )

    def _stop_watch_loop(self) -> None:
        """Cancel the local work of scans stopped (or finalised) from anywhere."""
        assert self._leases is not None
        while not self._stopped.wait(self.stop_poll_seconds):
            ids = self.running_here()
            if not ids:
                continue
            try:
                flags = self._leases.flags(ids)
            except Exception as exc:
                log.warning("could not read Stop requests: %s", type(exc).__name__)
                continue
            for flag in flags:
                ended = not flag.status.is_active
                if not (flag.stop_requested or ended):
                    continue
                with self._lock:
                    local = self._local.get(flag.scan_id)
                if local is None:
                    continue
                if ended and not local.taken_over:
                    local.taken_over = True
                    log.info("scan %s is final; its work here stops", flag.scan_id)
                local.token.cancel()

    def _may_take_over(self, row: OwnerRow) -> bool:
        return row.owner_id != self._owner_id and is_dead(
            _facts(row), self.identity, _now(), self.takeover_grace
        )

    # --- crash recovery -----------------------------------------------------------------
    def recover(self) -> list[int]:
        """Take over work held by dead processes; returns the ids of the scans it finalised.

        Work is taken over only when its holder is shown dead on this host (pid gone, pid
        reused by a process started at another time, or the host rebooted), or runs on another
        host and its lease expired more than `takeover_grace` ago. A live holder whose
        heartbeat is late keeps its work.
        """
        work, owners = self.writer.active_work()
        now = _now()
        dead = {
            owner_id
            for owner_id, row in owners.items()
            if owner_id != self._owner_id
            and is_dead(_facts(row), self.identity, now, self.takeover_grace)
        }
        recovered: list[int] = []
        for item in work:
            if item.status is ScanStatus.QUEUED and item.owner_id is None:
                if self._recover_unheld(item.scan_id, item.queued_at, now):
                    recovered.append(item.scan_id)
                continue
            held = ({item.owner_id} | set(item.job_owner_ids)) & dead
            if not held:
                continue
            written = self._write(self.writer.interrupt, item.scan_id, held, INTERRUPTED_ERROR)
            if written.final is not None:
                recovered.append(item.scan_id)
                log.warning(
                    "scan %s: its process died; recorded its true status (%s)",
                    item.scan_id,
                    written.final.label,
                )
        return recovered

    def _recover_unheld(self, scan_id: int, queued_at: datetime | None, now: datetime) -> bool:
        """A queued scan that no process holds, queued more than the grace period ago: the
        process that queued it died before handing it out (embedded), or its plan message
        was lost (with a broker). Embedded, it ends Failed with a temporary-error entry
        (automatic retries re-run it); with a broker its plan is handed out again (planning
        twice is harmless: only one planner marks it running). True when it was ended."""
        if queued_at is None or queued_at + self.takeover_grace >= now:
            return False
        if not getattr(self.dispatcher, "holds_queued_work", False):
            try:
                self.dispatcher.dispatch_plan(scan_id)
            except Exception as exc:
                log.warning("scan %s: could not hand it out again (%s)", scan_id, exc)
                return False
            log.warning("scan %s was queued with no process holding it; handed out again", scan_id)
            return False
        written = self._write(self.writer.fail_queued, scan_id, NEVER_STARTED, {None})
        self._after(scan_id, written)
        if written.final is not None:
            log.warning("scan %s: the process that queued it died before it started", scan_id)
            return True
        return False


def _facts(row: OwnerRow) -> OwnerFacts:
    return OwnerFacts(
        row.owner_id,
        ProcessIdentity(row.host, row.pid, row.start_ticks, row.boot_id),
        row.lease_expires_at,
    )


def _is_transient(exc: BaseException) -> bool:
    """A database that is locked or unreachable for a while: the storage layer's
    `DatabaseUnavailableError` saying so, or a driver error it did not explain
    (SQLAlchemy's OperationalError)."""
    if isinstance(exc, DatabaseUnavailableError):
        return exc.transient
    return type(exc).__name__ == "OperationalError"


# Its category leads to the same next step as rejected credentials: replace the connector.
DELETED = CloudError(
    ErrorCategory.INVALID_CREDENTIALS,
    "ConnectorDeleted",
    "The project's connector was deleted, so the scan had no credentials to use.",
    "Replace the connector with working credentials, then re-run the scan.",
)
CONNECTOR_DELETED = DELETED

NO_UNITS = CloudError(
    ErrorCategory.PERMISSION_DENIED,
    "NoScanUnits",
    "The connector reaches no region, subscription or project to scan.",
    "Give the connector read access to at least one subscription or project, "
    "or set the project's scope.",
)

INTERNAL = CloudError(
    ErrorCategory.UNKNOWN,
    "InternalError",
    "The scanner hit an unexpected error.",
    "Contact support with the error details.",
)

NEVER_STARTED = CloudError(
    ErrorCategory.TEMPORARY,
    "Interrupted",
    "The bot process that queued this scan stopped before the scan started.",
    "Re-run the scan.",
)

INTERRUPTED_ERROR = CloudError(
    ErrorCategory.TEMPORARY,
    "Interrupted",
    "The bot process stopped while this job was pending or running.",
    "Re-run the scan.",
)
