"""Database faults for the fault benchmark: read-only at start, a full disk, and the database
unavailable for a while (SQLite locked by another process; PostgreSQL stopped and started)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench.faults.pgcluster import PrivateCluster
from bench.faults.report import Row
from bot.domain import ScanStatus
from bot.errors import ConflictError
from bot.runtime import build_runtime
from storage.db import Database
from storage.models import Connector, Project, Scan
from tests.conftest import _reset_postgres, make_settings
from tests.support.faultfs import SmallDisk, read_only

CLI = str(Path(sys.executable).with_name("cspm-bot"))
READ_ONLY_OPTION = "options=-c%20default_transaction_read_only%3Don"
ACTIVE = ("queued", "running")


def seed(url: str) -> None:
    """A migrated database with connector `prod` and project `web`."""
    db = Database(url)
    db.upgrade()
    with db.unit_of_work() as s:
        connector = Connector(name="prod", provider="aws", fingerprint="-", created_by="bench")
        s.add(connector)
        s.flush()
        s.add(Project(name="web", connector_id=connector.id, created_by="bench"))
    db.dispose()


def cli(
    url: str, *args: str, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `cspm-bot` against `url` as a person would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CSPM_", "SLACK_"))}
    env.update(CSPM_DATABASE_URL=url, CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode())
    return subprocess.run(
        [CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
        check=False,
        cwd=tempfile.gettempdir(),
    )


def _said(out: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    return (lines[0] if lines else (out.stderr.strip().splitlines() or [""])[-1])[:150]


def _clean(out: subprocess.CompletedProcess[str]) -> bool:
    text = out.stdout + out.stderr
    return "Traceback" not in text and "unexpected failure" not in text


# --- read-only ------------------------------------------------------------------------------
def read_only_sqlite(tmp: Path) -> Row:
    """`cspm-bot project list` on a SQLite database whose folder is read-only."""
    folder = tmp / "ro"
    url = f"sqlite:///{folder}/cspm.db"
    seed(url)
    with read_only(folder) as how:
        out = cli(url, "project", "list")
    ok = out.returncode == 1 and _clean(out) and "read-only" in out.stderr
    return Row(
        "Read-only database at start",
        "SQLite",
        f"exit {out.returncode}: {_said(out)}",
        f"{how}; traceback: {'no' if _clean(out) else 'YES'}",
        ok,
    )


def read_only_postgres(url: str) -> Row:
    """A database whose transactions are read-only: a fresh one at start, then a write."""
    _reset_postgres(url)
    ro = url + ("&" if "?" in url else "?") + READ_ONLY_OPTION
    fresh = cli(ro, "project", "list")
    seed(url)
    write = cli(ro, "project", "add", "api", "--connector", "prod")
    ok = (
        fresh.returncode == 1
        and write.returncode == 1
        and _clean(fresh)
        and _clean(write)
        and "read-only" in fresh.stderr + write.stderr
    )
    return Row(
        "Read-only database at start",
        "PostgreSQL",
        f"start: exit {fresh.returncode}: {_said(fresh)} | a write on a migrated one: exit "
        f"{write.returncode}",
        "default_transaction_read_only=on; traceback: "
        + ("no" if _clean(fresh) and _clean(write) else "YES"),
        ok,
    )


# --- full disk ------------------------------------------------------------------------------
def full_disk_sqlite(tmp: Path) -> Row:
    """A write with no space left, then the space back: integrity check, write again."""
    with SmallDisk(tmp / "disk", kib=2048) as disk:
        path = disk.folder / "cspm.db"
        url = f"sqlite:///{path}"
        seed(url)
        disk.fill()
        full = cli(url, "project", "add", "api", "--connector", "prod", preexec=disk.preexec)
        disk.release()
        with sqlite3.connect(path) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        listed = cli(url, "project", "list")
        again = cli(url, "project", "add", "api", "--connector", "prod")
        ok = (
            full.returncode == 1
            and _clean(full)
            and "disk" in full.stderr
            and integrity == "ok"
            and "api" not in listed.stdout
            and again.returncode == 0
        )
        return Row(
            "Full disk under the database",
            "SQLite",
            f"exit {full.returncode}: {_said(full)}",
            f"{disk.how}; integrity_check {integrity}; half-written row: "
            f"{'none' if 'api' not in listed.stdout else 'PRESENT'}; write after freeing "
            f"space: exit {again.returncode}",
            ok,
        )


def full_disk_postgres(tmp: Path) -> Row:
    """A private cluster on a small tmpfs: a write with no space left, then space back."""
    with SmallDisk(tmp / "pgdisk", kib=96 * 1024) as disk:
        if not disk.mounted:
            return Row(
                "Full disk under the database",
                "PostgreSQL",
                "not run: cannot mount a tmpfs here (needs root)",
                "",
                None,
            )
        cluster = PrivateCluster(root=disk.folder / "pg").init()
        try:
            cluster.start()
            url = cluster.create_database("bench")
            seed(url)
            disk.fill()
            full = cli(url, "project", "add", "api", "--connector", "prod")
            crashed = not cluster.running()
            disk.release()
            if crashed:
                cluster.start()
            cluster.wait_ready()
            check = cluster.amcheck("bench")
            listed = cli(url, "project", "list")
            again = cli(url, "project", "add", "api", "--connector", "prod")
            ok = (
                full.returncode == 1
                and _clean(full)
                and check == "ok"
                and "api" not in listed.stdout
                and again.returncode == 0
            )
            return Row(
                "Full disk under the database",
                "PostgreSQL",
                f"exit {full.returncode}: {_said(full)}",
                f"private cluster on a 96 MiB tmpfs; server {'crashed' if crashed else 'up'};"
                f" pg_amcheck {check}; write after freeing space: exit {again.returncode}",
                ok,
            )
        finally:
            cluster.close()


# --- unavailable for a while ----------------------------------------------------------------
def _hold_sqlite_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "c.execute('COMMIT')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def _active_scans(url: str) -> int:
    db = Database(url)
    try:
        with db.read() as s:
            return sum(1 for scan in s.query(Scan).all() if scan.status in ACTIVE)
    finally:
        db.dispose()


def outage(url: str, label: str, seconds: float, stop_start: Callable[[float], None]) -> Row:
    """A scan and the scheduler running while the database is unavailable for `seconds`."""
    from bot.playground.aws import FaultProxy, MotoStandIn
    from bot.scheduling.service import SchedulingService

    aws = MotoStandIn.shared()
    aws.reset()
    aws.enable_auth()
    with FaultProxy(aws.url) as proxy:
        settings = make_settings(
            url, aws_endpoint_url=proxy.url, heartbeat_seconds=1.0, cloud_max_attempts=3
        )
        rt = build_runtime(settings)
        sched: Any = None
        try:
            key_id, secret = aws.create_user("outage-scanner", admin=True)
            raw = {"access_key_id": key_id, "secret_access_key": secret}
            rt.connectors.create("aws", "prod-aws", raw, actor="bench")
            regions = ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"]
            rt.projects.add("web", "prod-aws", actor="bench", scope=regions)
            sched = SchedulingService(rt, None).start()
            for region in regions[1:]:
                proxy.delay(0.3, region=region)
            scan = rt.scans.start("web", trigger="cli", actor="bench")
            time.sleep(1.0)
            began = time.monotonic()
            stop_start(seconds)
            back = time.monotonic() - began
            rt.scans.wait(scan.scan_id, timeout=seconds + 120)
            # a scan is final, or recovered, within 3 heartbeats plus a margin
            deadline = time.monotonic() + 3 * settings.heartbeat_seconds + 20
            first = rt.scans.get(scan.scan_id)
            while first.status.is_active and time.monotonic() < deadline:
                time.sleep(0.5)
                first = rt.scans.get(scan.scan_id)
            settled = time.monotonic() - began
            proxy.clear()
            try:
                second = rt.scans.start("web", trigger="cli", actor="bench")
                rt.scans.wait(second.scan_id, timeout=120)
                after = rt.scans.get(second.scan_id).status.label
            except ConflictError as exc:
                after = f"refused ({exc.message[:60]})"
            leader = sched.tick()
            active = _active_scans(url)
        finally:
            if sched is not None:
                sched.stop()
            rt.close()
    ok = (
        not first.status.is_active
        and after == ScanStatus.COMPLETED.label
        and leader
        and active == 0
    )
    return Row(
        f"Database unavailable {seconds:.0f} s",
        label,
        f"scan running through it: {first.status.label} ({first.status_message}); "
        f"scan after: {after}; scheduler leader again: {leader}; "
        f"scans still Queued/Running: {active}",
        f"outage {back:.1f} s; first scan {'final' if not first.status.is_active else 'still'}"
        f" {first.status.label} {settled:.1f} s after the outage began",
        ok,
    )


def outage_sqlite(tmp: Path, seconds: float) -> Row:
    """SQLite: another process holds an exclusive lock for `seconds`."""
    path = tmp / "outage.db"
    url = f"sqlite:///{path}"

    def lock(s: float) -> None:
        proc = _hold_sqlite_lock(path, s)
        proc.wait(timeout=s + 30)

    return outage(url, "SQLite", seconds, lock)


def outage_postgres(seconds: float) -> Row:
    """PostgreSQL: a private cluster stopped for `seconds`, then started."""
    cluster = PrivateCluster().init()
    try:
        cluster.start()
        url = cluster.create_database("bench")

        def stop_start(s: float) -> None:
            cluster.stop("fast")
            time.sleep(s)
            cluster.start()

        return outage(url, "PostgreSQL", seconds, stop_start)
    finally:
        cluster.close()
