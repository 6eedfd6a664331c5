"""The worker process: everything the bot does after it has acked a Slack request.

`cspm-bot serve` runs two processes. The serving process (granian's worker in HTTP mode, or
the Socket Mode client) verifies each request, runs its ack function and relays the rest;
the worker process built here runs the work functions, the scan engine, the progress
messages and the scheduler. They have a GIL each, and the worker runs at a lower CPU
priority (`CSPM_WORKER_PRIORITY`, ``low`` by default), so a burst of queries, Block Kit
building and Slack calls does not queue up in front of the acks (Slack allows 3 seconds;
``bench/bench_ack_latency.py`` measures them). ``idle`` is not the default: on a machine with
other busy programs an idle worker gets almost no CPU, and on SQLite a scan thread preempted
while it holds the write lock holds up every other write (``bench/bench_faults.py --only
load`` measures replies and scans under load).

- `WorkerProcess` (in the serving process) spawns the worker, hands it `WorkItem`s over a
  pipe from one sender thread, starts a new one if it dies, and stops it at exit, letting
  work in progress finish.
- `worker_main` (in the child) builds the whole bot and dispatches every item through the
  same Bolt app, on a thread pool, with Bolt's lazy-only headers. The app comes from the
  `AppFactory` the serving process was given (`bot.slackapp.create_app`): the worker's app
  must register the same work functions, by the same names, as the serving process's.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from bot.lifetime import lower_priority
from bot.redaction import redact
from bot.settings import Settings
from bot.slack.work import WorkItem

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class AppFactory(Protocol):
    """Builds the bot's Bolt app with its listeners (`bot.slackapp.create_app`). It crosses
    to the worker process by reference, so it must be a module-level function."""

    def __call__(self, rt: Runtime, client: WebClient | None = None, **options: Any) -> App:
        """The app for `rt`; `options` are `bot.slack.app.build_app`'s."""
        ...


WORK_THREADS = 16
"""Work functions running at once in the worker (most of their time is Slack and cloud I/O)."""
WORK_TAKEN = 2 * WORK_THREADS
"""Items the worker takes off the pipe before it waits for a free thread: the rest of a
backlog stays in the serving process's bounded queue, where it can be refused."""
MAX_PENDING = 2_000
"""Requests the serving process holds for the worker before it refuses new ones."""
START_TIMEOUT = 45.0
"""Seconds the worker may take to start before the serving process gives up on it."""
WATCH_SECONDS = 1.0
"""How often the sender checks that the worker is still alive when there is nothing to send."""
MAX_BACKOFF = 30.0


class WorkerError(Exception):
    """The worker process could not be started; the message says why."""


