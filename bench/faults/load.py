"""Load on one `cspm-bot serve` (HTTP mode): concurrent scans and a stream of Slack requests.

An idle baseline first (the same request stream, fewer requests, nothing else running), then
the load: SCANS ``/cspm run`` commands start that many scans at once (Google Cloud stand-in
in its own process, every Compute call answered after a delay so they overlap) while REQUESTS
``/cspm projects`` commands arrive evenly over SECONDS from 8 senders. Figures: ack p50/p99
(one HTTP round trip, request built and signed beforehand), requests answered (HTTP 200 and
the reply posted to the response_url), scans final, and the peak RSS of the serving process
tree (sampled every 0.25 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from cryptography.fernet import Fernet

from bench.bench_ack_latency import (
    USER,
    Prepared,
    RequestBuilder,
    _free_port,
    _stop,
    _wait_listening,
    pct,
)
from bench.faults.report import Row
from bench.standin_proc import StandInProcess
from bot.runtime import build_runtime
from bot.settings import Settings
from storage.db import Database
from storage.models import Scan
from tests.support.slackdriver import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
SENDERS = 8
SERVE_LOG = Path(tempfile.gettempdir()) / "cspm-faults-serve.log"
"""The serving process's log is kept here (one file per database) for a look afterwards."""
WORKER_PRIORITY = os.environ.get("BENCH_WORKER_PRIORITY", "low")
"""The README's advice for a machine shared with busy programs (this one: 2 cores, ~8 users);
``BENCH_WORKER_PRIORITY=idle`` measures the default."""
FINAL = ("completed", "partially_completed", "failed", "stopped")


