"""Scans and acks on Celery workers (Redis broker, PostgreSQL), beside the in-process pool.

1. **Throughput**: `--jobs` jobs (default 10,000: 20 scans of 500 units), each making 2 cloud
   calls of 50 ms (a job runner that sleeps in its cloud calls, so the cloud is never the
   bottleneck), run by 1, 2 and 4 ``cspm-bot worker --queues scans`` processes of
   `--concurrency` threads each, and by the embedded in-process pool with the same number of
   threads as one worker, in the same run. Prints jobs/s and the ratio to the ideal
   (threads x 10 jobs/s). Goal: 4 workers >= 3.2x one worker.
2. **Acks under load**: three ``cspm-bot serve --no-worker`` replicas (HTTP, granian), one
   Slack worker and four scan workers; `/cspm projects` sent by 32 concurrent senders spread
   over the replicas, idle, then while 1,000 jobs run, in `--rounds` interleaved rounds. An
   idle round starts once the scans queue is empty (the last round's stopped scans leave
   jobs to drop), a loaded round once every scan is planned; the scans are stopped after it,
   and each round starts once every earlier request was answered (no round inherits
   another's post-ack work, and a lost reply fails the run). Prints p50/p99 per round and
   over all rounds with a bootstrap interval of the ratio, the replicas' CPU time per request,
   and the broker's round trip seen from the replicas' side (an ack waits on one enqueue).
   Goal: p99 under load within 1.5x of idle.

Every process shares this machine's cores: on a 2-core machine four workers cannot run four
times the Python work of one, and the figures say so. With `--split-cores` the acks part
runs as a deployment on separate machines would: the replicas, Redis, the Slack stand-in and
the load generator on the first half of the cores; the workers and the benchmark database's
PostgreSQL server (its postmaster and every process of it, moved back at the end; needs
root) on the other. `--broker-beside workers` puts Redis with the workers instead, to see
what that costs the acks.

    .venv/bin/python -m bench.bench_distributed [--quick] [--database-url postgresql+psycopg://…]

PostgreSQL comes from `--database-url` or `CSPM_TEST_DATABASE_URL` (its tables are dropped
and created again); Redis is a ``redis-server`` of the benchmark's own on a free port.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
CALLS = 2
LATENCY = 0.05
USER = "U0BENCH01"


# --- the job runner that sleeps in its cloud calls (used by the worker processes too) ---------
@dataclass
class _Session:
    def close(self) -> None:
        pass

    def run_unit(self, unit: str, cancel: Any) -> Any:
        from bot.domain import CheckResult
        from bot.engine.jobs import FindingRecord, UnitOutcome

        outcome = UnitOutcome()
        for i in range(CALLS):
            cancel.checkpoint()
            time.sleep(LATENCY)
            outcome.findings.append(
                FindingRecord("bench.check", "low", CheckResult(f"{unit}/r{i}", passed=i % 2 == 0))
            )
        return outcome


@dataclass
class SleepRunner:
    units: int

    def plan(self, target: Any, cancel: Any) -> list[str]:
        return [f"unit-{i:05d}" for i in range(self.units)]

    def open(self, target: Any, cancel: Any) -> _Session:
        return _Session()


def probe_main(url: str, out: str) -> int:
    """``--probe``: a broker round trip (PING) every 5 ms, written as "<unix time> <ms>" lines
    to `out` until killed: what an ack's one enqueue waits on, seen from where it runs."""
    import redis

    client = redis.Redis.from_url(url)
    with open(out, "w", buffering=1) as f:
        while True:
            start = time.perf_counter()
            client.ping()
            f.write(f"{time.time():.6f} {(time.perf_counter() - start) * 1000:.3f}\n")
            time.sleep(0.005)


def probe_window(path: Path, start: float, end: float) -> list[float]:
    """The probe's round trips (ms) taken between the unix times `start` and `end`."""
    found = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and start <= float(parts[0]) <= end:
            found.append(float(parts[1]))
    return found


