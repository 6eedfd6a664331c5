"""The scan engine's `JobDispatcher` on the broker: tasks ``cspm.plan_scan(scan_id)`` and
``cspm.run_job(scan_id, job_id)`` on queue ``scans``, carrying only ids.

A worker (`bot.distributed.tasks`) calls `ScanEngine.plan_scan` / `ScanEngine.run_job` with
its own Runtime: it loads the connector, opens its cloud session and writes the results
itself. Fan-in is the database's jobs-done counter (the last job finalises the scan), and
Stop is the database flag that every worker's stop watcher polls, so nothing here waits on a
task's result.

Sending a job retries while the broker is down (about two minutes): a scan planned during a
Redis restart hands its jobs over once Redis is back. Sending a scan's plan retries for about
15 s only: a scan started while the broker is down ends Failed at once with a temporary-error
entry saying so (`ScanService.start`), and whoever started it is told; nothing stays queued.
"""

from __future__ import annotations

import logging

from celery import Celery

from bot.distributed.celeryapp import JOB_TASK, PLAN_TASK, SCANS_QUEUE, make_celery
from bot.errors import CspmError
from bot.settings import Settings

log = logging.getLogger(__name__)

DISPATCH_RETRY = {
    "max_retries": 60,
    "interval_start": 0.5,
    "interval_step": 0.5,
    "interval_max": 2.0,
}
PLAN_DISPATCH_RETRY = {
    "max_retries": 9,
    "interval_start": 0.5,
    "interval_step": 0.5,
    "interval_max": 2.0,
}


class BrokerUnavailable(CspmError):
    """Scan work could not be handed to the broker."""


class CeleryDispatcher:
    """Hands scan work, as ids, to the ``scans`` queue."""

    holds_queued_work = False
    """Queued work lives in the broker, not in this process: it survives this process."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def dispatch_plan(self, scan_id: int) -> None:
        """Enqueue ``plan_scan(scan_id)`` (raises BrokerUnavailable after about 15 s)."""
        self._send(PLAN_TASK, PLAN_DISPATCH_RETRY, scan_id)

    def dispatch_job(self, scan_id: int, job_id: int) -> None:
        """Enqueue ``run_job(scan_id, job_id)``."""
        self._send(JOB_TASK, DISPATCH_RETRY, scan_id, job_id)

    def _send(self, task: str, policy: dict[str, float], *ids: int) -> None:
        try:
            self.app.send_task(
                task, args=list(ids), queue=SCANS_QUEUE, retry=True, retry_policy=policy
            )
        except Exception as exc:
            log.error("could not enqueue %s%s: %s", task, ids, type(exc).__name__)
            raise BrokerUnavailable(
                "The task queue (CSPM_BROKER_URL) cannot be reached, so the scan could not be "
                "handed to a worker. Check that Redis is up, then run the scan again."
            ) from None

    def shutdown(self, wait: bool = True) -> None:
        """Release the broker connections (queued work stays in the broker)."""
        self.app.close()


def celery_dispatcher(settings: Settings) -> CeleryDispatcher:
    """The dispatcher for `settings` (`CSPM_BROKER_URL` set)."""
    return CeleryDispatcher(make_celery(settings))
