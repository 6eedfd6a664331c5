"""How scan work reaches a process that runs it: the transport between `ScanService.start`
and the engine, and between a scan's planning and its jobs.

Work carries only ids (`plan_scan(scan_id)`, `run_job(scan_id, job_id)`); whoever receives it
calls `ScanEngine.plan_scan` / `ScanEngine.run_job` in a process that has a `Runtime` (database,
secret box, cloud endpoints). The embedded default, `InProcessDispatcher`, runs them on thread
pools of this process; a distributed transport (a task queue) implements the same protocol.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.engine.engine import ScanEngine

log = logging.getLogger(__name__)


class JobDispatcher(Protocol):
    """Hands scan work, as ids, to whatever runs it."""

    def dispatch_plan(self, scan_id: int) -> None:
        """Have `ScanEngine.plan_scan(scan_id)` run somewhere."""
        ...

    def dispatch_job(self, scan_id: int, job_id: int) -> None:
        """Have `ScanEngine.run_job(scan_id, job_id)` run somewhere."""
        ...

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with `wait`, return once the work handed here has ended."""
        ...


class InProcessDispatcher:
    """The embedded transport: thread pools in this process.

    Work queued here dies with the process, so the engine records this process as the
    holder of what it queues (`holds_queued_work`): crash recovery on this host then proves
    it dead and takes the work over at once.
    """

    holds_queued_work = True

    def __init__(self, engine: ScanEngine, concurrency: int = 8, planners: int = 4) -> None:
        self.engine = engine
        self._plans = ThreadPoolExecutor(max_workers=planners, thread_name_prefix="cspm-plan")
        self._jobs = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cspm-job")
        self._lock = threading.Lock()
        self._closed = False

    def dispatch_plan(self, scan_id: int) -> None:
        """Plan the scan on a planner thread."""
        self.engine.hold_queued(scan_id)
        self._plans.submit(self._guard, self.engine.plan_scan, scan_id)

    def dispatch_job(self, scan_id: int, job_id: int) -> None:
        """Run the job on a job thread (its row already names this process as holder)."""
        self._jobs.submit(self._guard, self.engine.run_job, scan_id, job_id)

    @staticmethod
    def _guard(fn: object, *args: int) -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except Exception:
            log.exception("scan work %s%s failed", getattr(fn, "__name__", fn), args)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pools; queued work still runs (the engine ends it quickly when it is
        closing), so every job gets a final status before this returns with `wait`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._plans.shutdown(wait=wait)  # plans dispatch jobs: drain them first
        self._jobs.shutdown(wait=wait)