def worker_main(concurrency: int) -> int:
    """``--worker``: a scans worker whose jobs sleep instead of calling clouds."""
    from bot.distributed.worker import run_queue
    from bot.logs import configure_logging
    from bot.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    return run_queue(
        settings, "scans", concurrency, runner=SleepRunner(int(os.environ["BENCH_UNITS"]))
    )


# --- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Child processes of the run, stopped at the end (each in a session of its own)."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env = env
        self.work = work
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, cmd: list[str], cpus: set[int] | None = None, **extra: str
    ) -> subprocess.Popen[bytes]:
        """Start `cmd` (on the cores `cpus` only, when given)."""
        log = (self.work / f"proc-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            cmd,
            env={**self.env, **extra},
            cwd=self.work,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=None if cpus is None else (lambda: os.sched_setaffinity(0, cpus)),
        )
        self.procs.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen[bytes]] | None = None) -> None:
        for proc in procs if procs is not None else self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs if procs is not None else self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def split_cores() -> tuple[set[int], set[int]]:
    """This process's cores in two halves: (serving side, work side)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--split-cores needs at least 2 cores")
    half = len(cores) // 2
    return set(cores[:half]), set(cores[half:])


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redis

    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.1)


def wait_workers(settings: Any, count: int, timeout: float = 180) -> None:
    from bot.distributed.celeryapp import make_celery

    app = make_celery(settings)
    deadline = time.monotonic() + timeout
    try:
        while True:
            seen = len([n for r in (app.control.ping(timeout=1.0) or []) for n in r])
            if seen >= count:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"only {seen} of {count} workers answered")
    finally:
        app.close()


# --- the database -------------------------------------------------------------------------------
def reset_database(url: str) -> None:
    from sqlalchemy import text

    import storage.models_scheduling  # noqa: F401
    from storage.db import Database
    from storage.models import Base

    db = Database(url)
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    db.dispose()


def seed(rt: Any, projects: int) -> list[str]:
    """The connector "bench" and projects bench-000… (those missing: both parts share them)."""
    from sqlalchemy import select

    from bot.errors import NotFoundError
    from storage.models import Connector

    with rt.db.unit_of_work() as s:  # placeholder secrets: the sleeping runner calls no cloud
        if s.scalar(select(Connector.id).where(Connector.name == "bench")) is None:
            s.add(
                Connector(
                    name="bench",
                    provider="aws",
                    account_id="123456789012",
                    scopes=[],
                    fingerprint="AKIA…BENCH",
                    secret_ciphertext=rt.box.encrypt(
                        {"access_key_id": "AKIA" + "B" * 16, "secret_access_key": "x" * 40}
                    ),
                    created_by="bench",
                )
            )
    names = [f"bench-{i:03d}" for i in range(projects)]
    for name in names:
        try:
            rt.projects.get(name)
        except NotFoundError:
            rt.projects.add(name, "bench", actor="bench")
    return names


def run_scans(rt: Any, names: list[str]) -> float:
    """Start a scan of every project; seconds until the last one ended."""
    start = time.perf_counter()
    ids = [rt.scans.start(name, trigger="cli", actor="bench").scan_id for name in names]
    for scan_id in ids:
        status = rt.scans.wait(scan_id, timeout=1800)
        if status is None or status.label != "Completed":
            raise SystemExit(f"scan {scan_id} ended {status}")
    return time.perf_counter() - start


# --- part 1 -------------------------------------------------------------------------------------
def throughput(args: argparse.Namespace, env: dict[str, str], settings: Any) -> None:
    from bot.runtime import build_runtime

    projects = max(1, args.jobs // args.units)
    jobs = projects * args.units
    ideal_one = args.concurrency / (CALLS * LATENCY)  # jobs/s of one worker's threads
    print(
        f"throughput: {jobs} jobs ({projects} scans x {args.units} units), {CALLS} calls x "
        f"{LATENCY * 1000:.0f} ms each, {args.concurrency} threads per worker"
    )
    print(f"  {'executor':30} {'wall':>8} {'jobs/s':>8} {'ideal':>8} {'of ideal':>9} {'vs 1':>6}")
    rows: dict[str, float] = {}

    local = build_runtime(
        settings.model_copy(update={"broker_url": None, "scan_concurrency": args.concurrency}),
        runner=SleepRunner(args.units),
    )
    names = seed(local, projects)
    wall = run_scans(local, names)
    local.close()
    rate = jobs / wall
    print(f"  {'in-process pool':30} {wall:7.1f}s {rate:8.1f} {ideal_one:8.1f} "
          f"{rate / ideal_one:8.0%}      -")  # fmt: skip

    work = Path(env["BENCH_WORK"])
    rt = build_runtime(settings, migrate=False)
    for count in args.workers:
        procs = Processes(env, work)
        started = [
            procs.start(
                [
                    sys.executable,
                    "-m",
                    "bench.bench_distributed",
                    "--worker",
                    "--concurrency",
                    str(args.concurrency),
                ],
                BENCH_UNITS=str(args.units),
            )
            for _ in range(count)
        ]
        wait_workers(settings, count)
        wall = run_scans(rt, names)
        procs.stop(started)
        rate = jobs / wall
        rows[str(count)] = rate
        ideal = ideal_one * count
        label = f"Celery, {count} worker process{'es' if count > 1 else ''}"
        print(f"  {label:30} {wall:7.1f}s {rate:8.1f} {ideal:8.1f} {rate / ideal:8.0%} "
              f"{rate / rows['1']:5.2f}x")  # fmt: skip
    rt.close()
    if "4" in rows and "1" in rows:
        ratio = rows["4"] / rows["1"]
        verdict = "met" if ratio >= 3.2 else "NOT met"
        print(
            f"  goal 4 workers >= 3.2x one worker: {ratio:.2f}x ({verdict}; {os.cpu_count()} cores)"
        )


# --- part 2 -------------------------------------------------------------------------------------
@dataclass
class Services:
    """What the run started before its parts: Redis's pid and URL."""

    redis_pid: int
    broker: str


