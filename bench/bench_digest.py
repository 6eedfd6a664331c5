"""Digest benchmark: one failure digest over 5,000 projects and 200,000 scans.

Builds the daily digest (data + Block Kit payload) on a seeded SQLite database and prints its
time and the number of SQL statements it ran, beside a baseline of the same digest over 50
projects and 2,000 scans in the same run. Target: under 200 ms, and a statement count that
does not grow with the data.

    .venv/bin/python bench/bench_digest.py [--projects 5000] [--scans 200000] [--runs 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import storage.models_scheduling  # noqa: E402,F401  (scheduling tables)
from bot.scheduling.digest_query import compute_digest  # noqa: E402
from bot.views.digest import build_digest  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Connector, ErrorEntry, Project, Scan  # noqa: E402

DAYS = 40
END = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
CATEGORIES = ("temporary", "invalid_credentials", "permission_denied", "unknown")


def seed(db: Database, projects: int, scans: int, rng: random.Random) -> None:
    """Connectors, projects and `scans` finished scans over 40 days, with error entries."""
    connectors = max(5, projects // 100)
    per_project = max(1, scans // projects)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Connector),
            [
                {
                    "id": c + 1,
                    "name": f"conn-{c}",
                    "provider": "aws",
                    "account_id": f"{c:012d}",
                    "account_label": "",
                    "scopes": [],
                    "fingerprint": "AKIA…TEST",
                    "created_by": "bench",
                    "created_at": END - timedelta(days=400 if c % 7 else 0, hours=3),
                    "last_validation_ok": c % 11 != 0,
                }
                for c in range(connectors)
            ],
        )
        conn.execute(
            insert(Project),
            [
                {
                    "id": p + 1,
                    "name": f"project-{p:05d}",
                    "connector_id": p % connectors + 1,
                    "scope": [],
                    "check_ids": [],
                    "created_by": "bench",
                    "created_at": END - timedelta(days=400),
                }
                for p in range(projects)
            ],
        )
        scan_rows: list[dict[str, Any]] = []
        error_rows: list[dict[str, Any]] = []
        last: dict[int, int] = {}
        scan_id = 0
        flaky = {p for p in range(projects) if rng.random() < 0.15}
        for day in range(per_project):
            for p in range(projects):
                if scan_id >= scans:
                    break
                scan_id += 1
                finished = (
                    END
                    - timedelta(days=DAYS)
                    + timedelta(days=day * DAYS / per_project, minutes=rng.randrange(0, 24 * 60))
                )
                roll = rng.random()
                failing_rate = 0.45 if p in flaky else 0.03
                if roll < failing_rate * 0.6:
                    status = "failed"
                elif roll < failing_rate:
                    status = "partially_completed"
                elif roll < failing_rate + 0.01:
                    status = "stopped"
                else:
                    status = "completed"
                scan_rows.append(
                    {
                        "id": scan_id,
                        "project_id": p + 1,
                        "connector_id": p % connectors + 1,
                        "status": status,
                        "status_message": f"{status} (bench)",
                        "trigger": "schedule",
                        "requested_by": "scheduler",
                        "created_at": finished - timedelta(minutes=4),
                        "started_at": finished - timedelta(minutes=4),
                        "finished_at": finished,
                        "jobs_total": 4,
                        "jobs_ok": 4 if status == "completed" else 1,
                        "jobs_failed": 0 if status == "completed" else 3,
                    }
                )
                last[p + 1] = scan_id
                if status in ("failed", "partially_completed"):
                    for _ in range(rng.choice((1, 2))):
                        error_rows.append(
                            {
                                "scan_id": scan_id,
                                "unit": "us-east-1",
                                "category": rng.choice(CATEGORIES),
                                "code": "Code",
                                "message": "bench error",
                                "detail": "",
                                "remediation": "bench",
                                "created_at": finished,
                            }
                        )
                if len(scan_rows) >= 20_000:
                    conn.execute(insert(Scan), scan_rows)
                    scan_rows.clear()
        if scan_rows:
            conn.execute(insert(Scan), scan_rows)
        for chunk in range(0, len(error_rows), 20_000):
            conn.execute(insert(ErrorEntry), error_rows[chunk : chunk + 20_000])
        conn.execute(
            update(Project)
            .where(Project.id == bindparam("pid"))
            .values(last_scan_id=bindparam("sid")),
            [{"pid": pid, "sid": sid} for pid, sid in last.items()],
        )


def measure(db: Database, runs: int) -> dict[str, Any]:
    """Time `runs` digests (data + payload) and count one digest's statements."""
    start, end = END - timedelta(days=1), END
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    times = []
    payload: dict[str, Any] = {}
    data = None
    for i in range(runs + 1):
        if i == 1:
            event.listen(db.engine, "before_cursor_execute", record)
        t0 = time.perf_counter()
        with db.read() as s:
            data = compute_digest(s, start, end, schedule_label="Daily at 09:00 (UTC)")
        payload = build_digest(data)
        elapsed = (time.perf_counter() - t0) * 1000
        if i == 1:
            event.remove(db.engine, "before_cursor_execute", record)
        if i > 0:  # the first run warms the connection pool and the page cache
            times.append(elapsed)
    assert data is not None
    return {
        "median_ms": statistics.median(times),
        "best_ms": min(times),
        "queries": len(statements),
        "failing": len(data.projects),
        "blocks": len(payload["blocks"]),
    }


def run_case(label: str, projects: int, scans: int, runs: int, folder: Path) -> dict[str, Any]:
    """Seed a fresh database and measure the digest on it."""
    path = folder / f"{label}.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    t0 = time.perf_counter()
    seed(db, projects, scans, random.Random(42))
    seeded = time.perf_counter() - t0
    result = measure(db, runs)
    db.dispose()
    return {"label": label, "projects": projects, "scans": scans, "seed_s": seeded, **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--scans", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            run_case("baseline", 50, 2000, args.runs, Path(tmp)),
            run_case("full", args.projects, args.scans, args.runs, Path(tmp)),
        ]
    print(
        f"{'case':<9} {'projects':>8} {'scans':>8} {'failing':>8} {'queries':>8} "
        f"{'median ms':>10} {'best ms':>8} {'blocks':>7} {'seeded in':>10}"
    )
    for r in rows:
        print(
            f"{r['label']:<9} {r['projects']:>8} {r['scans']:>8} {r['failing']:>8} "
            f"{r['queries']:>8} {r['median_ms']:>10.1f} {r['best_ms']:>8.1f} {r['blocks']:>7} "
            f"{r['seed_s']:>9.1f}s"
        )
    full = rows[1]
    print(
        f"\ntarget: < 200 ms -> {'OK' if full['median_ms'] < 200 else 'MISSED'}; "
        f"queries bounded: {'yes' if rows[0]['queries'] == full['queries'] else 'NO'} "
        f"({rows[0]['queries']} vs {full['queries']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
