"""Load on one `cspm-bot serve` (HTTP mode): concurrent scans and a stream of Slack requests.

An idle baseline first (the same request stream, fewer requests, nothing else running), then
the load: SCANS ``/cspm run`` commands start that many scans at once (Google Cloud stand-in
in its own process, every Compute call answered after a delay so they overlap) while REQUESTS
``/cspm projects`` commands arrive evenly over SECONDS from 8 senders. After the send window
the benchmark drains: it waits, at most DRAIN seconds, until every request has its reply and
every scan is final, and reports how long that took.

Replies are counted per interaction: every request carries its own response_url, and the
Slack stand-in records when each accepted post to it arrived. Per kind of request (baseline,
``run``, load) the row gives replies expected and received, missing, duplicated and of the
wrong kind (not the listing or the "queued" answer: an error, an overload notice), and the
reply time (from sending the request to its reply arriving). The row fails on any missing,
duplicated or wrong reply, any request not acked with 200, any invalid payload, or any scan
not final. Other figures: ack p50/p99 (one HTTP round trip, request built and signed
beforehand), the peak RSS of the serving process tree (sampled every 0.25 s), and the load
average of the machine when the row started (the benchmark measures; another busy program
on the machine shows in the figures).

    BENCH_LOAD_SIZES=scans,requests,seconds,baseline[,drain]   (sizes of the run)
    BENCH_WORKER_PRIORITY=idle|low|normal                      (else the bot's default)
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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

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
WORKER_PRIORITY = os.environ.get("BENCH_WORKER_PRIORITY", "")
"""``CSPM_WORKER_PRIORITY`` of the bot under load; empty: the bot's default."""
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


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) each of `pids` has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[p] = (int(fields[11]) + int(fields[12])) / tick  # stat fields 14 and 15
    return found


class RssSampler:
    """Peak RSS of a process tree, sampled in a thread, and the CPU time its processes used
    meanwhile (`cpu`: the busiest process's seconds first)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.cpu: list[float] = []
        self._cpu_before: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, _rss_kib(_tree(self.pid)))

    def __enter__(self) -> RssSampler:
        pids = _tree(self.pid)
        self.peak = _rss_kib(pids)
        self._cpu_before = _cpu_seconds(pids)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        after = _cpu_seconds(_tree(self.pid))
        used = [t - self._cpu_before.get(p, 0.0) for p, t in after.items()]
        self.cpu = sorted(used, reverse=True)


@dataclass
class Sent:
    """What `paced` did: ack latencies (ms), requests not acked with 200, and when each
    request was sent (time.monotonic, by index)."""

    latencies: list[float]
    failures: int
    sent_at: list[float]


def paced(url: str, prepared: list[Prepared], seconds: float) -> Sent:
    """Send `prepared` evenly over `seconds` from SENDERS threads."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    interval = seconds / max(1, len(prepared))
    start = time.perf_counter()
    latencies: list[float] = []
    sent_at = [0.0] * len(prepared)
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
            sent_at[i] = time.monotonic()
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
    return Sent(latencies, failures[0], sent_at)


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


def _url_id(item: Prepared) -> str:
    """The response_url id a prepared slash command carries."""
    url = parse_qs(item.body.decode())["response_url"][0]
    return url.rsplit("/", 1)[-1]


@dataclass
class Interactions:
    """One kind of request: which response_urls must get exactly one reply, of which kind."""

    name: str
    prepared: list[Prepared]
    expect: str  # the reply's text must contain this
    sent: Sent | None = None

    @property
    def ids(self) -> list[str]:
        return [_url_id(p) for p in self.prepared]


@dataclass
class Tally:
    """Replies to one kind of request."""

    name: str
    expected: int
    received: int  # requests with at least one reply
    missing: int
    duplicated: int  # requests with more than one reply
    wrong: int  # requests whose reply is not the expected kind
    went_wrong: int  # of which "Something went wrong"
    seconds: list[float]  # reply time of each request answered
    wrong_texts: Counter[str]

    @property
    def ok(self) -> bool:
        return self.received == self.expected and not (self.duplicated or self.wrong)

    def describe(self) -> str:
        extra = [
            f"{n} {what}"
            for n, what in (
                (self.missing, "missing"),
                (self.duplicated, "duplicated"),
                (self.wrong, "wrong kind"),
                (self.went_wrong, "'Something went wrong'"),
            )
            if n
        ]
        return f"{self.name} {self.received}/{self.expected}" + (
            f" ({', '.join(extra)})" if extra else ""
        )


