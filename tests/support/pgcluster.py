"""A private PostgreSQL cluster for the fault benchmark and the outage tests, so stopping,
starting or filling the disk under a database never touches a server other people use.

``initdb`` + ``pg_ctl`` on a free loopback port in a folder of its own (optionally a small
tmpfs), run as the ``postgres`` user through ``runuser`` when this process is root (the
server refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def unavailable_reason() -> str | None:
    """Why a private cluster cannot run here, or None."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "no initdb/pg_ctl (/usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateCluster:
    """One throw-away cluster: `start()`, `stop()`, `url`, `close()` (removes it)."""

    def __init__(self, root: Path | None = None, wal_segment_mb: int = 1) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="cspm-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.wal_segment_mb = wal_segment_mb
        self._root_user = os.geteuid() == 0

    def _run(self, *cmd: str, check: bool = True, timeout: float = 120) -> str:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self._root_user else list(cmd)
        done = subprocess.run(
            full, capture_output=True, text=True, timeout=timeout, check=False, cwd="/"
        )
        if check and done.returncode:
            raise RuntimeError(f"{cmd[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout + done.stderr

    def _own(self) -> None:
        if self._root_user:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)

    def init(self) -> PrivateCluster:
        """initdb (trust authentication on loopback, user postgres, small WAL segments)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._own()
        self._run(
            str(_bin("initdb")),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            f"--wal-segsize={self.wal_segment_mb}",
            "--no-sync",
        )
        conf = self.data / "postgresql.conf"
        with conf.open("a") as out:
            out.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                "shared_buffers = 16MB\nmax_connections = 60\nmin_wal_size = 4MB\n"
                "max_wal_size = 16MB\n"
            )
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(str(_bin("pg_ctl")), "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: disconnect clients; `immediate`: like a crash)."""
        self._run(str(_bin("pg_ctl")), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        """True while the server answers."""
        out = self._run(str(_bin("pg_ctl")), "-D", str(self.data), "status", check=False)
        return "server is running" in out

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name`; returns its SQLAlchemy URL."""
        psql = _bin("psql") or "psql"
        self._run(
            psql,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            f'CREATE DATABASE "{name}"',
        )
        return self.url(name)

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database `name`."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def amcheck(self, name: str) -> str:
        """pg_amcheck of database `name` (heap and B-tree): "ok" or its first complaint."""
        tool = _bin("pg_amcheck")
        if tool is None:
            return "pg_amcheck missing"
        psql = _bin("psql") or "psql"
        self._run(
            psql,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            name,
            "-c",
            "CREATE EXTENSION IF NOT EXISTS amcheck",
            check=False,
        )
        full = [
            tool,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            name,
            "--heapallindexed",
        ]
        cmd = ["runuser", "-u", "postgres", "--", *full] if self._root_user else full
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode == 0:
            return "ok"
        return (done.stdout + done.stderr).strip().splitlines()[0][:120]

    def wait_ready(self, timeout: float = 60) -> bool:
        """Wait until the server answers (after a crash it replays its WAL first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return True
            time.sleep(0.5)
        return False

    def close(self) -> None:
        """Stop the server and remove its folder."""
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
