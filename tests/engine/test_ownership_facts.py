"""The proof that a process holding scan work is dead (`bot.engine.ownership`), on real
processes of this host: a live child, a zombie, a reaped one, a reused pid, another boot,
and a process on another host known only by its lease."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.engine.ownership import (
    BOOT_ID_FILE,
    OwnerFacts,
    ProcessIdentity,
    dead_on_this_host,
    describe,
    is_dead,
    start_ticks,
    this_process,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)


# A child with every signal's default action and none blocked, even when this run was started
# with some ignored (nohup ignores SIGHUP) or blocked: a stray signal sent to it must show.
SLEEPER = (
    "import signal, time\n"
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, signal.valid_signals())\n"
    "for s in signal.valid_signals():\n"
    "    try: signal.signal(s, signal.SIG_DFL)\n"
    "    except (OSError, ValueError): pass\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # signals reset
    yield proc
    proc.kill()
    proc.wait()


def identity_of(proc: subprocess.Popen[bytes]) -> ProcessIdentity:
    me = this_process()
    ticks = start_ticks(proc.pid)
    assert ticks is not None
    return ProcessIdentity(me.host, proc.pid, ticks, me.boot_id)


def test_this_process_is_identified_by_host_pid_start_and_boot() -> None:
    me = this_process()
    assert (me.host, me.pid) == (socket.gethostname(), os.getpid())
    assert me.start_ticks > 0 and me.start_ticks == start_ticks(os.getpid())
    assert me.boot_id == BOOT_ID_FILE.read_text().strip() != ""
    assert describe(me) == f"{socket.gethostname()}:{os.getpid()}"


def test_a_live_process_of_this_host_is_alive(child: subprocess.Popen[bytes]) -> None:
    assert dead_on_this_host(identity_of(child), this_process()) is False
    assert dead_on_this_host(this_process(), this_process()) is False


def test_a_process_that_ended_is_dead_whether_reaped_or_a_zombie(
    child: subprocess.Popen[bytes],
) -> None:
    owner = identity_of(child)
    child.kill()
    deadline = time.monotonic() + 10
    while start_ticks(child.pid) is not None:  # a zombie until reaped: already dead
        assert time.monotonic() < deadline, "the killed child still runs"
        time.sleep(0.01)
    assert dead_on_this_host(owner, this_process()) is True
    child.wait()  # reaped: the pid is gone
    assert start_ticks(child.pid) is None
    assert dead_on_this_host(owner, this_process()) is True


def test_a_reused_pid_is_another_process(child: subprocess.Popen[bytes]) -> None:
    earlier = replace(identity_of(child), start_ticks=identity_of(child).start_ticks - 1)
    assert dead_on_this_host(earlier, this_process()) is True
    me = this_process()
    assert dead_on_this_host(replace(me, start_ticks=me.start_ticks - 1), me) is True


def test_a_process_from_before_the_last_boot_is_dead(child: subprocess.Popen[bytes]) -> None:
    before_boot = replace(identity_of(child), boot_id="another-boot")
    assert dead_on_this_host(before_boot, this_process()) is True
    # where the platform tells no boot id, the pid and start time decide
    assert dead_on_this_host(replace(identity_of(child), boot_id=""), this_process()) is False


def test_without_proc_start_times_only_the_pid_tells(child: subprocess.Popen[bytes]) -> None:
    me = replace(this_process(), start_ticks=0)
    owner = replace(identity_of(child), start_ticks=0)
    assert dead_on_this_host(owner, me) is False
    time.sleep(0.2)
    assert child.poll() is None  # looking at a process never disturbs it (signal 0 only)
    child.kill()
    child.wait()
    assert dead_on_this_host(owner, me) is True


def test_another_hosts_process_is_dead_only_once_its_lease_and_the_grace_expired() -> None:
    elsewhere = ProcessIdentity("other-host", os.getpid(), 1, "their-boot")
    assert dead_on_this_host(elsewhere, this_process()) is None
    owner = OwnerFacts(1, elsewhere, lease_expires_at=NOW)
    assert not is_dead(owner, this_process(), NOW, GRACE)
    assert not is_dead(owner, this_process(), NOW + GRACE, GRACE)  # exactly at the end
    assert is_dead(owner, this_process(), NOW + GRACE + timedelta(seconds=1), GRACE)


def test_on_this_host_the_process_decides_not_the_lease(child: subprocess.Popen[bytes]) -> None:
    alive = OwnerFacts(1, identity_of(child), lease_expires_at=NOW - timedelta(days=1))
    assert not is_dead(alive, this_process(), NOW, GRACE)  # a late heartbeat, a live owner
    child.kill()
    child.wait()
    fresh = OwnerFacts(1, alive.identity, lease_expires_at=NOW + GRACE)
    assert is_dead(fresh, this_process(), NOW, GRACE)  # a fresh lease, a dead owner


def test_a_process_name_with_parentheses_and_spaces_does_not_shift_the_fields() -> None:
    """The name (field 2) is whatever the process calls itself: the fields are read after
    its last ")"."""
    script = "open('/proc/self/comm', 'w').write('cspm) (x y')\n"
    proc = subprocess.Popen([sys.executable, "-c", script + SLEEPER], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        assert "cspm) (x y" in Path(f"/proc/{proc.pid}/stat").read_text()
        ticks = start_ticks(proc.pid)
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        now_ticks = uptime * os.sysconf("SC_CLK_TCK")
        assert ticks is not None and this_process().start_ticks <= ticks <= now_ticks
    finally:
        proc.kill()
        proc.wait()
