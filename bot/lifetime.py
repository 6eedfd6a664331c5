"""Process lifetime: children that die with their parent, and a port only one server holds.

`cspm-bot serve` is a tree of processes (the master, granian's worker serving HTTP, the bot's
worker process). If the master is killed outright (``kill -9``, the OOM killer), nothing runs
its shutdown code: without help its children would go on serving, reparented to pid 1, and a
new `serve` would bind the same port beside them (granian binds with ``SO_REUSEPORT``).

- `die_with_parent` makes a child receive a signal when its parent exits: Linux's
  ``prctl(PR_SET_PDEATHSIG)``, or elsewhere a thread that watches the parent pid.
- `check_port_free` refuses to start on a port something already listens on.
- `announce_when_listening` says a server is up only once it accepts connections (granian's
  worker binds the port itself, after it has loaded the app).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0
"""How often the fallback watcher checks that the parent is still there."""


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> str:
    """Have this process receive `sig` as soon as its parent (`parent_pid`) exits, however it
    exits; if it already has, `sig` is sent at once. Returns how: ``"prctl"`` (Linux) or
    ``"watch"`` (a daemon thread checking the parent pid every `WATCH_SECONDS`).

    Call it first thing in the child. On Linux the signal follows the parent *thread* that
    started this process: start children from threads that live as long as the process.
    """
    how = "watch"
    if sys.platform.startswith("linux") and _prctl_pdeathsig(sig):
        how = "prctl"
    else:
        threading.Thread(
            target=_watch_parent, args=(parent_pid, sig), name="cspm-parent-watch", daemon=True
        ).start()
    if os.getppid() != parent_pid:  # the parent died before we could ask
        log.warning("parent process %s is gone; this process stops", parent_pid)
        os.kill(os.getpid(), sig)
    return how


def _prctl_pdeathsig(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library is already loaded
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, sig: int) -> None:
    while os.getppid() == parent_pid:
        threading.Event().wait(WATCH_SECONDS)
    log.warning("parent process %s is gone; this process stops", parent_pid)
    os.kill(os.getpid(), sig)


class PortInUseError(Exception):
    """Something already listens on the address; the message says what to do."""


def check_port_free(host: str, port: int) -> None:
    """Raise `PortInUseError` if `host:port` cannot be bound by a socket without
    ``SO_REUSEPORT`` (so a server already listening there, even one that set
    ``SO_REUSEPORT`` itself, is found). ``SO_REUSEADDR`` is set, as servers do, so connections
    of a previous server still in TIME_WAIT do not count. Port 0 is always free."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise PortInUseError(f"Cannot bind {host}:{port}: {exc.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"Port {port} on {host} is already in use (another `cspm-bot serve`?): "
                    "stop what listens there, or pass --port N."
                ) from None
            raise PortInUseError(f"Cannot bind {host}:{port}: {exc.strerror}.") from None


ANNOUNCE_PROBE_SECONDS = 0.05
"""How often `announce_when_listening` tries to connect."""


def announce_when_listening(host: str, port: int, message: str) -> threading.Thread:
    """Print `message` on stderr, from a daemon thread, once `host:port` accepts a TCP
    connection: a line printed before that would send users (and scripts) to a port that
    refuses them. A wildcard host is probed on loopback."""
    probe_host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104

    def wait() -> None:
        while True:
            try:
                with socket.create_connection((probe_host, port), timeout=2):
                    break
            except OSError:  # not listening yet
                threading.Event().wait(ANNOUNCE_PROBE_SECONDS)
        print(message, file=sys.stderr, flush=True)

    thread = threading.Thread(target=wait, name="cspm-announce", daemon=True)
    thread.start()
    return thread


PRIORITY_NICENESS = {"idle": 19, "low": 10, "normal": 0}
"""`CSPM_WORKER_PRIORITY` → how many nice steps the worker runs below the serving process."""


def lower_priority(priority: str) -> None:
    """Run this process below the serving process's CPU priority (`CSPM_WORKER_PRIORITY`).

    - ``idle``: Linux's SCHED_IDLE policy, which any other runnable task preempts at once
      (an ack never waits for the worker's time slice to end), plus nice 19 elsewhere;
    - ``low``: nice 10; ``normal``: unchanged.

    Linux's autogroup scheduling (where enabled) first shares the CPU between sessions and
    only then looks at nice values inside each: a busy worker would make the serving
    process's whole session wait. So a lowered worker also gets a session of its own, with
    the same niceness (`/proc/self/autogroup`). Call it before starting any thread: Linux
    sets these per thread, and new threads inherit them.
    """
    niceness = PRIORITY_NICENESS[priority]
    if not niceness:
        return
    os.nice(niceness)
    autogroup = Path("/proc/self/autogroup")
    if autogroup.exists():
        with contextlib.suppress(OSError):
            os.setsid()
            autogroup.write_text(str(niceness))
    if priority == "idle" and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
