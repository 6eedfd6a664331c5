"""Orchestration benchmark: 1,000 jobs, each making CALLS cloud calls to a loopback
stand-in that answers after 50 ms, at concurrency 16.

Prints the ideal wall time (jobs x calls x latency / concurrency), a bare thread pool doing the
same calls with no engine (baseline, same run), and the real ScanEngine through its embedded
dispatcher (planning, job rows, each job claimed and its result written by the job itself in
one SQLite transaction, fan-in by the jobs-done counter, final status). Target: engine within
1.3x of the ideal.

    .venv/bin/python bench/bench_orchestration.py [--jobs 1000] [--calls 2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from bot.domain import CancelToken, CheckResult, ScanStatus
from bot.engine.engine import ScanEngine
from bot.engine.jobs import FindingRecord, ScanTarget, UnitOutcome
from bot.providers.aws.credentials import AwsCredentials
from bot.services.scans import ScanService
from storage.db import Database
from storage.models import Connector, Project, Scan


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    latency = 0.05
    disable_nagle_algorithm = True  # one write per reply, no delayed-ACK stalls

    def do_GET(self) -> None:
        time.sleep(self.latency)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


_local = threading.local()


def _call(url: str) -> None:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    session.get(url, timeout=10).raise_for_status()


@dataclass
class _Session:
    url: str
    calls: int

    def close(self) -> None:
        pass

    def run_unit(self, unit: str, cancel: CancelToken) -> UnitOutcome:
        outcome = UnitOutcome()
        for i in range(self.calls):
            cancel.checkpoint()
            _call(self.url)
            outcome.findings.append(
                FindingRecord("bench.check", "low", CheckResult(f"{unit}/r{i}", passed=i % 2 == 0))
            )
        return outcome


@dataclass
class _Runner:
    url: str
    calls: int
    jobs: int

    def plan(self, target: ScanTarget, cancel: CancelToken) -> list[str]:
        return [f"unit-{i:04d}" for i in range(self.jobs)]

    def open(self, target: ScanTarget, cancel: CancelToken) -> _Session:
        return _Session(self.url, self.calls)


def bare_pool(url: str, jobs: int, calls: int, concurrency: int) -> float:
    """Baseline: the same calls on a plain thread pool, no engine, no database."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: [_call(url) for _ in range(calls)], range(jobs)))
    return time.perf_counter() - start


def engine_run(url: str, jobs: int, calls: int, concurrency: int) -> tuple[float, ScanStatus]:
    """The real engine on a fresh SQLite database."""
    tmp = tempfile.mkdtemp()
    db = Database(f"sqlite:///{tmp}/bench.db")
    db.upgrade()
    with db.unit_of_work() as s:
        c = Connector(name="bench", provider="aws", fingerprint="-", created_by="bench")
        s.add(c)
        s.flush()
        p = Project(name="bench", connector_id=c.id, created_by="bench")
        s.add(p)
        s.flush()
        scan = Scan(
            project_id=p.id, connector_id=c.id, status="queued", trigger="cli", requested_by="bench"
        )
        s.add(scan)
        s.flush()
        scan_id = scan.id
    creds = AwsCredentials("AKIA" + "B" * 16, "x" * 40)
    engine = ScanEngine(
        db,
        _Runner(url, calls, jobs),
        lambda _: ("aws", creds),
        concurrency=concurrency,
        heartbeat_seconds=1.0,
    )
    start = time.perf_counter()
    engine.dispatcher.dispatch_plan(scan_id)
    status = ScanService(db, engine).wait(scan_id)
    elapsed = time.perf_counter() - start
    assert status is not None
    engine.shutdown()
    db.dispose()
    return elapsed, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    _SlowHandler.latency = args.latency
    server = _Server(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/call"

    ideal = args.jobs * args.calls * args.latency / args.concurrency
    bare = bare_pool(url, args.jobs, args.calls, args.concurrency)
    wall, status = engine_run(url, args.jobs, args.calls, args.concurrency)
    server.shutdown()
    print(
        f"orchestration: {args.jobs} jobs x {args.calls} calls x {args.latency * 1000:.0f} ms,"
        f" concurrency {args.concurrency}"
    )
    print(f"  ideal                 {ideal:7.2f} s")
    print(f"  bare thread pool      {bare:7.2f} s   ratio {bare / ideal:.2f}x  (baseline)")
    print(
        f"  ScanEngine + SQLite   {wall:7.2f} s   ratio {wall / ideal:.2f}x  "
        f"(target <= 1.30x; final status {status.label})"
    )
    print(f"  engine vs bare pool   {wall / bare:.2f}x")


if __name__ == "__main__":
    main()
