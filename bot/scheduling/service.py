"""`SchedulingService`: scheduled scans, digests, alerts and retries for one bot process.

Start it with `start_scheduling(rt, client)` (the serve command does) and `stop()` it at exit.
It runs:

- an APScheduler 3 `BackgroundScheduler` on the project's database (job store
  `apscheduler_jobs`), kept *paused* unless this process holds the scheduler lease;
- a keeper thread that ticks every third of the lease time: renew the lease (becoming leader:
  sync the jobs from the tables, catch up missed digests, resume the scheduler; losing it:
  pause), send pending digests, post alerts whose first post failed, follow up scans that ended
  elsewhere, and wake the scheduler so jobs written by other processes are seen;
- a worker thread that follows up the scans this process's engine finishes (alert, retry),
  so the engine's threads never wait for Slack.

Tests drive it without threads (``run_threads=False``): `tick()`, `fire(job_id, when)` and
`drain()` run the same code synchronously with an injected clock.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.engine.engine import ScanEvent, process_owner
from bot.errors import ConflictError, CspmError, NotFoundError
from bot.scheduling.clock import system_now
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.delivery import Deliverer, ensure_rate_limit_handler
from bot.scheduling.digests import DigestService
from bot.scheduling.findings_alerts import FindingsAlerts
from bot.scheduling.followups import FollowupService
from bot.scheduling.jobs import JOBSTORE, JobKind, build_scheduler, job_id, parse_job_id
from bot.scheduling.leases import Lease, claim_fire, record_fire_outcome
from bot.scheduling.ops import SchedulingOps, support_policy
from bot.scheduling.schedules import JobSyncer

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "scheduler"


class SchedulingService:
    """Everything time-driven for one process; see the module docstring."""

    def __init__(
        self,
        rt: Runtime,
        deliverer: Deliverer | None,
        *,
        config: SchedulingConfig | None = None,
        now: Callable[[], datetime] = system_now,
        holder: str | None = None,
        run_threads: bool = True,
    ) -> None:
        self.rt = rt
        self.config = config or SchedulingConfig.from_settings(rt.settings)
        self.now = now
        self.holder = holder or f"{process_owner()}:{uuid.uuid4().hex[:6]}"
        self.deliverer = deliverer
        self.run_threads = run_threads
        self.scheduler = build_scheduler(rt.db.engine, self._dispatch)
        self.jobs = JobSyncer(self.scheduler, rt.db, self.config)
        self.ops = SchedulingOps(rt, self.jobs, self.config, now)
        self.lease = Lease(
            rt.db, self.holder, timedelta(seconds=self.config.scheduler_lease_seconds)
        )
        self.digests = DigestService(
            rt.db, support_policy(self.config), now, self.holder, lambda: self.deliverer
        )
        self.followups = FollowupService(
            rt.db,
            self.config,
            now,
            self.holder,
            lambda: self.deliverer,
            self.jobs.schedule_retry,
        )
        self.findings_alerts = FindingsAlerts(rt.db, now, lambda: self.deliverer)
        self._leader = False
        self._tick_lock = threading.RLock()
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False

    # --- lifecycle --------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        """True while this process holds the scheduler lease."""
        return self._leader

    def start(self) -> SchedulingService:
        """Start the (paused) scheduler, listen to the engine, take the lease if free."""
        if self._started:
            return self
        self._started = True
        self.scheduler.start(paused=True)
        self.rt.engine.add_listener(self._on_scan_event)
        self.rt.scheduling = self
        self.tick()
        if self.run_threads:
            for target, name in ((self._keep, "cspm-lease"), (self._work, "cspm-followup")):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop the threads and the scheduler and hand the lease over at once."""
        if not self._started or self._stopping.is_set():
            return
        self._stopping.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        with self._tick_lock:
            if self._leader:
                try:
                    self.lease.release(self.now())
                except Exception:
                    log.exception("could not release the scheduler lease")
                self._leader = False
        self.scheduler.shutdown(wait=False)
        if self.rt.scheduling is self:
            self.rt.scheduling = None

    def _keep(self) -> None:
        interval = max(0.5, self.config.scheduler_lease_seconds / 3)
        while not self._stopping.wait(interval):
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")

    def _work(self) -> None:
        while True:
            scan_id = self._queue.get()
            try:
                if scan_id is None:
                    return
                self._follow_up(scan_id)
            finally:
                self._queue.task_done()

    # --- the tick ---------------------------------------------------------------------------
    def tick(self) -> bool:
        """Renew the lease and, as leader, do the periodic work; returns leadership."""
        with self._tick_lock:
            if self._stopping.is_set():
                return False
            try:
                leader = self.lease.acquire(self.now())
            except Exception:
                log.exception("could not renew the scheduler lease; pausing")
                leader = False
            if leader and not self._leader:
                log.info("%s holds the scheduler lease", self.holder)
                self._leader = True
                self.jobs.sync_all()
                self.digests.catch_up()
                if self.run_threads:
                    self.scheduler.resume()
            elif not leader and self._leader:
                log.warning("%s lost the scheduler lease; pausing its scheduler", self.holder)
                self._leader = False
                if self.run_threads:
                    self.scheduler.pause()
            if leader:
                self._periodic()
            return leader

    def _periodic(self) -> None:
        for name, step in (
            ("send pending digests", self.digests.send_pending),
            ("post pending alerts", self.followups.repost_unposted),
            ("follow up scans", self._sweep),
        ):
            try:
                step()
            except Exception:
                log.exception("scheduler tick: could not %s", name)
        if self.run_threads:
            self.scheduler.wakeup()

    # --- firing -----------------------------------------------------------------------------
    def _dispatch(self, jid: str, args: tuple[Any, ...], scheduled: datetime) -> str:
        outcome = self.fire(jid, scheduled, args)
        log.info("fired %s (scheduled %s): %s", jid, scheduled.isoformat(), outcome)
        return outcome

    def fire(self, jid: str, scheduled: datetime, args: tuple[Any, ...] | None = None) -> str:
        """Run the occurrence of job `jid` scheduled at `scheduled`; returns what it did.

        Safe to call twice or from two processes for one occurrence: only the first acts.
        `args` default to the stored job's (a retry needs the scan it retries).
        """
        parsed = parse_job_id(jid)
        if parsed is None:
            return f"unknown job {jid}"
        kind, target = parsed
        if args is None:
            job = self.scheduler.get_job(jid, JOBSTORE)
            args = tuple(job.args) if job is not None else (kind.value, target)
        if kind is JobKind.DIGEST:
            return self.digests.fire(target, scheduled)
        if kind is JobKind.SCAN:
            return self._fire_scan(jid, target, scheduled)
        after = int(args[2]) if len(args) > 2 else None
        return self._fire_retry(jid, target, after, scheduled)

    def _start_scan(self, jid: str, project_id: int, scheduled: datetime, trigger: str) -> str:
        try:
            info = self.rt.scans.start(project_id, trigger=trigger, actor=SCHEDULER_ACTOR)
        except ConflictError as exc:
            outcome = f"skipped: {exc.message}"
            record_fire_outcome(self.rt.db, jid, scheduled, outcome)
            return outcome
        except NotFoundError:
            self.scheduler.remove_job(jid, JOBSTORE)
            record_fire_outcome(self.rt.db, jid, scheduled, "project deleted")
            return "project deleted"
        except CspmError as exc:  # not handed out (the task queue is down): the scan failed
            outcome = f"failed: {exc.message}"[:300]
            record_fire_outcome(self.rt.db, jid, scheduled, outcome)
            return outcome
        outcome = f"started scan #{info.scan_id}"
        record_fire_outcome(self.rt.db, jid, scheduled, outcome, info.scan_id)
        return outcome

    def _fire_scan(self, jid: str, project_id: int, scheduled: datetime) -> str:
        now = self.now()
        late = (now - scheduled).total_seconds()
        if late > self.config.scan_misfire_grace_seconds:
            return f"missed by {int(late)}s (grace {self.config.scan_misfire_grace_seconds}s)"
        project = self.rt.projects.get_or_none(project_id)
        if project is None or project.schedule_cron is None:
            self.scheduler.remove_job(jid, JOBSTORE)
            return "no schedule any more"
        if not claim_fire(self.rt.db, jid, scheduled, self.holder, now):
            return "duplicate: already fired"
        return self._start_scan(jid, project_id, scheduled, "schedule")

    def _fire_retry(
        self, jid: str, project_id: int, after_scan_id: int | None, scheduled: datetime
    ) -> str:
        if not claim_fire(self.rt.db, jid, scheduled, self.holder, self.now()):
            return "duplicate: already fired"
        project = self.rt.projects.get_or_none(project_id)
        last = project.last_scan_id if project is not None else None
        if after_scan_id is not None and last != after_scan_id:
            outcome = f"superseded by scan #{last}"
            record_fire_outcome(self.rt.db, jid, scheduled, outcome)
            return outcome
        return self._start_scan(jid, project_id, scheduled, "retry")

    # --- scan events ------------------------------------------------------------------------
    def _on_scan_event(self, event: ScanEvent) -> None:
        if event.kind == "finished" and not self._stopping.is_set():
            self._queue.put(event.scan_id)

    def _follow_up(self, scan_id: int) -> None:
        try:
            decision = self.followups.process(scan_id)
        except Exception:
            log.exception("follow-up of scan %s failed; the sweep will try again", scan_id)
            return
        if decision is None:  # not finished, or followed up elsewhere (which sends findings)
            return
        try:
            self.findings_alerts.process(scan_id)
        except Exception:
            log.exception("findings alerts of scan %s failed", scan_id)

    def _sweep(self) -> None:
        """Follow up (alerts, retries, findings alerts) scans that ended elsewhere."""
        for scan_id in self.followups.unfollowed_scans():
            self._follow_up(scan_id)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queued scan event is followed up (inline without threads)."""
        if not self.run_threads:
            while True:
                try:
                    scan_id = self._queue.get_nowait()
                except queue.Empty:
                    return
                if scan_id is not None:
                    self._follow_up(scan_id)
                self._queue.task_done()
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        if not done.wait(timeout):
            raise TimeoutError("scan follow-ups did not finish in time")

    # --- conveniences -----------------------------------------------------------------------
    def next_run_times(self) -> dict[str, datetime | None]:
        """Every stored job with its persisted next run time."""
        return self.jobs.next_run_times()

    def retry_job_id(self, project_id: int) -> str:
        """The id of a project's pending retry job."""
        return job_id(JobKind.RETRY, project_id)


def start_scheduling(
    rt: Runtime,
    client: WebClient | None,
    *,
    now: Callable[[], datetime] = system_now,
    run_threads: bool = True,
) -> SchedulingService:
    """Start scheduling for the serve command: scheduler, lease keeper, alert listener.

    `client` is the Slack app's WebClient (a 429 handler is added if it has none); None runs
    schedules and retries without posting anything.
    """
    deliverer = None
    if client is not None:
        config = SchedulingConfig.from_settings(rt.settings)
        deliverer = Deliverer(
            ensure_rate_limit_handler(client),
            now=now,
            channel_interval=config.slack_channel_interval_seconds,
            max_attempts=config.slack_max_attempts,
        )
    return SchedulingService(rt, deliverer, now=now, run_threads=run_threads).start()