class WorkerProcess:
    """The serving process's handle on its worker process."""

    def __init__(
        self,
        settings: Settings,
        app_factory: AppFactory,
        *,
        max_pending: int = MAX_PENDING,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.app_factory = app_factory
        self.start_timeout = start_timeout
        self.restarts = 0
        self._queue: queue.Queue[WorkItem] = queue.Queue(max_pending)
        self._spawner = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._stopping = threading.Event()
        self._sender: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker and wait until it is ready; raises `WorkerError` if it fails."""
        self._spawn()
        self._sender = threading.Thread(target=self._send_loop, name="cspm-relay", daemon=True)
        self._sender.start()

    def close(self, timeout: float = 20.0) -> None:
        """Hand over what is still queued, then let the worker finish its work and exit;
        after `timeout` seconds in all (granian allows 30), it is terminated."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        if self._sender is not None:
            self._sender.join(timeout / 2)
        proc = self._proc
        if proc is not None:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                log.warning("the worker process did not stop in %.0f s; terminating it", timeout)
                proc.terminate()
                proc.join(5)
        if self._conn is not None:
            self._conn.close()

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before it started)."""
        return None if self._proc is None else int(self._proc.pid)

    def alive(self) -> bool:
        """True while the worker process runs."""
        return self._proc is not None and bool(self._proc.is_alive())

    def pending(self) -> int:
        """Items waiting to be handed to the worker."""
        return self._queue.qsize()

    # --- the relay (`bot.slack.work.Relay`) ----------------------------------------------------
    def submit(self, item: WorkItem) -> bool:
        """Queue `item` for the worker; False when stopping or the queue is full."""
        if self._stopping.is_set():
            return False
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    # --- internals -----------------------------------------------------------------------------
    def _spawn(self) -> None:
        parent, child = self._spawner.Pipe(duplex=True)
        proc = self._spawner.Process(
            target=worker_main,
            args=(self.settings, child, self.app_factory, os.getpid()),
            name="cspm-bot-worker",
        )
        proc.start()
        child.close()  # the worker holds the only other end: it sees EOF if this process dies
        try:
            if not parent.poll(self.start_timeout):
                proc.kill()
                raise WorkerError(f"the worker process did not start in {self.start_timeout:.0f} s")
            status, detail = parent.recv()
        except EOFError:
            proc.join(5)
            raise WorkerError(
                f"the worker process exited while starting (exit code {proc.exitcode})"
            ) from None
        if status != "ready":
            proc.join(5)
            raise WorkerError(f"the worker process could not start: {detail}")
        self._proc, self._conn = proc, parent
        log.info("worker process %s ready", proc.pid)

    def _send_loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=WATCH_SECONDS)
            except queue.Empty:
                if self._stopping.is_set():
                    break
                if not self.alive():
                    self._restart()
                continue
            self._deliver(item)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)  # "finish what you have, then exit"

    def _deliver(self, item: WorkItem) -> None:
        for _ in range(2):
            if self._conn is not None:
                try:
                    self._conn.send(item)
                    return
                except OSError:
                    pass
            if self._stopping.is_set():
                break
            self._restart()
        log.error("could not hand the work of %s to the worker process; dropped it", item.function)

    def _restart(self) -> None:
        """Start a new worker after the old one died, backing off while it keeps failing."""
        old = self._proc
        code = old.exitcode if old is not None else None
        log.error(
            "the worker process %s stopped (exit code %s): work it had in progress is lost; "
            "starting a new one",
            None if old is None else old.pid,
            code,
        )
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._spawn()
                self.restarts += 1
                return
            except WorkerError as exc:
                log.error("%s; retrying in %.0f s", exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)


# --------------------------------------------------------------------------------------------
# The worker process itself
# --------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the receive loop."""


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def worker_main(
    settings: Settings, conn: Connection, app_factory: AppFactory, parent_pid: int | None = None
) -> None:
    """The worker process: build the bot with `app_factory`, then run every work item it is
    handed. It stops (SIGTERM) when `parent_pid`, the serving process, exits, even killed."""
    if parent_pid is not None:  # first: if it is already gone, SIGTERM ends us quietly
        from bot.lifetime import die_with_parent

        die_with_parent(parent_pid)
    # Ctrl-C reaches the whole process group: the serving process decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    lower_priority(settings.worker_priority)
    from bot.logs import configure_logging

    configure_logging(settings.log_level)
    try:
        from bot.runtime import build_runtime
        from bot.scheduling import start_scheduling
        from bot.services.keys import KeyUse
        from bot.slack.app import context_of
        from bot.slack.client import make_web_client

        rt = build_runtime(settings, migrate=False, key_use=KeyUse.LOAD)
        client = make_web_client(settings)
        app = app_factory(rt, client, request_verification_enabled=False)
        scheduling = start_scheduling(rt, client)
    except Exception as exc:
        log.exception("the worker process could not start")
        conn.send(("failed", redact(f"{type(exc).__name__}: {exc}")))
        return
    pool = ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="cspm-work")
    taken = threading.BoundedSemaphore(WORK_TAKEN)
    gc.freeze()  # the long-lived startup heap stays out of the collector's way
    conn.send(("ready", os.getpid()))
    try:
        while True:
            taken.acquire()
            try:
                item = conn.recv()
            except EOFError:
                log.warning("the serving process went away; the worker stops")
                break
            if item is None:
                break
            pool.submit(_run, app, item, taken)
    except _Stop:
        log.info("the worker process was asked to stop")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        started = time.monotonic()
        pool.shutdown(wait=True)
        scheduling.stop()
        context_of(app).close()
        rt.close()
        log.info("worker process stopped (%.1f s to finish its work)", time.monotonic() - started)


def _run(app: Any, item: WorkItem, taken: threading.BoundedSemaphore) -> None:
    try:
        app.dispatch(item.to_request())
    except Exception:
        log.exception("the work of %s failed", item.function)
    finally:
        taken.release()
