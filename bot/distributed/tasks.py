"""What a Celery worker runs: one `Runtime` (and, for queue ``slack``, one Bolt app) per
worker process, built once before the worker consumes anything, shared by its threads.

- ``cspm.plan_scan(scan_id)`` and ``cspm.run_job(scan_id, job_id)``: `ScanEngine.plan_scan`
  and `ScanEngine.run_job` with this process's runtime (they load the connector, open the
  cloud session and write results themselves; a job delivered again whose result is written
  does nothing but count the delivery).
- ``cspm.slack_work(token)``: opens the sealed `WorkItem` and dispatches it through the
  bot's own Bolt app with Bolt's lazy-only headers, exactly as the in-process worker does
  (`bot.slack.worker`): the app runs the same decoding middleware and then only the named
  work function, here, in the task's thread, so the task is acknowledged once the work is
  done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from celery import Celery

from bot.distributed.celeryapp import JOB_TASK, PLAN_TASK, SLACK_TASK
from bot.distributed.progress import ProgressPoller
from bot.distributed.relay import unseal
from bot.secretbox import SecretBoxError

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.engine.jobs import JobRunner
    from bot.runtime import Runtime
    from bot.settings import Settings

log = logging.getLogger(__name__)


class InlineExecutor(Executor):
    """Runs what it is given at once, in the caller's thread (the task's thread)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever looks at the future
            future.set_exception(exc)
        return future


@dataclass
class WorkerState:
    """Everything one worker process builds once: the runtime, and the Bolt app when it
    consumes queue ``slack``."""

    rt: Runtime
    bolt: App | None = None
    counters: dict[str, int] = field(default_factory=dict)
    poller: ProgressPoller | None = None

    @classmethod
    def build(cls, settings: Settings, slack: bool, runner: JobRunner | None = None) -> WorkerState:
        """Open the database and the key; build the Slack app when `slack`. `runner`
        replaces the cloud runner (benchmarks)."""
        from bot.runtime import build_runtime

        # No recovery at start: the broker hands a dead worker's jobs to the live ones, which
        # take them over from the dead process (the serving process recovers at its start).
        # The key comes from the deployment (CSPM_ENCRYPTION_KEY): a worker never makes one.
        from bot.services.keys import KeyUse

        rt = build_runtime(
            settings, migrate=False, recover=False, runner=runner, key_use=KeyUse.LOAD
        )
        if not slack:
            return cls(rt)
        from bot.slack.app import context_of
        from bot.slack.client import make_web_client
        from bot.slackapp import create_app

        bolt = create_app(
            rt,
            make_web_client(settings),
            request_verification_enabled=False,  # verified by the serving process
            background=InlineExecutor(),
        )
        # the scans it starts run on scan workers: their progress is read from the database
        poller = ProgressPoller(rt.scans, context_of(bolt).progress)
        return cls(rt, bolt, poller=poller)

    def count(self, name: str) -> None:
        """Add one to counter `name` (redelivered messages, undecryptable items…)."""
        self.counters[name] = self.counters.get(name, 0) + 1

    def run_slack(self, token: str, redelivered: bool) -> None:
        """Open one sealed work item and run its work function."""
        if self.bolt is None:
            raise RuntimeError("this worker does not consume queue slack")
        try:
            item = unseal(self.rt.box, token)
        except SecretBoxError:
            self.count("undecryptable")
            log.error(
                "a Slack work item cannot be decrypted with this worker's key: every bot "
                "process must share CSPM_ENCRYPTION_KEY; the item was dropped"
            )
            return
        if redelivered:
            self.count("redelivered")
            log.warning("running the work of %s again: its first worker died", item.function)
        self.bolt.dispatch(item.to_request())

    def close(self) -> None:
        """Stop the app's helpers and close the runtime."""
        if self.poller is not None:
            self.poller.close()
        if self.bolt is not None:
            from bot.slack.app import context_of

            context_of(self.bolt).close()
        self.rt.close()


def redelivered(task: Any) -> bool:
    """True when the broker handed this message out again (its first worker died)."""
    info = getattr(task.request, "delivery_info", None) or {}
    return bool(info.get("redelivered"))


def register_tasks(app: Celery, state: WorkerState) -> None:
    """Register the worker's tasks on `app`, bound to `state`."""

    @app.task(name=SLACK_TASK, bind=True)
    def slack_work(self: Any, token: str) -> None:
        state.run_slack(token, redelivered(self))

    @app.task(name=PLAN_TASK, bind=True)
    def plan_scan(self: Any, scan_id: int) -> None:
        if redelivered(self):
            state.count("redelivered")
        state.rt.engine.plan_scan(int(scan_id))

    @app.task(name=JOB_TASK, bind=True)
    def run_job(self: Any, scan_id: int, job_id: int) -> None:
        if redelivered(self):
            state.count("redelivered")
            log.warning("job %s of scan %s delivered again: its first worker died", job_id, scan_id)
        state.rt.engine.run_job(int(scan_id), int(job_id))

    del slack_work, plan_scan, run_job
