"""Who runs scan work, and the proof that a process holding work is dead.

A process is identified by its host, its pid, its start time (clock ticks since boot, from
``/proc/<pid>/stat``) and the host's boot id (``/proc/sys/kernel/random/boot_id``). On its own
host a process can be shown dead: its pid is gone, or the pid now belongs to a process that
started at another time, or the host has booted since. Of a process on another host only its
lease is known (extended by its heartbeat), so it is taken for dead only once the lease has
expired by more than a generous grace period: a live owner whose heartbeat is merely late (a
busy database, an idle CPU priority) is never taken over.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class ProcessIdentity:
    """What identifies a process across hosts, reboots and pid reuse."""

    host: str
    pid: int
    start_ticks: int  # 0 when the platform does not tell
    boot_id: str  # "" when the platform does not tell


@dataclass(frozen=True)
class OwnerFacts:
    """An owner as recorded: its identity and its lease."""

    owner_id: int
    identity: ProcessIdentity
    lease_expires_at: datetime


def start_ticks(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot; None if there is no such
    process (or it is a zombie, which is dead); 0 where /proc is not available."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return 0 if not Path("/proc/self/stat").exists() else None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie or a dead task: it runs nothing any more
        return None
    return int(fields[19])  # field 22 of the whole line


@cache
def boot_id() -> str:
    """This host's boot id ("" where the platform has none)."""
    try:
        return BOOT_ID_FILE.read_text().strip()
    except OSError:
        return ""


def this_process() -> ProcessIdentity:
    """The identity of the calling process."""
    pid = os.getpid()
    return ProcessIdentity(socket.gethostname(), pid, start_ticks(pid) or 0, boot_id())


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_on_this_host(identity: ProcessIdentity, me: ProcessIdentity) -> bool | None:
    """True when `identity` is a process of this host shown dead, False when it is shown
    alive, None when it is not of this host (so only its lease can tell)."""
    if identity.host != me.host:
        return None
    if identity.boot_id and me.boot_id and identity.boot_id != me.boot_id:
        return True  # the host has booted since that process ran
    if identity.pid == me.pid:
        return identity.start_ticks != me.start_ticks  # same pid, another (earlier) process
    if me.start_ticks:  # /proc is there: the start time tells a reused pid apart
        now_ticks = start_ticks(identity.pid)
        return now_ticks is None or now_ticks != identity.start_ticks
    return not _pid_exists(identity.pid)


def is_dead(owner: OwnerFacts, me: ProcessIdentity, now: datetime, grace: timedelta) -> bool:
    """Whether the work `owner` holds may be taken over: it is shown dead on this host, or it
    runs elsewhere and its lease expired more than `grace` ago."""
    here = dead_on_this_host(owner.identity, me)
    if here is not None:
        return here
    return owner.lease_expires_at + grace < now


def describe(identity: ProcessIdentity) -> str:
    """``host:pid``, for people (logs, the scans.owner column)."""
    return f"{identity.host}:{identity.pid}"