def _tree(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    children: dict[int, list[int]] = {}
    for line in out.stdout.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _rss_kib(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class RssSampler:
    """Peak RSS of a process tree, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, _rss_kib(_tree(self.pid)))

    def __enter__(self) -> RssSampler:
        self.peak = _rss_kib(_tree(self.pid))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def paced(url: str, prepared: list[Prepared], seconds: float) -> tuple[list[float], int]:
    """Send `prepared` evenly over `seconds` from SENDERS threads; (latencies ms, failures)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    interval = seconds / max(1, len(prepared))
    start = time.perf_counter()
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    index = iter(range(len(prepared)))

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                conn.close()
                return
            due = start + i * interval
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            item = prepared[i]
            t0 = time.perf_counter()
            try:
                conn.request("POST", parts.path, body=item.body, headers=item.headers)
                reply = conn.getresponse()
                reply.read()
                ok = reply.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures[0]


def _scan_counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.read() as s:
            counts: dict[str, int] = {}
            for (status,) in s.query(Scan.status).all():
                counts[str(status)] = counts.get(str(status), 0) + 1
            return counts
    finally:
        db.dispose()


def _replies(slack: StandInProcess) -> int:
    return int(slack.summary()["calls"].get("response_url", 0))


def run(url: str, label: str, tmp: Path, quick: bool) -> Row:
    """The load row for the database at `url`."""
    sizes = os.environ.get("BENCH_LOAD_SIZES")  # "scans,requests,seconds,baseline"
    if sizes:
        a, b, c, d = sizes.split(",")
        scans, total, seconds, baseline_n = int(a), int(b), float(c), int(d)
    else:
        scans, total, seconds, baseline_n = (10, 300, 15.0, 100) if quick else (50, 2000, 60.0, 300)
    key = Fernet.generate_key().decode()
    cloud = subprocess.Popen(
        [sys.executable, "-m", "bench.faults.cloudproc", str(scans), "0.3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert cloud.stdout is not None
    info = json.loads(cloud.stdout.readline())
    endpoints = {k: v for k, v in info.items() if k.startswith("CSPM_")}
    # Slack's servers are not on this machine: on a shared, busy one the stand-in at idle
    # priority would be starved and time out the bot's replies (the figures would be ours)
    os.environ.setdefault("BENCH_STANDIN_PRIORITY", "normal")
    slack = StandInProcess()
    proc = None
    try:
        settings = Settings(
            database_url=url,
            encryption_key=key,
            gcp_token_uri=endpoints["CSPM_GCP_TOKEN_URI"],
            gcp_api_base=endpoints["CSPM_GCP_API_BASE"],
            gcp_compute_base=endpoints["CSPM_GCP_COMPUTE_BASE"],
            gcp_storage_base=endpoints["CSPM_GCP_STORAGE_BASE"],
        )  # type: ignore[call-arg]
        rt = build_runtime(settings)
        try:
            raw = {"service_account_json": json.dumps(info["key"])}
            rt.connectors.create("gcp", "load", raw, actor="bench")
            for i in range(scans):
                rt.projects.add(f"load-{i}", "load", actor="bench", scope=[f"load-{i}"])
        finally:
            rt.close()
        port = _free_port()
        env = dict(
            os.environ,
            **endpoints,
            CSPM_DATABASE_URL=url,
            CSPM_ENCRYPTION_KEY=key,
            SLACK_BOT_TOKEN=slack.token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            CSPM_OPERATORS=USER,
            CSPM_ADMINS=USER,
            CSPM_SCAN_CONCURRENCY=str(scans),
            CSPM_RETRY_MAX_ATTEMPTS="0",
            CSPM_LOG_LEVEL="WARNING",
            CSPM_WORKER_PRIORITY=WORKER_PRIORITY,
        )
        env.pop("SLACK_APP_TOKEN", None)
        cmd = [str(Path(sys.executable).with_name("cspm-bot")), "serve", "--host", "127.0.0.1"]
        log = SERVE_LOG.with_name(f"cspm-faults-serve-{label}.log").open("wb")
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        _wait_listening(port, proc, "/healthz")
        events = f"http://127.0.0.1:{port}/slack/events"
        builder = RequestBuilder(slack)
        projects = lambda i: builder.command("projects", USER, settle=False)  # noqa: E731
        paced(events, builder.prepare(projects, SENDERS), 1.0)  # warm-up
        time.sleep(1.0)
        replies_before = _replies(slack)

        with RssSampler(proc.pid) as idle_rss:
            idle, idle_failed = paced(
                events, builder.prepare(projects, baseline_n), seconds * baseline_n / total
            )
            time.sleep(2.0)
        run_cmd = lambda i: builder.command(f"run load-{i}", USER, settle=False)  # noqa: E731
        starts = builder.prepare(run_cmd, scans)
        load_requests = builder.prepare(projects, total)
        began = time.monotonic()
        with RssSampler(proc.pid) as load_rss:
            _start_lat, start_failed = paced(events, starts, 1.0)
            loaded, load_failed = paced(events, load_requests, seconds)
            deadline = time.monotonic() + 180
            counts = _scan_counts(url)
            while time.monotonic() < deadline:
                counts = _scan_counts(url)
                if sum(counts.get(s, 0) for s in FINAL) >= scans and not (
                    counts.get("queued") or counts.get("running")
                ):
                    break
                time.sleep(1.0)
            scans_done = time.monotonic() - began
        sent = baseline_n + scans + total
        deadline = time.monotonic() + 60
        while _replies(slack) - replies_before < sent and time.monotonic() < deadline:
            time.sleep(0.5)
        answered = _replies(slack) - replies_before
        problems = slack.summary()["problems"]
        texts = [str(body.get("text", "")) for body in slack.calls("response_url")]
        went_wrong = sum(1 for t in texts if t.startswith("Something went wrong"))
        kinds = Counter(t[:70] for t in texts).most_common(6)
        print(f"  load ({label}): replies by text: {kinds}", file=sys.stderr, flush=True)
    finally:
        if proc is not None:
            _stop(proc)
        slack.close()
        cloud.terminate()
        cloud.wait(timeout=10)
    if counts.get("running") or counts.get("queued"):
        tail = SERVE_LOG.with_name(f"cspm-faults-serve-{label}.log").read_text(errors="replace")[
            -3000:
        ]
        print(f"  load ({label}): serve log tail:\n{tail}", file=sys.stderr, flush=True)
    final = sum(counts.get(s, 0) for s in FINAL)
    failed_requests = idle_failed + start_failed + load_failed
    ok = (
        failed_requests == 0
        and answered >= sent
        and not went_wrong
        and final == scans
        and not counts.get("running")
        and not counts.get("queued")
        and not problems
    )
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return Row(
        f"Load: {scans} scans + {total} requests / {seconds:.0f} s",
        label,
        f"{sent - failed_requests}/{sent} requests acked, {answered} replies posted "
        f"({went_wrong} 'Something went wrong'); scans "
        f"{statuses} (all final {scans_done:.0f} s after the start)",
        f"ack p50/p99 idle {pct(idle, 50):.0f}/{pct(idle, 99):.0f} ms vs load "
        f"{pct(loaded, 50):.0f}/{pct(loaded, 99):.0f} ms; worker priority {WORKER_PRIORITY}; "
        f"peak RSS idle "
        f"{idle_rss.peak / 1024:.0f} MiB vs load {load_rss.peak / 1024:.0f} MiB",
        ok,
    )