def scans_backlog(client: Any) -> int:
    """Messages of queue ``scans`` still waiting in Redis or handed out and unacknowledged
    (`client`: a ``redis.Redis`` on the broker)."""
    from bot.distributed.celeryapp import SCANS_QUEUE

    return int(client.llen(SCANS_QUEUE)) + int(client.hlen("unacked"))


def wait_until(done: Any, what: str, timeout: float = 300) -> None:
    """Poll `done()` until true; exit with `what` if it is still false after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting: {what}")
        time.sleep(0.2)


@dataclass
class ProcStat:
    """What this benchmark reads of a process in ``/proc/<pid>/stat``."""

    pid: int
    ppid: int
    group: int  # its process group
    cpu_ticks: int  # user + system time so far, in clock ticks


def processes() -> Iterator[ProcStat]:
    """Every live process on this machine (those that end while being read are skipped)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        # fields 4 and 5: parent and process group; 14 and 15: utime and stime
        yield ProcStat(int(entry.name), int(fields[1]), int(fields[2]),
                       int(fields[11]) + int(fields[12]))  # fmt: skip


def cpu_seconds(groups: list[int]) -> float:
    """CPU time (user + system, s) used so far by the live processes of the process groups
    `groups` (a replica: granian's main process and its workers)."""
    ticks = sum(p.cpu_ticks for p in processes() if p.group in groups)
    return ticks / os.sysconf("SC_CLK_TCK")


def server_processes(parent: int) -> list[int]:
    """`parent` and its child processes (a PostgreSQL server: postmaster, backends, helpers)."""
    return [parent, *(p.pid for p in processes() if p.ppid == parent)]


