"""Loopback Redis and real ``cspm-bot worker`` processes for the Celery tests.

Every test runs its own ``redis-server`` on a free loopback port (no persistence to disk
unless asked, so a restart can also be made to keep the queue with an append-only file in
the test's folder). The tests are skipped, with that reason, when `CSPM_TEST_REDIS_URL` is
unset; without the ``redis-server`` binary they use that URL's database (flushed) and skip
the tests that must restart Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot import providers
from bot.settings import Settings, env_name

REDIS_ENV = "CSPM_TEST_REDIS_URL"
REPO = Path(__file__).resolve().parents[2]


def require_redis() -> str:
    """The configured test Redis URL, or skip the test saying what to set."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: the Celery (Redis broker) tests are skipped")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A ``redis-server`` subprocess of the test's own on 127.0.0.1."""

    def __init__(self, folder: Path, persistent: bool = False) -> None:
        self.folder = folder
        self.persistent = persistent
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
            if self.persistent
            else ["--save", "", "--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--protected-mode",
                "no",
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # an append-only file is flushed first
            self.proc.wait(10)
        self.proc = None


@dataclass
class Broker:
    """The broker of one test: its URL and, when it is ours, the server to restart."""

    url: str
    server: RedisServer | None = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)

    def raw_dump(self) -> bytes:
        """Every key and value the broker stores, as raw bytes (lists, hashes, sets, zsets)."""
        r = self.client()
        out: list[bytes] = []
        for key in r.scan_iter(count=1000):
            kind = r.type(key)
            out.append(key)
            if kind == b"string":
                out.append(r.get(key) or b"")
            elif kind == b"list":
                out.extend(r.lrange(key, 0, -1))
            elif kind == b"hash":
                for k, v in r.hgetall(key).items():
                    out += [k, v]
            elif kind == b"set":
                out.extend(r.smembers(key))
            elif kind == b"zset":
                out.extend(m for m, _ in r.zrange(key, 0, -1, withscores=True))
        r.close()
        return b"\n".join(out)


def make_broker(tmp_path: Path, persistent: bool = False) -> Broker:
    """A Redis of the test's own when ``redis-server`` exists, else the shared test one."""
    url = require_redis()
    if shutil.which("redis-server"):
        server = RedisServer(tmp_path / "redis", persistent=persistent)
        server.start()
        return Broker(server.url, server)
    broker = Broker(url)
    broker.client().flushdb()
    return broker


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that give a child process these `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CSPM_", "SLACK_", "AWS_ENDPOINT", "AZURE_", "GOOGLE_"))
    }
    for name, info in Settings.model_fields.items():
        if info.exclude or name == "endpoint_overrides":
            continue
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(value)
        env[env_name(name)] = str(value)
    for spec in providers.specs():
        for setting in spec.endpoints:
            if settings.endpoint_overrides.get(setting.name):
                env[setting.env] = str(settings.endpoint_overrides[setting.name])
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass
class WorkerProc:
    """One ``cspm-bot worker --queues Q`` process."""

    queue: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing handed back."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM: Celery's warm shutdown (work in progress finishes)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Workers:
    """Starts worker processes for a test and stops them all at its end."""

    settings: Settings
    folder: Path
    started: list[WorkerProc] = field(default_factory=list)

    def start(self, queue: str, concurrency: int = 4, wait: bool = True) -> WorkerProc:
        log = self.folder / f"worker-{queue}-{len(self.started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "worker", "--queues", queue,
                 "--concurrency", str(concurrency)],
                env=settings_env(self.settings),
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        worker = WorkerProc(queue, proc, log)
        self.started.append(worker)
        if wait:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: WorkerProc, timeout: float = 60) -> None:
        """Until the worker answers a ping (it consumes its queue then)."""
        from bot.distributed.celeryapp import make_celery

        app = make_celery(self.settings)
        deadline = time.monotonic() + timeout
        try:
            while True:
                assert worker.alive(), f"the worker exited:\n{worker.output()[-3000:]}"
                replies = app.control.ping(timeout=0.5) or []
                names = [n for r in replies for n in r]
                if any(n.startswith(f"{worker.queue}-{worker.pid}@") for n in names):
                    return
                assert time.monotonic() < deadline, f"no ping answer:\n{worker.output()[-3000:]}"
        finally:
            app.close()

    def close(self) -> None:
        for worker in self.started:
            worker.stop(timeout=20)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "it") -> Any:
    """Poll `condition` until it is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