def tally(group: Interactions, replies: dict[str, list[tuple[float, str]]]) -> Tally:
    """Count `group`'s replies in `replies` (the stand-in's, by response_url id)."""
    assert group.sent is not None
    received = missing = duplicated = wrong = went_wrong = 0
    seconds: list[float] = []
    wrong_texts: Counter[str] = Counter()
    for url_id, sent_at in zip(group.ids, group.sent.sent_at, strict=True):
        posts = replies.get(url_id, [])
        if not posts:
            missing += 1
            continue
        received += 1
        duplicated += len(posts) > 1
        at, text = posts[0]
        seconds.append(at - sent_at)
        if group.expect not in text:
            wrong += 1
            went_wrong += text.startswith("Something went wrong")
            wrong_texts[text[:60]] += 1
    return Tally(
        group.name,
        len(group.prepared),
        received,
        missing,
        duplicated,
        wrong,
        went_wrong,
        seconds,
        wrong_texts,
    )


def _sizes(quick: bool) -> tuple[int, int, float, int, float]:
    """(scans, requests, seconds, baseline requests, drain seconds)."""
    sizes = os.environ.get("BENCH_LOAD_SIZES")
    if sizes:
        values = sizes.split(",")
        drain = float(values[4]) if len(values) > 4 else 120.0
        return int(values[0]), int(values[1]), float(values[2]), int(values[3]), drain
    return (10, 300, 15.0, 100, 60.0) if quick else (50, 2000, 60.0, 300, 120.0)


def _fmt_seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{pct(values, 50):.1f}/{pct(values, 99):.1f}/{max(values):.1f} s"


