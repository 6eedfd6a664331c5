"""`cspm-bot serve`'s processes live and die with the master: after ``kill -9`` of the master
nothing goes on serving, and a second `serve` on a port in use exits at once saying so.
One real `serve` is started (as in `test_serve.py`, with the Slack stand-in); the unit tests
below check the port probe and the parent-death signal (prctl, and the pid watcher) alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.lifetime import PortInUseError, announce_when_listening, check_port_free
from bot.playground.slack_emulator import SlackStandIn
from tests.slack.test_serve import REPO, _descendants, _free_port, _http_get, _running
from tests.support.slackdriver import SIGNING_SECRET

DEADLINE = 60.0
"""Upper bound of every wait below (they end as soon as the state is observed)."""


def _env(tmp_path: Path, slack: SlackStandIn) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CSPM_", "AWS_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        CSPM_DATABASE_URL=f"sqlite:///{tmp_path}/cspm.db",
        CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PYTHONPATH=str(REPO),
    )
    return env


def _serve(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(child: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if _http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    output = child.stdout.read().decode() if child.poll() is not None and child.stdout else ""
    pytest.fail(f"serve never became healthy: {output}")


def _port_free(port: int) -> bool:
    try:
        check_port_free("127.0.0.1", port)
    except PortInUseError:
        return False
    return True


def _stop(child: subprocess.Popen[bytes]) -> str:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        return child.communicate(timeout=30)[0].decode()
    except subprocess.TimeoutExpired:
        child.kill()
        return child.communicate()[0].decode()


def test_a_second_serve_is_refused_and_kill_9_of_the_master_takes_its_workers_down(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    port = _free_port()
    env = _env(tmp_path, slack)
    master = _serve(tmp_path, env, port)
    below: set[int] = set()
    try:
        _wait_healthy(master, port)
        below = _descendants(master.pid)
        assert len(below) >= 2  # granian's worker (acks) and the bot's worker process

        (tmp_path / "second").mkdir()
        second = _serve(tmp_path / "second", env, port)
        output = second.communicate(timeout=DEADLINE)[0].decode()
        assert second.returncode == 2, output
        assert f"Port {port} on 127.0.0.1 is already in use" in output
        assert "--port N" in output and "Traceback" not in output
        assert _http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200  # the first serves on

        master.kill()  # SIGKILL: no shutdown code runs in the master
        master.wait(10)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and (
            any(_running(pid) for pid in below) or not _port_free(port)
        ):
            time.sleep(0.1)
        assert not {pid for pid in below if _running(pid)}, "orphans still running"
        assert _port_free(port), "the port is still served"
    finally:
        _stop(master)
        for pid in below:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_port_another_program_listens_on_is_refused() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as granian does
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"Port {port} on 127.0.0.1 is already in use"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)  # free again once it closed


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])  # a wildcard is probed on loopback
def test_serving_is_announced_only_once_the_port_accepts(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    announcer = announce_when_listening(host, port, "ready to serve")
    announcer.join(0.5)  # several probes, all refused
    assert announcer.is_alive() and "ready to serve" not in capsys.readouterr().err
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        announcer.join(DEADLINE)
        assert not announcer.is_alive()
    assert capsys.readouterr().err == "ready to serve\n"


@pytest.mark.parametrize("watch", [False, True])
def test_a_child_dies_with_its_parent(tmp_path: Path, watch: bool) -> None:
    """A middle process starts a grandchild that calls `die_with_parent`, then is killed:
    the grandchild stops (prctl on Linux; the pid watcher where prctl is missing)."""
    pid_file = tmp_path / "grandchild.pid"
    code = f"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import os, sys, time
import bot.lifetime as lifetime
if {watch!r}:
    lifetime._prctl_pdeathsig = lambda sig: False  # as on a system without prctl
    lifetime.WATCH_SECONDS = 0.05
how = lifetime.die_with_parent(os.getppid())
open({str(pid_file)!r}, "w").write(f"{{os.getpid()}} {{how}}")
time.sleep(60)
'''])
time.sleep(60)
"""
    middle = subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    grandchild = 0
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not (
            pid_file.exists() and " " in pid_file.read_text()
        ):
            time.sleep(0.05)
        pid_text, how = pid_file.read_text().split()
        grandchild = int(pid_text)
        assert how == ("watch" if watch else "prctl")
        assert _running(grandchild)
        middle.kill()
        middle.wait(10)
        while time.monotonic() < deadline and _running(grandchild):
            time.sleep(0.05)
        assert not _running(grandchild)
    finally:
        if middle.poll() is None:
            middle.kill()
            middle.wait()
        if grandchild and _running(grandchild):
            os.kill(grandchild, signal.SIGKILL)
