"""Seed a SQLite database with many projects, scans, jobs and error entries, quickly.

Used by the benchmarks; the schema comes from the real migrations, the rows from bulk
inserts through the sqlite3 module (SQLAlchemy's ORM would take minutes for a million jobs).
Seeded files are cached under the system temp folder by size.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.db import Database

STATUSES = ["completed"] * 6 + ["partially_completed"] * 2 + ["failed", "stopped"]
CATEGORIES = ["invalid_credentials", "permission_denied", "temporary", "unknown"]
REGIONS = ["global", "us-east-1", "eu-west-1", "us-west-2", "ap-south-1"]


def seeded_sqlite(projects: int, scans: int, jobs: int, seed: int = 7) -> str:
    """A SQLite URL with that much data (built once, then reused from the temp folder)."""
    path = Path(tempfile.gettempdir()) / f"cspm-bench-{projects}-{scans}-{jobs}-v2.db"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        for leftover in tmp.parent.glob(tmp.name + "*"):
            leftover.unlink()
        _seed(tmp, projects, scans, jobs, seed)
        tmp.rename(path)
    return f"sqlite:///{path}"


def _seed(path: Path, projects: int, scans: int, jobs: int, seed: int) -> None:
    started = time.perf_counter()
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    iso = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    connectors = max(1, projects // 50)
    con.executemany(
        "INSERT INTO connectors (id, name, provider, account_id, account_label, scopes, "
        "fingerprint, secret_ciphertext, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                i,
                f"conn-{i:04d}",
                "aws",
                f"{100000000000 + i}",
                "",
                "[]",
                "AKIA…TEST",
                None,
                "bench",
                iso,
            )
            for i in range(1, connectors + 1)
        ],
    )
    con.executemany(
        "INSERT INTO projects (id, name, connector_id, scope, check_ids, created_by, "
        "created_at) VALUES (?,?,?,?,?,?,?)",
        [
            (i, f"project-{i:05d}", 1 + i % connectors, '["us-east-1"]', "[]", "bench", iso)
            for i in range(1, projects + 1)
        ],
    )
    per_project = max(1, scans // projects)
    jobs_per_scan = max(1, jobs // scans)
    scan_rows, job_rows, error_rows = [], [], []
    last_scan: dict[int, int] = {}
    scan_id = job_id = 0
    for p in range(1, projects + 1):
        for k in range(per_project):
            scan_id += 1
            status = rnd.choice(STATUSES)
            when = now - timedelta(hours=(per_project - k) * 6 + rnd.random())
            stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")
            failed = (
                0
                if status == "completed"
                else (
                    jobs_per_scan if status == "failed" else rnd.randint(1, jobs_per_scan - 1 or 1)
                )
            )
            scan_rows.append(
                (
                    scan_id,
                    p,
                    1 + p % connectors,
                    status,
                    f"{failed} of {jobs_per_scan} jobs failed"
                    if failed
                    else f"All {jobs_per_scan} jobs succeeded",
                    "schedule",
                    "bench",
                    stamp,
                    stamp,
                    stamp,
                    jobs_per_scan,
                    jobs_per_scan - failed,
                    failed,
                )
            )
            last_scan[p] = scan_id
            for j in range(jobs_per_scan):
                job_id += 1
                ok = j >= failed
                job_rows.append(
                    (
                        job_id,
                        scan_id,
                        REGIONS[j % len(REGIONS)],
                        "succeeded" if ok else "failed",
                        "" if ok else "temporary cloud error: Rate exceeded",
                        stamp,
                        stamp,
                    )
                )
                if not ok:
                    cat = rnd.choice(CATEGORIES)
                    error_rows.append(
                        (
                            scan_id,
                            job_id,
                            REGIONS[j % len(REGIONS)],
                            cat,
                            "Throttling",
                            "Rate exceeded",
                            "",
                            "Re-run the scan.",
                            stamp,
                        )
                    )
        if len(job_rows) > 200_000:
            _flush(con, scan_rows, job_rows, error_rows)
    _flush(con, scan_rows, job_rows, error_rows)
    con.executemany(
        "UPDATE projects SET last_scan_id = ?, "
        "last_status = (SELECT status FROM scans WHERE id = ?) WHERE id = ?",
        [(s, s, p) for p, s in last_scan.items()],
    )
    con.commit()
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(
        f"  (seeded {projects} projects, {scan_id} scans, {job_id} jobs in "
        f"{time.perf_counter() - started:.1f} s: {path})",
        flush=True,
    )


def _flush(con: sqlite3.Connection, scans: list, jobs: list, errors: list) -> None:  # type: ignore[type-arg]
    con.executemany(
        "INSERT INTO scans (id, project_id, connector_id, status, status_message, trigger, "
        "requested_by, created_at, started_at, finished_at, jobs_total, jobs_ok, jobs_failed) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        scans,
    )
    con.executemany(
        "INSERT INTO jobs (id, scan_id, unit, status, message, started_at, finished_at, "
        "findings_failed, findings_total) VALUES (?,?,?,?,?,?,?,0,0)",
        jobs,
    )
    con.executemany(
        "INSERT INTO error_entries (scan_id, job_id, unit, category, code, message, detail, "
        "remediation, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        errors,
    )
    scans.clear()
    jobs.clear()
    errors.clear()
