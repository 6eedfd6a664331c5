"""Fault benchmark: what the bot does when Slack, the clouds, the database or the disk
misbehave, on SQLite and on PostgreSQL, printed as a table (one row per fault and database).

    .venv/bin/python -m bench.bench_faults [--quick] [--only NAME ...]

- Slack 429 and 5xx storms: digests through the outbox to many channels; every message
  delivered exactly once, in order per channel.
- Cloud 429/5xx storms (AWS via moto, Azure and Google stand-ins) on one unit of a scan:
  bounded retries (CSPM_CLOUD_MAX_ATTEMPTS per call), then Partially Completed with
  temporary-error entries for that unit.
- The database unavailable for 30 s (`--quick`: 5 s) while a scan and the scheduler run:
  SQLite locked by another process; PostgreSQL (a private cluster on a free port, never the
  shared server) stopped and started. Scans and the scheduler resume, nothing stays Running.
- A full disk under the database (a small tmpfs as root; else RLIMIT_FSIZE): a clear error,
  nothing corrupted (SQLite integrity_check, pg_amcheck).
- A read-only database at start: a clear error and exit code, no traceback.
- Load: concurrent scans on one `cspm-bot serve` and a stream of Slack requests over a send
  window, then a bounded drain; every request must get exactly one reply of the right kind
  (counted per interaction) and every scan end final; against an idle baseline in the same
  run (see bench/faults/load.py).

PostgreSQL rows use CSPM_TEST_DATABASE_URL (reset) or a private cluster; without
CSPM_TEST_DATABASE_URL, or without initdb/pg_ctl, they are skipped with the reason printed.
Exit status: 0 when every row that ran passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.faults import database, storms
from bench.faults.pgcluster import unavailable_reason
from bench.faults.report import Row, line, table

PG_ENV = "CSPM_TEST_DATABASE_URL"

Step = tuple[str, str, str, Callable[[], Row]]  # (group, fault, database, run)


def _steps(args: argparse.Namespace, tmp: Path) -> list[Step]:
    quick = args.quick
    pg_url = os.environ.get(PG_ENV, "")
    cluster_reason = unavailable_reason()
    outage = 5.0 if quick else 30.0
    channels, per = (6, 3) if quick else (20, 5)
    steps: list[Step] = []

    def sqlite_url(name: str) -> str:
        return f"sqlite:///{tmp}/{name}.db"

    def shared_pg() -> str:
        from tests.conftest import _reset_postgres

        _reset_postgres(pg_url)
        return pg_url

    for kind in ("429", "5xx"):
        steps.append(
            (
                "slack",
                f"Slack {kind} storm",
                "SQLite",
                lambda k=kind: storms.slack_storm(
                    sqlite_url(f"slack{k}"), "SQLite", k, channels, per
                ),
            )
        )
        steps.append(
            (
                "slack",
                f"Slack {kind} storm",
                "PostgreSQL",
                lambda k=kind: storms.slack_storm(shared_pg(), "PostgreSQL", k, channels, per),
            )
        )
    providers = ("aws", "azure", "gcp")
    for provider in providers:
        for kind in ("429", "5xx"):
            for db_label in ("SQLite", "PostgreSQL"):
                if quick and db_label == "PostgreSQL" and provider != "aws":
                    continue  # --quick: one provider on PostgreSQL
                steps.append(
                    (
                        "cloud",
                        f"{provider} {kind} storm",
                        db_label,
                        lambda p=provider, k=kind, d=db_label: storms.cloud_storm(
                            sqlite_url(f"{p}{k}") if d == "SQLite" else shared_pg(), d, p, k
                        ),
                    )
                )
    steps.append(
        ("outage", "Database unavailable", "SQLite", lambda: database.outage_sqlite(tmp, outage))
    )
    steps.append(
        (
            "outage",
            "Database unavailable",
            "PostgreSQL (private)",
            lambda: database.outage_postgres(outage),
        )
    )
    steps.append(("disk", "Full disk", "SQLite", lambda: database.full_disk_sqlite(tmp)))
    steps.append(
        ("disk", "Full disk", "PostgreSQL (private)", lambda: database.full_disk_postgres(tmp))
    )
    steps.append(
        ("readonly", "Read-only database", "SQLite", lambda: database.read_only_sqlite(tmp))
    )
    steps.append(
        (
            "readonly",
            "Read-only database",
            "PostgreSQL",
            lambda: database.read_only_postgres(shared_pg()),
        )
    )
    from bench.faults import load

    for db_label in ("SQLite", "PostgreSQL"):
        steps.append(
            (
                "load",
                "Load",
                db_label,
                lambda d=db_label: load.run(
                    sqlite_url("load") if d == "SQLite" else shared_pg(), d, tmp, quick
                ),
            )
        )

    runnable: list[Step] = []
    for group, fault, db_label, run in steps:
        if args.only and group not in args.only:
            continue
        reason = None
        if db_label == "PostgreSQL" and not pg_url:
            reason = f"{PG_ENV} is not set"
        if db_label.endswith("(private)") and cluster_reason:
            reason = f"no private PostgreSQL cluster: {cluster_reason}"
        if reason:
            runnable.append(
                (
                    group,
                    fault,
                    db_label,
                    lambda f=fault, d=db_label, r=reason: Row(f, d, f"skipped: {r}", "", None),
                )
            )
        else:
            runnable.append((group, fault, db_label, run))
    return runnable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s outage, smaller load")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["slack", "cloud", "outage", "disk", "readonly", "load"],
        help="run only these groups",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the rows say what happened
    tmp = Path(tempfile.mkdtemp(prefix="cspm-faults-"))
    tmp.chmod(0o755)  # the private PostgreSQL cluster runs as the postgres user
    rows: list[Row] = []
    started = time.monotonic()
    try:
        for _group, fault, db_label, run in _steps(args, tmp):
            t0 = time.monotonic()
            try:
                row = run()
            except Exception as exc:  # a harness failure is a row, not the end of the run
                traceback.print_exc()
                row = Row(fault, db_label, f"the benchmark itself failed: {exc!r}"[:300], "", False)
            rows.append(row)
            print(line(row) + f"   [{time.monotonic() - t0:.0f} s]", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mode = "--quick" if args.quick else "full"
    print(f"\nbench_faults ({mode}, {time.monotonic() - started:.0f} s)\n")
    print(table(rows))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