def pin_database_server(url: str, cpus: set[int]) -> Callable[[], None] | str:
    """Move the benchmark database's PostgreSQL server (its postmaster, so every backend
    forked later, and its current backends, WAL writer and checkpointer) onto `cpus`, as if it
    ran on a machine of its own. Returns what puts it back, or why it could not be moved (a
    remote server, or another user's processes when not root)."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()
    own = next((p for p in processes() if backend and p.pid == backend[0]), None)
    if own is None:
        return "the server is not on this machine"
    postmaster = own.ppid
    try:
        before = os.sched_getaffinity(postmaster)
        for pid in server_processes(postmaster):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(pid, cpus)
    except PermissionError:
        return "not permitted (run as root)"

    def restore() -> None:
        for pid in server_processes(postmaster):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.sched_setaffinity(pid, before)

    return restore


def acks(args: argparse.Namespace, env: dict[str, str], settings: Any, services: Services) -> None:
    from bench.bench_ack_latency import RequestBuilder, measure, pct, ratio_interval, reply_keys
    from bench.standin_proc import StandInProcess
    from bot.runtime import build_runtime
    from tests.support.slackdriver import SIGNING_SECRET

    work = Path(env["BENCH_WORK"])
    serving_cpus, work_cpus = split_cores() if args.split_cores else (None, None)
    if serving_cpus is not None and work_cpus is not None:
        # this process (the load generator) and what it starts; the workers and the database
        # on the far side; the broker beside the replicas unless told otherwise (an ack waits
        # on one enqueue: a broker that shares the workers' core makes every ack wait on them)
        os.sched_setaffinity(0, serving_cpus)
        beside = serving_cpus if args.broker_beside == "replicas" else work_cpus
        os.sched_setaffinity(services.redis_pid, beside)
    slack = StandInProcess()
    env = dict(
        env,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        CSPM_OPERATORS=USER,
        CSPM_LOG_LEVEL="WARNING",
    )
    procs = Processes(env, work)
    probe = work / "broker-probe.txt"
    procs.start([sys.executable, "-m", "bench.bench_distributed", "--probe", str(probe)])
    cli = str(Path(sys.executable).with_name("cspm-bot"))
    ports = [free_port() for _ in range(3)]
    replicas = [  # each in a process group of its own (Processes.start)
        procs.start([cli, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]).pid
        for port in ports
    ]
    replica_cpu = {"idle": 0.0, "loaded": 0.0}
    procs.start([cli, "worker", "--queues", "slack"], cpus=work_cpus)
    units = max(1, args.load_jobs // 20)
    for _ in range(4):
        procs.start(
            [sys.executable, "-m", "bench.bench_distributed", "--worker", "--concurrency", "8"],
            cpus=work_cpus,
            BENCH_UNITS=str(units),
            CSPM_WORKER_PRIORITY=args.worker_priority,
        )
    pinned: Callable[[], None] | str = "not asked"
    try:
        if work_cpus is not None:
            pinned = pin_database_server(args.database_url, work_cpus)
        wait_workers(settings, 5)
        import redis
        import requests

        for port in ports:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("a replica did not start")
                time.sleep(0.3)
        builder = RequestBuilder(slack)
        make = lambda i: builder.command("projects", USER, settle=False)  # noqa: E731
        expected: list[set[str]] = []  # per request sent so far: what its answer is keyed on

        def round_robin(total: int) -> list[float]:
            """Ack latencies (ms) of `total` requests sent by the senders over the replicas."""
            prepared = builder.prepare(make, total)
            expected.extend(reply_keys(request) for request in prepared)
            shares = [prepared[i :: len(ports)] for i in range(len(ports))]
            results: list[list[float]] = [[] for _ in ports]
            threads = [
                threading.Thread(
                    target=lambda i=i: results[i].extend(
                        measure(
                            f"http://127.0.0.1:{ports[i]}/slack/events",
                            shares[i],
                            args.senders // len(ports) + (i < args.senders % len(ports)),
                        )
                    )
                )
                for i in range(len(ports))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return [x for r in results for x in r]

        def drained(timeout: float = 300) -> None:
            """Until every request sent so far was answered: no round starts with another
            round's post-ack work still queued, and none is lost."""
            deadline = time.monotonic() + timeout
            while True:
                answered = slack.answered()
                missing = sum(1 for keys in expected if not keys & answered)
                if not missing:
                    return
                if time.monotonic() > deadline:
                    raise SystemExit(f"{missing} of {len(expected)} requests never answered")
                time.sleep(0.5)

        round_robin(args.senders)  # warm-up
        rt = build_runtime(settings.model_copy(update={"scan_concurrency": 8}), migrate=False)
        broker = redis.Redis.from_url(services.broker)
        names = seed(rt, 20)
        per_round = max(1, args.requests // args.rounds)
        idle: list[float] = []
        loaded: list[float] = []
        trips: dict[str, list[float]] = {"idle": [], "loaded": []}
        rows = []

        def timed_round(condition: str) -> list[float]:
            start, cpu = time.time(), cpu_seconds(replicas)
            latencies = round_robin(per_round)
            replica_cpu[condition] += cpu_seconds(replicas) - cpu
            trips[condition] += probe_window(probe, start, time.time())
            return latencies

        for _ in range(args.rounds):  # idle and loaded interleaved: drift hits both alike
            drained()
            # idle: no job of the last round's stopped scans still queued or being dropped
            wait_until(lambda: scans_backlog(broker) == 0, "the scans queue to empty")
            idle_round = timed_round("idle")
            drained()
            ids = [rt.scans.start(n, trigger="cli", actor="bench").scan_id for n in names]
            # loaded: every scan planned, its jobs queued or running
            wait_until(
                lambda ids=ids: all(rt.scans.get(s).jobs_total > 0 for s in ids),
                "the scans to plan",
            )
            loaded_round = timed_round("loaded")
            running = sum(1 for s in ids if rt.scans.get(s).status.is_active)
            for scan_id in ids:
                if rt.scans.get(scan_id).status.is_active:
                    rt.scans.stop(scan_id, actor="bench", by_scan_id=True)
            for scan_id in ids:
                rt.scans.wait(scan_id, timeout=1800)
            idle += idle_round
            loaded += loaded_round
            rows.append((idle_round, loaded_round, running, len(ids)))
        drained()
        rt.close()
        broker.close()
        if serving_cpus is not None:
            unpinned = "" if callable(pinned) else f" (PostgreSQL not moved: {pinned})"
            near, far = ("", " Redis,") if args.broker_beside == "workers" else (" Redis,", "")
            print(
                f"cores: replicas,{near} the Slack stand-in and senders on "
                f"{sorted(serving_cpus)}; workers,{far} PostgreSQL on "
                f"{sorted(work_cpus or ())}{unpinned}"
            )
        print(
            f"acks: /cspm projects over 3 replicas, {args.senders} concurrent senders, "
            f"{args.rounds} rounds of {per_round} requests idle, then {per_round} while "
            f"{len(names) * units} jobs run (interleaved); every request answered"
        )
        print(f"  {'':34} {'p50':>8} {'p99':>8}")
        for n, (idle_round, loaded_round, running, started) in enumerate(rows, 1):
            print(
                f"  round {n} idle{'':24} {pct(idle_round, 50):7.1f}ms {pct(idle_round, 99):7.1f}ms"
            )
            print(
                f"  round {n} {len(names) * units} jobs running{'':9} "
                f"{pct(loaded_round, 50):7.1f}ms {pct(loaded_round, 99):7.1f}ms  "
                f"({running} of {started} scans still running at the end)"
            )
        print(f"  {'all idle':34} {pct(idle, 50):7.1f}ms {pct(idle, 99):7.1f}ms")
        print(f"  {'all under load':34} {pct(loaded, 50):7.1f}ms {pct(loaded, 99):7.1f}ms")
        for condition, seconds in replica_cpu.items():
            print(
                f"  {'replicas CPU per request, ' + condition:34} "
                f"{seconds * 1000 / (per_round * args.rounds):7.2f}ms"
            )
        for condition, found in trips.items():
            if found:
                print(
                    f"  {'broker round trip, ' + condition:34} {pct(found, 50):7.1f}ms "
                    f"{pct(found, 99):7.1f}ms  ({len(found)} PINGs from the replicas' side)"
                )
        ratio = pct(loaded, 99) / pct(idle, 99)
        low, high = ratio_interval(idle, loaded)
        verdict = "met" if ratio <= 1.5 else "NOT met"
        print(
            f"  goal p99 under load <= 1.5x idle: {ratio:.2f}x ({verdict}; "
            f"90% bootstrap interval {low:.2f}-{high:.2f}x; {os.cpu_count()} cores)"
        )
    finally:
        procs.stop()
        slack.close()
        if callable(pinned):
            pinned()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1,000 jobs, 300 requests (a smoke run: too few for a stable p99)",
    )
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=500, help="jobs per scan")
    parser.add_argument("--concurrency", type=int, default=16, help="threads per worker")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 2, 4])  # fmt: skip
    parser.add_argument("--requests", type=int, default=3_000, help="acks per condition")
    parser.add_argument("--rounds", type=int, default=3, help="idle/loaded rounds (acks)")
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--load-jobs", type=int, default=1_000)
    parser.add_argument("--only", choices=["throughput", "acks"])
    parser.add_argument(
        "--worker-priority",
        choices=["low", "idle", "normal"],
        default="low",
        help="CSPM_WORKER_PRIORITY of the scan workers beside the replicas (acks)",
    )
    parser.add_argument(
        "--split-cores",
        action="store_true",
        help="acks: replicas and senders on half the cores, workers on the other half",
    )
    parser.add_argument(
        "--broker-beside",
        choices=["replicas", "workers"],
        default="replicas",
        help="with --split-cores: the side whose cores Redis runs on",
    )
    parser.add_argument("--database-url", default=os.environ.get("CSPM_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if args.worker:
        raise SystemExit(worker_main(args.concurrency))
    if args.probe:
        raise SystemExit(probe_main(os.environ["CSPM_BROKER_URL"], args.probe))
    if args.quick:
        args.jobs, args.units, args.requests = 1_000, 100, 300
    if not args.database_url or not args.database_url.startswith("postgresql"):
        raise SystemExit("give a PostgreSQL URL: --database-url or CSPM_TEST_DATABASE_URL")
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")

    from bot.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    redis_proc, broker = start_redis(work)
    reset_database(args.database_url)
    key = Fernet.generate_key().decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSPM_", "SLACK_"))} | {
        "CSPM_DATABASE_URL": args.database_url,
        "CSPM_BROKER_URL": broker,
        "CSPM_ENCRYPTION_KEY": key,
        "CSPM_LOG_LEVEL": "WARNING",
        "CSPM_RETRY_MAX_ATTEMPTS": "0",
        "PYTHONPATH": str(ROOT),
        "BENCH_WORK": str(work),
    }
    settings = Settings(
        database_url=args.database_url, broker_url=broker, encryption_key=key, log_level="WARNING"
    )  # type: ignore[arg-type]
    from bot.runtime import build_runtime

    build_runtime(settings.model_copy(update={"broker_url": None})).close()  # migrate
    try:
        if args.only in (None, "throughput"):
            throughput(args, env, settings)
        if args.only in (None, "acks"):
            acks(args, env, settings, Services(redis_proc.pid, broker))
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
