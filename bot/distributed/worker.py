"""``cspm-bot worker``: Celery workers with the project's settings.

Each queue gets a worker process of its own, with a pool of threads (the work is cloud and
Slack I/O): given ``--queues slack,scans`` (the default), this command supervises one child
process per queue and starts a new one if it dies. A separate process per queue is what
keeps interactions first: the ``slack`` worker's threads only ever take Slack work, so a
backlog of a thousand scan jobs never sits in front of a button's reply, and a slow job
never holds a thread that a reply needs. (One process consuming both queues would share its
threads and its prefetch between them.)
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from bot.distributed.celeryapp import QUEUES, make_celery
from bot.distributed.tasks import WorkerState, register_tasks
from bot.engine.jobs import JobRunner
from bot.errors import CspmError
from bot.lifetime import lower_priority
from bot.redaction import redact
from bot.settings import Settings

log = logging.getLogger(__name__)

SLACK_THREADS = 16
"""Default threads of a ``slack`` worker: most of a work function's time is Slack I/O."""
MAX_BACKOFF = 30.0


def parse_queues(text: str) -> list[str]:
    """``"slack,scans"`` → ``["slack", "scans"]``; raises ValueError naming a bad queue."""
    queues = [q.strip() for q in text.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        raise ValueError(
            f"unknown queue {', '.join(unknown) or '(none)'}: choose from {', '.join(QUEUES)}"
        )
    return list(dict.fromkeys(queues))


def default_concurrency(settings: Settings, queue: str) -> int:
    """Threads of one worker process: `CSPM_SCAN_CONCURRENCY` for scans, 16 for Slack."""
    return SLACK_THREADS if queue == "slack" else settings.scan_concurrency


def worker_name(queue: str) -> str:
    """The Celery node name: ``<queue>-<pid>@<host>`` (``/healthz`` counts by prefix)."""
    return f"{queue}-{os.getpid()}@{socket.gethostname()}"


def run_queue(
    settings: Settings,
    queue: str,
    concurrency: int | None = None,
    runner: JobRunner | None = None,
) -> int:
    """Run one Celery worker consuming `queue` in this process until SIGTERM/SIGINT
    (`runner`: another job runner than the clouds', for benchmarks).

    Like the embedded worker, it runs below the serving processes' CPU priority
    (`CSPM_WORKER_PRIORITY`), set before any thread starts: on a machine shared with a
    replica, a thousand running jobs do not slow down its acks."""
    lower_priority(settings.worker_priority)
    try:
        state = WorkerState.build(settings, slack=queue == "slack", runner=runner)
    except CspmError:
        raise  # its message says what to do (`cspm-bot worker` prints it)
    except Exception as exc:
        log.exception("the worker for queue %s could not start", queue)
        print(
            f"error: the worker for queue {queue} could not start: "
            f"{redact(f'{type(exc).__name__}: {exc}')}. The log above says more.",
            file=sys.stderr,
        )
        return 1
    keep_our_logging(settings)
    app = make_celery(settings)
    register_tasks(app, state)
    threads = concurrency or default_concurrency(settings, queue)
    worker = app.Worker(
        hostname=worker_name(queue),
        queues=[queue],
        pool_cls="threads",
        concurrency=threads,
        loglevel=settings.log_level.upper(),
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
        quiet=True,
    )
    print(
        f"cspm-bot: worker {worker_name(queue)} consuming queue {queue} with {threads} "
        "threads; Ctrl-C stops (work in progress finishes first).",
        file=sys.stderr,
        flush=True,
    )
    try:
        worker.start()
    finally:
        state.close()
    return int(worker.exitcode or 0)


def keep_our_logging(settings: Settings) -> None:
    """Celery configures no logging of its own: every record goes through the bot's one
    redacting handler (a receiver of `setup_logging` tells Celery to leave logging alone)."""
    from celery.signals import setup_logging

    from bot.logs import configure_logging

    def configure(**_: Any) -> None:
        configure_logging(settings.log_level)

    setup_logging.connect(configure, weak=False)


def run(settings: Settings, queues: Sequence[str], concurrency: int | None = None) -> int:
    """``cspm-bot worker``: one queue runs here; several run as supervised child processes."""
    if len(queues) == 1:
        return run_queue(settings, queues[0], concurrency)
    return Supervisor(list(queues), concurrency).run()


class Supervisor:
    """Keeps one ``cspm-bot worker --queues Q`` child per queue running."""

    def __init__(self, queues: list[str], concurrency: int | None) -> None:
        self.queues = queues
        self.concurrency = concurrency
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()

    def _command(self, queue: str) -> list[str]:
        cmd = [sys.executable, "-m", "bot.cli", "worker", "--queues", queue]
        if self.concurrency:
            cmd += ["--concurrency", str(self.concurrency)]
        return cmd

    def _start(self, queue: str) -> None:
        self.children[queue] = subprocess.Popen(self._command(queue))  # noqa: S603
        log.info("worker for queue %s started (pid %s)", queue, self.children[queue].pid)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        """Start the children, restart any that dies, stop them all on SIGTERM/SIGINT."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._stop)
        delay = {q: 1.0 for q in self.queues}
        try:
            for queue in self.queues:
                self._start(queue)
            while not self.stopping.wait(0.5):
                for queue, child in list(self.children.items()):
                    if child.poll() is None:
                        continue
                    log.error(
                        "the worker for queue %s exited (code %s); starting a new one in %.0f s",
                        queue,
                        child.returncode,
                        delay[queue],
                    )
                    if self.stopping.wait(delay[queue]):
                        break
                    delay[queue] = min(delay[queue] * 2, MAX_BACKOFF)
                    self._start(queue)
            return 0
        finally:
            for child in self.children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 60
            for child in self.children.values():
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
