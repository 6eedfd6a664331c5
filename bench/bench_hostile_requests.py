"""Hostile requests benchmark: randomised forged and malformed requests against the real
``cspm-bot serve`` (HTTP mode, granian), beside a baseline of valid signed requests in the
same run.

    .venv/bin/python -m bench.bench_hostile_requests [--requests 1000] [--valid 200]
                                                     [--seed 1] [--limit 1048576]

The bot runs as in production (granian, the acking process and its worker process) against
the Slack Web API stand-in of the tests and a fresh SQLite database, its log (stderr) in a
file. Phases:

1. baseline: ``--valid`` correctly signed ``/cspm help`` commands, each answered through its
   response_url (the run waits until every answer reached the stand-in);
2. hostile: ``--requests`` requests drawn at random from `tests.support.hostile.KINDS` (bad,
   missing and stale signatures, bodies over the limit with and without a length, wrong
   content types, malformed form / JSON / payload, JSON nested 100,000 deep, binary bodies,
   malformed lengths and timestamps), each on a new connection;
3. valid again: 20 signed commands, all answered (the bot is unharmed).

Prints the status histogram (per kind), the log's growth per request and the CPU time of the
serving processes per request in each phase, and the time to refuse a body over the limit.
Fails (exit 1) if any hostile request got anything but 4xx, reached the Slack stand-in, or
added a database row.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bot.playground.slack_emulator import SlackStandIn  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Base  # noqa: E402
from tests.support.hostile import (  # noqa: E402
    HostileRequest,
    Signer,
    hostile_requests,
    valid_command,
)

SECRET = "bench-signing-secret-0123456789abcdef"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and every process below it."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(stat.parent.name)
        parents[p] = int(fields[1])
        cpu[p] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    found, frontier = {pid}, {pid}
    while frontier:
        frontier = {c for c, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return sum(cpu.get(p, 0.0) for p in found)


def _pieces(request: HostileRequest, size: int = 65536) -> Iterator[bytes]:
    """The body as sent on the wire: as it is, or chunk-encoded."""
    for i in range(0, len(request.body), size):
        piece = request.body[i : i + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece) if request.chunked else piece
    if request.chunked:
        yield b"0\r\n\r\n"


def _send(port: int, request: HostileRequest, timeout: float = 30.0) -> int:
    """Send one request on a new connection and return its status (0: no answer).

    The body goes in 64 KiB pieces, and sending stops as soon as the server answers (a 413
    comes before the body is read), as a real client's would."""
    headers = dict(request.headers)
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    if request.chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = request.declared_length or str(len(request.body))
    head = "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(head.encode("latin-1"))
            for piece in _pieces(request):
                if select.select([sock], [], [], 0)[0]:
                    break  # answered already
                try:
                    sock.sendall(piece)
                except OSError:
                    break
            answer = b""
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
    except OSError:
        return 0
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _rows(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.read() as s:
            return {m.class_.__name__: s.query(m.class_).count() for m in Base.registry.mappers}
    finally:
        db.dispose()


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"cspm-bot serve exited: {log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("cspm-bot serve did not become healthy in 120 s")


def _settle_log(log: Path) -> int:
    """The log's size once it stopped growing for 0.5 s."""
    size = -1
    while True:
        time.sleep(0.5)
        now = log.stat().st_size
        if now == size:
            return size
        size = now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--valid", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=1024 * 1024, help="CSPM_MAX_REQUEST_BYTES")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    signer = Signer(SECRET)

    slack = SlackStandIn()
    slack.start()
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    db_url = f"sqlite:///{work}/cspm.db"
    log = work / "serve.log"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CSPM_", "AWS_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        CSPM_DATABASE_URL=db_url,
        CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CSPM_MAX_REQUEST_BYTES=str(args.limit),
        CSPM_LOG_LEVEL="INFO",
        XDG_DATA_HOME=str(work / "xdg"),
        PYTHONPATH=str(ROOT),
    )
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=work,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    failures: list[str] = []
    try:
        _wait_healthy(port, proc, log)
        rows_before = _rows(db_url)

        # 1. baseline
        start_log, start_cpu = _settle_log(log), _tree_cpu(proc.pid)
        slack.reset()
        valid_status: Counter[int] = Counter()
        for _ in range(args.valid):
            valid_status[_send(port, valid_command(signer, rng, slack.new_response_url()))] += 1
        deadline = time.monotonic() + 120
        while len(slack.calls_to("response_url")) < args.valid and time.monotonic() < deadline:
            time.sleep(0.1)
        answered = len(slack.calls_to("response_url"))
        valid_log, valid_cpu = _settle_log(log) - start_log, _tree_cpu(proc.pid) - start_cpu
        rows_after_valid = _rows(db_url)

        # 2. hostile
        slack.reset()
        statuses: dict[str, Counter[int]] = defaultdict(Counter)
        seconds: dict[str, list[float]] = defaultdict(list)
        start_log, start_cpu = _settle_log(log), _tree_cpu(proc.pid)
        start_lines = log.read_bytes().count(b"\n")
        for i, request in enumerate(hostile_requests(rng, signer, args.limit, args.requests)):
            if i % 100 == 0:
                print(f"hostile request {i}…", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            status = _send(port, request)
            seconds[request.kind].append(time.perf_counter() - t0)
            statuses[request.kind][status] += 1
            if not 400 <= status < 500:
                failures.append(f"{request.kind}: status {status}")
        time.sleep(2.0)  # anything a request set off has had time to reach Slack
        hostile_log, hostile_cpu = _settle_log(log) - start_log, _tree_cpu(proc.pid) - start_cpu
        hostile_lines = log.read_bytes().count(b"\n") - start_lines
        slack_calls = len(slack.calls)
        rows_after_hostile = _rows(db_url)
        if slack_calls:
            failures.append(f"{slack_calls} Slack call(s) during the hostile phase")
        if rows_after_hostile != rows_after_valid:
            failures.append(f"rows changed: {rows_after_valid} -> {rows_after_hostile}")

        # 3. valid again
        slack.reset()
        again = Counter(
            _send(port, valid_command(signer, rng, slack.new_response_url())) for _ in range(20)
        )
        deadline = time.monotonic() + 60
        while len(slack.calls_to("response_url")) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        answered_again = len(slack.calls_to("response_url"))
        if answered_again < 20 or set(again) != {200}:
            failures.append(f"valid requests after the hostile ones: {dict(again)}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        slack.close()

    total = Counter[int]()
    for counter in statuses.values():
        total.update(counter)
    n = sum(total.values())
    print(f"cspm-bot serve (granian, HTTP mode), CSPM_MAX_REQUEST_BYTES={args.limit}, seed "
          f"{args.seed}; rows before: {sum(rows_before.values())}")  # fmt: skip
    print(f"\nbaseline: {args.valid} valid signed /cspm help: statuses {dict(valid_status)}, "
          f"{answered} answered in Slack")  # fmt: skip
    per_valid = 1000 * valid_cpu / args.valid
    print(f"  log growth {valid_log / args.valid:8.1f} bytes/request   CPU "
          f"{per_valid:6.2f} ms/request (serving + worker processes)")  # fmt: skip
    print(f"\nhostile: {n} forged or malformed requests: statuses {dict(sorted(total.items()))}")
    print(f"  log growth {hostile_log / n:8.1f} bytes/request   CPU {1000 * hostile_cpu / n:6.2f}"
          f" ms/request; {hostile_lines} log lines in all (limit: 20/min + a summary)")  # fmt: skip
    print(f"  Slack calls: {slack_calls}; database rows added: "
          f"{sum(rows_after_hostile.values()) - sum(rows_after_valid.values())}")  # fmt: skip
    print(f"\n  {'kind':36} {'n':>5}  {'statuses':28} {'p50 ms':>8} {'max ms':>8}")
    for kind in sorted(statuses):
        times = sorted(seconds[kind])
        shown = ", ".join(f"{s}: {c}" for s, c in sorted(statuses[kind].items()))
        print(f"  {kind:36} {len(times):5}  {shown:28} {1000 * statuses_p50(times):8.1f} "
              f"{1000 * times[-1]:8.1f}")  # fmt: skip
    print(f"\nvalid again: 20 signed commands: {dict(again)}, {answered_again} answered")
    print(f"log: {log}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures[:20]))
        return 1
    print("\nOK: every hostile request was refused with 4xx, without any effect.")
    return 0


def statuses_p50(times: list[float]) -> float:
    """The median of `times` (0 for none)."""
    return statistics.median(times) if times else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
