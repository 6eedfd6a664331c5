"""Ack latency benchmark: every /cspm command and button through the real HTTP endpoint
(`cspm-bot serve`), with 8 concurrent senders, at two data sizes, beside a bare Bolt app that
acks a static message, configured and served as the bot is (``process_before_response=True``,
granian with the bot's settings) and sent the same requests in the same rounds; the bot's
added latency over it is printed per interaction. Then the same interactions over
Socket Mode (`cspm-bot serve` with ``SLACK_APP_TOKEN``, 2 connections, 50 projects) through a
Socket Mode stand-in in this process, printed beside the HTTP rows (p50 / p99 / max), plus
acks across forced refreshes, beside the bare Bolt app on slack_bolt's default Socket Mode
handler.

    .venv/bin/python -m bench.bench_ack_latency [--requests 400] [--rounds 8] [--senders 8]
                                                [--only NAME ...] [--detail]
                                                [--refreshes 20] [--no-socket]

(About 45 minutes with the defaults on 2 vCPUs; ``--only "/cspm projects"`` for one row.)

Data: 50 projects / 2,000 scans / 10,000 jobs, and 5,000 projects / 200,000 scans /
1,000,000 jobs (SQLite, seeded by bench/seed.py). Prints p50 and p99 per interaction.
Targets: p99 under 100 ms; p99 at 5,000 projects within 1.3x of 50 (cost follows the page).

How it measures, so the figures are the bot's and not the harness's:
- every request is built and signed before its timer starts; the timer covers one HTTP
  round trip to ``POST /slack/events``, from the first byte sent to the ack received;
- the Slack Web API stand-in of the tests runs in a process of its own
  (`bench.standin_proc`), as Slack's servers would be on other machines;
- after each interaction the benchmark waits until every request has been answered at the
  stand-in (a post to its response_url, or a modal opened with its trigger id; at most
  `DRAIN_LIMIT` seconds) and the bot's other post-ack work (progress messages) is over, and
  prints how long that took, so the next interaction is measured on a quiet bot. Replies
  expected and received are printed per interaction; any missing reply, or any invalid
  payload (the stand-in validates every one), fails the run (exit status 1);
- the bare Bolt app runs beside the bots for the whole run and is measured in every round of
  every interaction, with that interaction's requests, its turn alternating with the bots',
  so the baseline sees the same machine as the bot.

Why so many samples: the ack does the same work at both sizes (it relays the request to the
worker process; about 0.1 ms of the serving process's CPU), so its p99 is set by how the
machine schedules senders, server, worker and stand-in, and one round's p99 moves between
about 3 and 25 ms from round to round at either size (``--detail`` prints them). The ratio
column therefore comes with a bootstrap 90% range: a ratio whose range straddles 1.0 is noise,
not cost that grows with the data.

Socket Mode rows are timed where Slack times them: the stand-in notes when it hands an
envelope to the socket and when the ack comes back. Across a refresh: the stand-in sends
``disconnect`` (refresh_requested) on a connection, a request follows on that connection at
once, and another on its replacement right after its ``hello``.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.fernet import Fernet

from bench.seed import seeded_sqlite
from bench.standin_proc import StandInProcess
from bot.ids import HistoryAction, PageAction, ProjectAction
from bot.playground.aws import refused_url
from bot.playground.socket_mode import SocketModeServer
from bot.serve import HTTP_THREADS
from tests.support.slackdriver import SIGNING_SECRET, HttpResult, SlackDriver, find_elements

ROOT = Path(__file__).resolve().parents[1]
USER = "U0BENCH01"  # admin and operator
SIZES = {"50 projects": (50, 2_000, 10_000), "5,000 projects": (5_000, 200_000, 1_000_000)}
SOCKET_LABEL = "Socket Mode, 50 projects"
BARE_LABEL = "bare Bolt"
SOCKET_CONNECTIONS = 2
UNACKED = float("inf")
"""The latency of an envelope never acked (within 30 s): counted, and shown as the max."""
QUIET_SECONDS = 1.0  # the bot is idle once the stand-in has seen no call for this long
DRAIN_LIMIT = 600.0


@dataclass(frozen=True)
class Prepared:
    """One signed request, ready to send."""

    body: bytes
    headers: dict[str, str]


class RequestBuilder(SlackDriver):
    """The tests' request shapes and signatures, kept instead of sent (see `prepare`)."""

    def __init__(self, slack: Any) -> None:
        super().__init__(lambda *a: None, slack)
        self.built: list[Prepared] = []

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        self.built.append(Prepared(body, {"Content-Type": content_type, **(headers or {})}))
        return HttpResult(200, {}, b"")

    def prepare(self, make: Callable[[int], object], n: int) -> list[Prepared]:
        """`n` requests made by `make(i)`."""
        self.built = []
        for i in range(n):
            make(i)
        return self.built


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], path: str | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if path is None:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            if requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start listening")