def run(url: str, label: str, tmp: Path, quick: bool) -> Row:
    """The load row for the database at `url`."""
    scans, total, seconds, baseline_n, drain = _sizes(quick)
    load_before = os.getloadavg()
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
    counts: dict[str, int] = {}
    try:
        settings = Settings(
            database_url=url,
            encryption_key=key,
            gcp_token_uri=endpoints["CSPM_GCP_TOKEN_URI"],
            gcp_api_base=endpoints["CSPM_GCP_API_BASE"],
            gcp_compute_base=endpoints["CSPM_GCP_COMPUTE_BASE"],
            gcp_storage_base=endpoints["CSPM_GCP_STORAGE_BASE"],
        )  # type: ignore[call-arg]
        priority = WORKER_PRIORITY or str(Settings.model_fields["worker_priority"].default)
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
            CSPM_WORKER_PRIORITY=priority,
        )
        env.pop("SLACK_APP_TOKEN", None)
        cmd = [str(Path(sys.executable).with_name("cspm-bot")), "serve", "--host", "127.0.0.1"]
        log_path = SERVE_LOG.with_name(f"cspm-faults-serve-{label}.log")
        log = log_path.open("wb")
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
        paced(events, builder.prepare(projects, SENDERS), 1.0)  # warm-up (not counted)
        time.sleep(1.0)

        baseline = Interactions("baseline", builder.prepare(projects, baseline_n), "Scan projects")
        with RssSampler(proc.pid) as idle_rss:
            baseline.sent = paced(events, baseline.prepared, seconds * baseline_n / total)
            time.sleep(2.0)
        run_cmd = lambda i: builder.command(f"run load-{i}", USER, settle=False)  # noqa: E731
        starts = Interactions("run", builder.prepare(run_cmd, scans), "queued")
        load = Interactions("load", builder.prepare(projects, total), "Scan projects")
        groups = (baseline, starts, load)
        expected = {i for g in groups for i in g.ids}
        began = time.monotonic()
        with RssSampler(proc.pid) as load_rss:
            starts.sent = paced(events, starts.prepared, 1.0)
            load.sent = paced(events, load.prepared, seconds)
            window_end = time.monotonic()
            replies = slack.replies()
            in_window = sum(1 for i in load.ids if i in replies)
            # the drain: until every request has its reply and every scan is final
            deadline = window_end + drain
            scans_final_at = None
            while True:
                counts = _scan_counts(url)
                final_now = sum(counts.get(s, 0) for s in FINAL)
                if (
                    scans_final_at is None
                    and final_now >= scans
                    and not (counts.get("queued") or counts.get("running"))
                ):
                    scans_final_at = time.monotonic()
                replies = slack.replies()
                all_replied = expected <= replies.keys()
                if (all_replied and scans_final_at is not None) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            drained = time.monotonic() - window_end
            load_seconds = time.monotonic() - began
            time.sleep(1.0)  # late duplicates, if any, show up too
            replies = slack.replies()
        problems = slack.summary()["problems"]
    finally:
        if proc is not None:
            _stop(proc)
        slack.close()
        cloud.terminate()
        cloud.wait(timeout=10)
    load_after = os.getloadavg()
    tallies = [tally(g, replies) for g in groups]
    for t in tallies:
        if t.wrong_texts:
            print(
                f"  load ({label}): {t.name} replies of the wrong kind: "
                f"{t.wrong_texts.most_common(4)}",
                file=sys.stderr,
                flush=True,
            )
    log_tail = log_path.read_text(errors="replace")
    interesting = [ln for ln in log_tail.splitlines() if " WARNING " in ln or " ERROR " in ln]
    if interesting or not all(t.ok for t in tallies):
        print(
            f"  load ({label}): {len(interesting)} warnings/errors in {log_path}; last ones:\n    "
            + "\n    ".join(interesting[-8:]),
            file=sys.stderr,
            flush=True,
        )
    final = sum(counts.get(s, 0) for s in FINAL)
    failed_requests = sum(g.sent.failures for g in groups if g.sent is not None)
    sent = sum(len(g.prepared) for g in groups)
    ok = (
        failed_requests == 0
        and all(t.ok for t in tallies)
        and final == scans
        and not counts.get("running")
        and not counts.get("queued")
        and not problems
    )
    assert baseline.sent is not None and load.sent is not None
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    scans_at = (
        f"all final {scans_final_at - began:.0f} s after the first start"
        if scans_final_at is not None
        else f"not all final {time.monotonic() - began:.0f} s after the first start"
    )
    load_tally = tallies[-1]
    return Row(
        f"Load: {scans} scans + {total} requests / {seconds:.0f} s",
        label,
        f"{sent - failed_requests}/{sent} requests acked; replies received/expected: "
        + "; ".join(t.describe() for t in tallies)
        + f" ({in_window}/{total} load replies within the {seconds:.0f} s window, the rest "
        f"in a drain of {drained:.0f} s of at most {drain:.0f} s); scans {final}/{scans} "
        f"final ({statuses}), {scans_at}"
        + (f"; {len(problems)} invalid payloads" if problems else ""),
        f"ack p50/p99 idle {pct(baseline.sent.latencies, 50):.0f}/"
        f"{pct(baseline.sent.latencies, 99):.0f} ms vs load "
        f"{pct(load.sent.latencies, 50):.0f}/{pct(load.sent.latencies, 99):.0f} ms; "
        f"reply p50/p99/max idle {_fmt_seconds(tallies[0].seconds)} vs load "
        f"{_fmt_seconds(load_tally.seconds)}; peak RSS idle {idle_rss.peak / 1024:.0f} MiB "
        f"vs load {load_rss.peak / 1024:.0f} MiB; CPU of the bot's processes during the load "
        f"{' + '.join(f'{c:.0f}' for c in load_rss.cpu if c >= 0.5)} s in "
        f"{load_seconds:.0f} s; worker priority {priority}; load average "
        f"{load_before[0]:.1f} at start, {load_after[0]:.1f} at end",
        ok,
    )
