"""APScheduler 3 plumbing: the persistent job store, the executor and the job ids.

Jobs are stored in the project's database (`apscheduler_jobs`, created by migration 0002) so
schedules survive restarts. A stored job holds only plain data: its kind and target in
``args``. It runs on `FireExecutor`, which hands the *scheduled* fire time to a dispatch
callable (APScheduler's stock executors only call ``func(*args)``), so the work of one
occurrence is keyed by (job id, scheduled time) and can be made idempotent.

Job ids: ``scan:<project_id>``, ``digest:<subscription_id>``, ``retry:<project_id>``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from enum import StrEnum
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

log = logging.getLogger(__name__)

EXECUTOR = "cspm"
JOBSTORE = "default"
JOB_TABLE = "apscheduler_jobs"
SCHEDULED_JOB_REF = "bot.scheduling.jobs:scheduled_job"


class JobKind(StrEnum):
    """What a stored job does when it fires."""

    SCAN = "scan"  # a project's scheduled scan (target: project id)
    DIGEST = "digest"  # a channel's digest (target: subscription id)
    RETRY = "retry"  # a one-off automatic retry of a project's failed scan (target: project id)


def job_id(kind: JobKind, target: int) -> str:
    """The stored job id of a kind and target, e.g. ``scan:12``."""
    return f"{kind.value}:{target}"


def parse_job_id(value: str) -> tuple[JobKind, int] | None:
    """``"scan:12"`` → (SCAN, 12); None for ids this module did not make."""
    kind, _, target = value.partition(":")
    try:
        return JobKind(kind), int(target)
    except ValueError:
        return None


def scheduled_job(*args: Any) -> None:
    """The function every stored job names; it only runs on `FireExecutor`, never directly."""
    raise RuntimeError("cspm jobs run on the FireExecutor, which dispatches them itself")


Dispatch = Callable[[str, tuple[Any, ...], datetime], Any]
"""Runs one occurrence: (job id, the job's args, the scheduled fire time)."""


class FireExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs due jobs on a thread pool, passing each one its scheduled fire time."""

    def __init__(self, dispatch: Dispatch, max_workers: int = 8) -> None:
        super().__init__()
        self._dispatch = dispatch
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="cspm-fire")

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        future = self._pool.submit(self._run, job, run_times)

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        future.add_done_callback(done)

    def _run(self, job: Job, run_times: list[datetime]) -> list[JobExecutionEvent]:
        # Missed occurrences are APScheduler's `misfire_grace_time` business before this point
        # for the pool executors; here the dispatch decides (digests catch up, scans skip).
        events = []
        for run_time in run_times:
            try:
                value = self._dispatch(job.id, tuple(job.args), run_time)
            except Exception:
                exc = sys.exc_info()[1]
                log.exception("scheduled job %s (at %s) failed", job.id, run_time)
                events.append(
                    JobExecutionEvent(
                        EVENT_JOB_ERROR,
                        job.id,
                        job._jobstore_alias,
                        run_time,
                        exception=exc,
                        traceback="".join(traceback.format_exc()),
                    )
                )
            else:
                events.append(
                    JobExecutionEvent(
                        EVENT_JOB_EXECUTED, job.id, job._jobstore_alias, run_time, retval=value
                    )
                )
        return events

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool."""
        self._pool.shutdown(wait=wait)


class SharedJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """`SQLAlchemyJobStore` on the runtime's engine, safe to share between processes.

    - A job removed by another process between APScheduler's read and its write-back is not an
      error (the stock store raises, which kills the scheduler's processing loop).
    - Shutting the scheduler down does not dispose the runtime's shared engine.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine=engine, tablename=JOB_TABLE)

    def update_job(self, job: Job) -> None:
        """Write a job back; a job deleted meanwhile stays deleted."""
        try:
            super().update_job(job)
        except JobLookupError:
            log.info("job %s was removed by another process; not writing it back", job.id)

    def remove_job(self, job_id: str) -> None:
        """Delete a job; deleting a missing job is a no-op."""
        try:
            super().remove_job(job_id)
        except JobLookupError:
            log.debug("job %s was already removed", job_id)

    def shutdown(self) -> None:
        """Leave the shared engine to its owner."""


def build_scheduler(
    engine: Engine, dispatch: Dispatch, max_workers: int = 8, *, quiet: bool = False
) -> BackgroundScheduler:
    """A BackgroundScheduler on the shared job store and the fire executor (not started).

    `quiet` keeps APScheduler's start/stop messages out of the log (short-lived CLI use).
    """
    options: dict[str, Any] = {}
    if quiet:
        quiet_log = logging.getLogger("bot.scheduling.offline")
        quiet_log.setLevel(logging.WARNING)
        options["logger"] = quiet_log
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1},
        **options,
    )
    scheduler.add_jobstore(SharedJobStore(engine), JOBSTORE)
    scheduler.add_executor(FireExecutor(dispatch, max_workers), EXECUTOR)
    return scheduler


def stored_next_run_times(engine: Engine) -> dict[str, datetime | None]:
    """Every stored job id with its persisted next run time (None: paused)."""
    store = SharedJobStore(engine)
    store._alias = JOBSTORE  # lookup outside a scheduler: only reading states
    return {job.id: job.next_run_time for job in store.get_all_jobs()}