def _start(
    cmd: list[str], env: dict[str, str], port: int, health: str | None
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_listening(port, proc, health)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def measure(url: str, prepared: list[Prepared], senders: int) -> list[float]:
    """Latencies in ms of sending `prepared` from `senders` threads (keep-alive each)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    queue = iter(prepared)

    parts = urlsplit(url)

    def worker() -> None:
        # http.client, not requests: the sender's own work must not be what is measured.
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                conn.close()
                return
            start = time.perf_counter()
            conn.request("POST", parts.path, body=item.body, headers=item.headers)
            reply = conn.getresponse()
            content = reply.read()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if reply.status != 200:
                    failures.append(f"HTTP {reply.status}: {content[:200]!r}")
                else:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    # The load generator's own garbage-collection pauses must not count as the bot's latency.
    gc.collect()
    gc.disable()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gc.enable()
    if failures:
        raise SystemExit(f"{len(failures)} request(s) failed, e.g. {failures[0]}")
    return latencies


def wait_quiet(slack: StandInProcess) -> float:
    """Seconds until the stand-in has received no call for `QUIET_SECONDS`."""
    started = time.monotonic()
    last, last_change = slack.total_calls(), time.monotonic()
    while time.monotonic() - last_change < QUIET_SECONDS:
        if time.monotonic() - started > DRAIN_LIMIT:
            raise SystemExit(f"the bot was still sending after {DRAIN_LIMIT:.0f} s")
        time.sleep(0.1)
        now = slack.total_calls()
        if now != last:
            last, last_change = now, time.monotonic()
    return last_change - started


def wait_answered(slack: StandInProcess, sent: list[Prepared]) -> tuple[int, float]:
    """Wait until every request of `sent` has its reply at the stand-in (or `DRAIN_LIMIT`
    passed); returns (requests answered, seconds waited)."""
    started = time.monotonic()
    keys = [reply_keys(p) for p in sent]
    while True:
        answered = slack.answered()
        done = sum(1 for k in keys if k & answered)
        if done == len(keys) or time.monotonic() - started > DRAIN_LIMIT:
            return done, time.monotonic() - started
        time.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ratio_interval(
    small: list[float], large: list[float], resamples: int = 200
) -> tuple[float, float]:
    """A bootstrap 90% interval of p99(large) / p99(small): how far the ratio moves when the
    same run is resampled, i.e. the noise the point figure carries."""
    rnd = random.Random(0)
    ratios = sorted(
        pct(rnd.choices(large, k=len(large)), 99) / pct(rnd.choices(small, k=len(small)), 99)
        for _ in range(resamples)
    )
    return ratios[int(0.05 * resamples)], ratios[int(0.95 * resamples) - 1]


def reply_keys(prepared: Prepared) -> set[str]:
    """What the bot's answer to this request is keyed on at the stand-in: the id of its
    response_url and its trigger id (a modal)."""
    fields = {k: v[0] for k, v in parse_qs(prepared.body.decode()).items()}
    body = json.loads(fields["payload"]) if "payload" in fields else fields
    urls = [body.get("response_url")]
    urls += [u.get("response_url") for u in body.get("response_urls", [])]
    keys = {str(url).rsplit("/response/", 1)[-1] for url in urls if url}
    if body.get("trigger_id"):
        keys.add(str(body["trigger_id"]))
    return keys


def _has(action_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(e["action_id"] == action_id for e in find_elements(body))


Send = Callable[[list[Prepared], int], list[float]]
"""Sends prepared requests from n senders; returns the ack latencies (ms)."""


def interactions(
    builder: RequestBuilder, slack: StandInProcess, send: Send, failed_scan: int
) -> dict[str, Callable[[int], object]]:
    """Each interaction as a function of the request number (building one request)."""
    # One real projects message and history message to click in, as a user would.
    for text in ("projects", "history project-00042"):
        send(builder.prepare(lambda i, t=text: builder.command(t, USER), 1), 1)
    projects_msg = slack.wait_for("response_url", _has(ProjectAction.JOBS))
    history_msg = slack.wait_for("response_url", _has(HistoryAction.MENU))
    menu = next(e for e in find_elements(history_msg) if e["action_id"] == HistoryAction.MENU)
    error_option = next(
        (o["value"] for o in menu["options"] if "Error" in o["text"]["text"]),
        menu["options"][0]["value"],
    )

    def command(text: Callable[[int], str]) -> Callable[[int], object]:
        return lambda i: builder.command(text(i), USER, settle=False)

    def click(message: dict[str, Any], action: str, option: str | None = None) -> Any:
        return lambda i: builder.click_in_message(
            message, action, USER, option_value=option, settle=False
        )

    return {
        "/cspm help": command(lambda i: "help"),
        "/cspm projects": command(lambda i: "projects"),
        "/cspm projects failed": command(lambda i: "projects failed"),
        "/cspm history P": command(lambda i: f"history project-{1 + i % 50:05d}"),
        "/cspm errors S": command(lambda i: f"errors {failed_scan}"),
        "/cspm connectors": command(lambda i: "connectors"),
        "/cspm scan P": command(lambda i: f"scan project-{1 + i % 50:05d}"),
        "/cspm stop P": command(lambda i: f"stop project-{1 + i % 50:05d}"),
        "/cspm bogus": command(lambda i: "prjects"),
        "button Jobs": click(projects_msg, ProjectAction.JOBS),
        "button History": click(projects_msg, ProjectAction.HISTORY),
        "button Next page": click(projects_msg, PageAction.NEXT),
        "menu Error": click(history_msg, HistoryAction.MENU, error_option),
    }


@dataclass
class Measured:
    """One interaction at one size: every latency (ms) and every drain time (s)."""

    latencies: list[float] = field(default_factory=list)
    drains: list[float] = field(default_factory=list)
    round_p99s: list[float] = field(default_factory=list)
    expected: int = 0  # requests sent, each owed a reply
    answered: int = 0  # of them, those whose reply reached the stand-in


def envelope_of(prepared: Prepared) -> tuple[str, dict[str, Any]]:
    """The Socket Mode envelope (type, payload) carrying the same request as `prepared`."""
    fields = {k: v[0] for k, v in parse_qs(prepared.body.decode()).items()}
    if "payload" in fields:
        return "interactive", json.loads(fields["payload"])
    return "slash_commands", fields


def measure_socket(server: SocketModeServer, prepared: list[Prepared], senders: int) -> list[float]:
    """Ack latencies in ms of delivering `prepared` as envelopes from `senders` threads, spread
    over the open connections; measured at the stand-in, from envelope sent to ack received."""
    envelopes = [envelope_of(p) for p in prepared]
    latencies: list[float] = []
    lock = threading.Lock()
    queue = iter(enumerate(envelopes))
    connections = server.open_connections()

    def worker() -> None:
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            i, (kind, payload) = item
            envelope_id = server.send(kind, payload, on=connections[i % len(connections)])
            ack = server.wait_ack(envelope_id, timeout=30)
            with lock:
                latencies.append(ack.latency * 1000)

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    gc.collect()
    gc.disable()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gc.enable()
    return latencies


def measure_refresh(
    server: SocketModeServer, make: Callable[[], Prepared], refreshes: int, on_old: bool = True
) -> list[float]:
    """Ack latencies in ms across forced refreshes: each time Slack's ``disconnect``
    (refresh_requested) goes to one connection, a request follows on it at once (Slack may
    still deliver there), and another on its replacement right after its ``hello``."""
    latencies: list[float] = []
    for i in range(refreshes):
        connections = server.wait_connections(1, timeout=60)
        old = connections[i % len(connections)]
        server.refresh(old)
        sent = []
        if on_old:
            sent.append(server.send(*envelope_of(make()), on=old))
        fresh = server.wait_new_connection(after=old, timeout=60)
        sent.append(server.send(*envelope_of(make()), on=fresh))
        for envelope_id in sent:
            try:
                latencies.append(server.wait_ack(envelope_id, timeout=30).latency * 1000)
            except AssertionError:
                latencies.append(UNACKED)
    return latencies


class BotServer:
    """`cspm-bot serve` on a copy of one seeded database, with its own Slack stand-in: over
    HTTP, or over Socket Mode (`socket_mode`) against a Socket Mode stand-in in this process."""

    def __init__(self, size: tuple[int, int, int], socket_mode: bool = False) -> None:
        seeded = seeded_sqlite(*size).removeprefix("sqlite:///")
        self.work = Path(tempfile.mkdtemp())
        db_file = self.work / "cspm.db"
        shutil.copy(seeded, db_file)
        self.socket: SocketModeServer | None = None
        if socket_mode:
            self.socket = SocketModeServer()
            self.socket.check_tickets = False  # the URLs come from the stand-in process
        self.slack = StandInProcess(socket_port=self.socket.port if self.socket else None)
        port = _free_port()
        env = dict(
            os.environ,
            CSPM_DATABASE_URL=f"sqlite:///{db_file}",
            CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            SLACK_BOT_TOKEN=self.slack.token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.slack.api_url,
            CSPM_OPERATORS=USER,
            CSPM_ADMINS=USER,
            AWS_ENDPOINT_URL=refused_url(),
            CSPM_CLOUD_MAX_ATTEMPTS="1",
            CSPM_RETRY_MAX_ATTEMPTS="0",
            CSPM_LOG_LEVEL="WARNING",
        )
        env.pop("SLACK_APP_TOKEN", None)
        cspm_bot = str(Path(sys.executable).with_name("cspm-bot"))
        cmd = [cspm_bot, "serve", "--host", "127.0.0.1", "--port", str(port)]
        if self.socket is not None:
            env["SLACK_APP_TOKEN"] = "xapp-" + "1-bench-app-token"
            env["CSPM_SOCKET_CONNECTIONS"] = str(SOCKET_CONNECTIONS)
            cmd += ["--health-port", str(port)]
        self.proc = _start(cmd, env, port, "/healthz")
        if self.socket is not None:
            self.socket.wait_connections(SOCKET_CONNECTIONS, timeout=60)
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.builder = RequestBuilder(self.slack)
        self.interactions = interactions(
            self.builder, self.slack, self.send, _a_failed_scan(db_file)
        )

    def send(self, prepared: list[Prepared], senders: int) -> list[float]:
        """Send `prepared` (to ``POST /slack/events``, or as envelopes); ack latencies in ms."""
        if self.socket is not None:
            return measure_socket(self.socket, prepared, senders)
        return measure(self.url, prepared, senders)

    def measure_refresh(self, refreshes: int) -> list[float]:
        """``/cspm help`` acks across forced refreshes (Socket Mode), ms."""
        assert self.socket is not None
        make = self.interactions["/cspm help"]
        wait_quiet(self.slack)
        latencies = measure_refresh(
            self.socket, lambda: self.builder.prepare(make, 1)[0], refreshes
        )
        wait_quiet(self.slack)
        return latencies

    def measure(self, name: str, total: int, senders: int, into: Measured) -> None:
        """Measure `total` requests of interaction `name` on a quiet bot, then count the
        requests (warm-up included) whose reply reached the stand-in."""
        make = self.interactions[name]
        wait_quiet(self.slack)
        warm_up = self.builder.prepare(make, senders)
        self.send(warm_up, senders)
        wait_answered(self.slack, warm_up)
        wait_quiet(self.slack)
        batch = self.builder.prepare(make, total)
        latencies = self.send(batch, senders)
        into.latencies += latencies
        into.round_p99s.append(pct(latencies, 99))
        sent = warm_up + batch
        answered, seconds = wait_answered(self.slack, sent)
        into.drains.append(seconds + wait_quiet(self.slack))
        into.expected += len(sent)
        into.answered += answered

    def close(self) -> None:
        """Stop the bot (failing the run if it ever sent an invalid payload)."""
        try:
            problems = self.slack.summary()["problems"]
            if problems:
                raise SystemExit(f"the bot sent {len(problems)} invalid payload(s): {problems[0]}")
        finally:
            _stop(self.proc)
            self.slack.close()
            if self.socket is not None:
                self.socket.close()
            shutil.rmtree(self.work, ignore_errors=True)


def _a_failed_scan(db_file: Path) -> int:
    con = sqlite3.connect(db_file)
    (scan_id,) = con.execute(
        "SELECT id FROM scans WHERE status='failed' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    con.close()
    return int(scan_id)


def run_bots(
    total: int,
    rounds: int,
    senders: int,
    only: list[str] | None = None,
    socket_mode: bool = True,
    refreshes: int = 20,
) -> tuple[dict[str, dict[str, Measured]], list[float]]:
    """Both sizes served side by side over HTTP (and the small one over Socket Mode); each
    interaction measured on one, then the other, `rounds` times (alternating the order), so
    all see the same machine. Also returns the Socket Mode acks across forced refreshes."""
    servers = {label: BotServer(size) for label, size in SIZES.items()}
    if socket_mode:
        servers[SOCKET_LABEL] = BotServer(SIZES["50 projects"], socket_mode=True)
    bare = BareServer(senders)
    small = servers["50 projects"]
    results: dict[str, dict[str, Measured]] = {label: {} for label in [*servers, BARE_LABEL]}
    across_refresh: list[float] = []
    try:
        names = list(next(iter(servers.values())).interactions)
        if only:
            unknown = set(only) - set(names)
            if unknown:
                raise SystemExit(f"unknown interaction(s) {sorted(unknown)}; known: {names}")
            names = [name for name in names if name in only]
        for name in names:
            for r in range(rounds):
                labels = [*servers, BARE_LABEL]
                for label in labels if r % 2 == 0 else reversed(labels):
                    into = results[label].setdefault(name, Measured())
                    if label == BARE_LABEL:  # the same requests as the bot's, unanswered
                        make = small.interactions[name]
                        bare.measure(lambda n, m=make: small.builder.prepare(m, n), total, into)
                    else:
                        servers[label].measure(name, total, senders, into)
            print(f"  measured {name}", flush=True)
        if socket_mode:
            across_refresh = servers[SOCKET_LABEL].measure_refresh(refreshes)
            print("  measured Socket Mode across refreshes", flush=True)
    finally:
        bare.close()
        for server in servers.values():
            server.close()
    return results, across_refresh


def run_bare_socket(total: int, senders: int, refreshes: int) -> tuple[list[float], list[float]]:
    """The Socket Mode baseline: the bare Bolt app with slack_bolt's default Socket Mode
    handler; its acks (ms) steady, and right after each forced refresh on the new connection."""
    socket_server = SocketModeServer()
    socket_server.check_tickets = False
    slack = StandInProcess(socket_port=socket_server.port)
    env = dict(
        os.environ,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_API_URL=slack.api_url,
        SLACK_APP_TOKEN="xapp-" + "1-bench-app-token",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_bolt_app", "socket"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        socket_server.wait_connections(1, timeout=60)
        builder = RequestBuilder(slack)
        make = lambda i: builder.command("projects", USER, settle=False)  # noqa: E731
        measure_socket(socket_server, builder.prepare(make, senders), senders)
        steady = measure_socket(socket_server, builder.prepare(make, total), senders)
        # Bolt's default handler acks on its newest connection: a request on the old one
        # after a refresh may never be acked, so only the new connection is measured.
        across = measure_refresh(
            socket_server, lambda: builder.prepare(make, 1)[0], refreshes, on_old=False
        )
        return steady, across
    finally:
        _stop(proc)
        slack.close()
        socket_server.close()


class BareServer:
    """The baseline: a Bolt app that acks a static message (`bench.bare_bolt_app`, configured
    as the bot is), served by granian with the bot's settings (`bot.serve.serve_http`)."""

    def __init__(self, senders: int = 8) -> None:
        self.senders = senders
        self.slack = StandInProcess()
        port = _free_port()
        env = dict(
            os.environ,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_BOT_TOKEN=self.slack.token,
            SLACK_API_URL=self.slack.api_url,
        )
        granian = [sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws"]
        granian += ["--workers", "1", "--blocking-threads", str(HTTP_THREADS)]
        granian += ["--log-level", "warning", "--host", "127.0.0.1", "--port", str(port)]
        self.proc = _start([*granian, "bench.bare_bolt_app:application"], env, port, None)
        self.url = f"http://127.0.0.1:{port}/slack/events"

    def measure(self, prepare: Callable[[int], list[Prepared]], total: int, into: Measured) -> None:
        """Send a warm-up, then `total` requests made by `prepare(n)`; ack latencies into
        `into`."""
        measure(self.url, prepare(self.senders), self.senders)
        latencies = measure(self.url, prepare(total), self.senders)
        into.latencies += latencies
        into.round_p99s.append(pct(latencies, 99))

    def close(self) -> None:
        """Stop the app and its stand-in."""
        _stop(self.proc)
        self.slack.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400, help="per interaction, size, round")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds per size")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="measure only this interaction"
    )
    parser.add_argument("--detail", action="store_true", help="print each round's p99 too")
    parser.add_argument(
        "--refreshes", type=int, default=20, help="forced Socket Mode refreshes to measure"
    )
    parser.add_argument("--no-socket", action="store_true", help="HTTP rows only")
    args = parser.parse_args()
    samples = args.requests * args.rounds
    socket_mode = not args.no_socket
    if socket_mode:
        bare_socket, bare_refresh = run_bare_socket(samples, args.senders, args.refreshes)
    by_size, across_refresh = run_bots(
        args.requests, args.rounds, args.senders, args.only, socket_mode, args.refreshes
    )
    small, large = by_size["50 projects"], by_size["5,000 projects"]
    bare_by_name = by_size[BARE_LABEL]
    bare = [v for m in bare_by_name.values() for v in m.latencies]
    print(
        f"\nack latency through POST /slack/events, {args.senders} concurrent senders, "
        f"{samples} requests per interaction and size ({args.rounds} alternating rounds), ms; "
        "'done': seconds from the last ack until every reply and the rest of the post-ack "
        "work had reached Slack (mean per round):"
    )
    print(
        f"  {'interaction':24} {'p50@50':>8} {'p99@50':>8} {'p50@5k':>8} {'p99@5k':>8} "
        f"{'p99 5k/50':>10} {'90% range':>12} {'done@50':>8} {'done@5k':>8}"
    )
    print(f"  {'bare Bolt, static ack':24} {pct(bare, 50):8.1f} {pct(bare, 99):8.1f}")
    worst_p99 = worst_ratio = 0.0
    for name in small:
        s, g = small[name], large[name]
        s99, l99 = pct(s.latencies, 99), pct(g.latencies, 99)
        ratio = l99 / s99 if s99 else 0.0
        low, high = ratio_interval(s.latencies, g.latencies)
        worst_p99, worst_ratio = max(worst_p99, s99, l99), max(worst_ratio, ratio)
        print(
            f"  {name:24} {pct(s.latencies, 50):8.1f} {s99:8.1f} {pct(g.latencies, 50):8.1f} "
            f"{l99:8.1f} {ratio:9.2f}x {low:5.2f}-{high:4.2f}x "
            f"{_mean(s.drains):8.1f} {_mean(g.drains):8.1f}"
        )
    if args.detail:
        print("\n  p99 of each round, ms (50 projects | 5,000 projects):")
        for name in small:
            rounds_50 = " ".join(f"{v:5.1f}" for v in small[name].round_p99s)
            rounds_5k = " ".join(f"{v:5.1f}" for v in large[name].round_p99s)
            print(f"  {name:24} {rounds_50} | {rounds_5k}")
    print(
        f"\n  worst p99: {worst_p99:.1f} ms (target < 100 ms); worst p99 ratio 5,000/50 "
        f"projects: {worst_ratio:.2f}x (target <= 1.3x); bare Bolt p99 {pct(bare, 99):.1f} ms"
    )
    print_added_latency(small, large, bare_by_name)
    if socket_mode:
        print_socket_rows(
            by_size[SOCKET_LABEL], small, bare, bare_socket, bare_refresh, across_refresh, args
        )
    missing = print_replies({k: v for k, v in by_size.items() if k != BARE_LABEL})
    if missing:
        raise SystemExit(f"{missing} request(s) got no reply: the post-ack work was dropped")


def print_added_latency(
    small: dict[str, Measured], large: dict[str, Measured], bare: dict[str, Measured]
) -> None:
    """The bot's ack latency over the bare Bolt app's, on the same requests and rounds."""
    print(
        "\nadded latency over the bare Bolt app (same requests, same rounds, same server "
        "settings), ms; 'x': bot / bare:"
    )
    print(
        f"  {'interaction':24} {'bare p50':>8} {'bare p99':>8} | {'+p50@50':>8} {'+p99@50':>8} "
        f"{'x p50':>6} {'x p99':>6} | {'+p50@5k':>8} {'+p99@5k':>8} {'x p50':>6} {'x p99':>6}"
    )
    for name, base in bare.items():
        b50, b99 = pct(base.latencies, 50), pct(base.latencies, 99)
        cells = f"  {name:24} {b50:8.1f} {b99:8.1f} |"
        for size in (small, large):
            s50, s99 = pct(size[name].latencies, 50), pct(size[name].latencies, 99)
            cells += f" {s50 - b50:8.1f} {s99 - b99:8.1f} {s50 / b50:5.1f}x {s99 / b99:5.1f}x |"
        print(cells.rstrip(" |"))


def print_replies(by_size: dict[str, dict[str, Measured]]) -> int:
    """Replies received / expected per interaction and server; returns how many are missing."""
    labels = list(by_size)
    print("\nreplies received / expected (a response_url post or a modal per request):")
    print(f"  {'interaction':24} " + " ".join(f"{label:>26}" for label in labels))
    missing = 0
    for name in next(iter(by_size.values())):
        cells = []
        for label in labels:
            m = by_size[label].get(name)
            if m is None:
                cells.append(f"{'-':>26}")
                continue
            missing += m.expected - m.answered
            flag = "" if m.answered == m.expected else " MISSING"
            cells.append(f"{f'{m.answered} / {m.expected}{flag}':>26}")
        print(f"  {name:24} " + " ".join(cells))
    return missing


def print_socket_rows(
    sockets: dict[str, Measured],
    http: dict[str, Measured],
    bare: list[float],
    bare_socket: list[float],
    bare_refresh: list[float],
    across_refresh: list[float],
    args: argparse.Namespace,
) -> None:
    """Socket Mode beside HTTP, 50 projects: p50 / p99 / max per interaction, ms."""
    print(
        f"\nack latency, Socket Mode ({SOCKET_CONNECTIONS} connections; measured at the Socket "
        "Mode stand-in, from envelope sent to ack received) beside HTTP (measured at the "
        f"sender), 50 projects, {args.senders} concurrent senders, ms:"
    )
    print(
        f"  {'interaction':40} {'SM p50':>8} {'SM p99':>8} {'SM max':>8}   "
        f"{'HTTP p50':>8} {'HTTP p99':>8} {'HTTP max':>8}"
    )

    def row(name: str, sm: list[float], web: list[float] | None) -> None:
        cells = f"  {name:40} {pct(sm, 50):8.1f} {pct(sm, 99):8.1f} {max(sm):8.1f}   "
        lost = sum(1 for v in sm if v == UNACKED)
        if lost:
            cells = cells.rstrip() + f" ({lost} never acked)   "
        if web:
            cells += f"{pct(web, 50):8.1f} {pct(web, 99):8.1f} {max(web):8.1f}"
        print(cells)

    row("bare Bolt, static ack", bare_socket, bare)
    for name, measured in sockets.items():
        row(name, measured.latencies, http[name].latencies if name in http else None)
    row(f"across a refresh ({len(across_refresh)} acks)", across_refresh, None)
    row(
        f"bare Bolt default handler, refresh ({len(bare_refresh)})",
        bare_refresh,
        None,
    )
    print(
        f"  (across a refresh: {args.refreshes} forced refreshes; after each, one request on "
        "the refreshed connection and one on its replacement right after its hello. The bare "
        "Bolt row uses slack_bolt's default Socket Mode handler, new connection only.)"
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    main()
