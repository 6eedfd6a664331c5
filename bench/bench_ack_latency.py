"""Ack latency benchmark (issue 3): every /cspm command and button through the real HTTP
endpoint (`cspm-bot serve`: gunicorn + Bolt), with 8 concurrent senders, at two data sizes,
beside a bare Bolt app that acks a static message, served the same way in the same run.

    .venv/bin/python -m bench.bench_ack_latency [--requests 120] [--senders 8]

Data: 50 projects / 2,000 scans / 10,000 jobs, and 5,000 projects / 200,000 scans /
1,000,000 jobs (SQLite, seeded by bench/seed.py). Prints p50 and p99 per interaction.
Targets: p99 under 100 ms; p99 at 5,000 projects within 1.3x of 50 (cost follows the page).
Slack Web API calls go to the loopback stand-in of the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from bench.seed import seeded_sqlite
from bot.ids import HistoryAction, PageAction, ProjectAction
from tests.standins.aws import refused_url
from tests.standins.slack import SlackStandIn
from tests.support.slackdriver import SIGNING_SECRET, HttpResult, SlackDriver, find_element

ROOT = Path(__file__).resolve().parents[1]
USER = "U0BENCH01"  # admin and operator
SIZES = {"50 projects": (50, 2_000, 10_000), "5,000 projects": (5_000, 200_000, 1_000_000)}


class HttpDriver(SlackDriver):
    """The tests' signed-request driver, sending over real HTTP instead of calling WSGI."""

    def __init__(self, base_url: str, slack: SlackStandIn) -> None:
        super().__init__(lambda *a: None, slack)
        self.base_url = base_url
        self._local = threading.local()

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        reply = session.request(
            method,
            self.base_url + path,
            data=body,
            timeout=30,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        return HttpResult(reply.status_code, dict(reply.headers), reply.content)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become healthy")


def _start(cmd: list[str], env: dict[str, str], port: int, health: bool) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if health:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
    else:
        time.sleep(0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def measure(send: Callable[[int], HttpResult], total: int, senders: int) -> list[float]:
    """Latencies in ms of `total` requests from `senders` threads."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            result = send(i)
            elapsed = (time.perf_counter() - start) * 1000
            if result.status != 200:
                with lock:
                    failures.append(f"HTTP {result.status}: {result.body[:200]!r}")
                return
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} request(s) failed, e.g. {failures[0]}")
    return latencies


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def interactions(driver: HttpDriver, slack: SlackStandIn, failed_scan: int) -> dict[str, Any]:
    """Each interaction as a function of the request number."""
    # One real projects message and history message to click in, as a user would.
    driver.command("projects", USER)
    projects_msg = slack.wait_for("response_url", lambda c: "blocks" in c.body)[-1].body
    driver.command("history project-00042", USER)
    history_msg = slack.wait_for(
        "response_url",
        lambda c: any(e.get("action_id") == HistoryAction.MENU for e in _elements(c.body)),
    )[-1].body

    def click(
        message: dict[str, Any], action: str, option: str | None = None
    ) -> Callable[[int], HttpResult]:
        def send(_: int) -> HttpResult:
            return driver.click_in_message(message, action, USER, option_value=option, settle=False)

        return send

    menu = find_element(history_msg, HistoryAction.MENU)
    error_option = next(
        (o["value"] for o in menu["options"] if "Error" in o["text"]["text"]),
        menu["options"][0]["value"],
    )
    return {
        "/cspm help": lambda i: driver.command("help", USER, settle=False),
        "/cspm projects": lambda i: driver.command("projects", USER, settle=False),
        "/cspm projects failed": lambda i: driver.command("projects failed", USER, settle=False),
        "/cspm history P": lambda i: driver.command(
            f"history project-{1 + i % 50:05d}", USER, settle=False
        ),
        "/cspm errors S": lambda i: driver.command(f"errors {failed_scan}", USER, settle=False),
        "/cspm connectors": lambda i: driver.command("connectors", USER, settle=False),
        "/cspm scan P": lambda i: driver.command(f"scan project-{1 + i:05d}", USER, settle=False),
        "/cspm stop P": lambda i: driver.command(f"stop project-{1 + i:05d}", USER, settle=False),
        "/cspm bogus": lambda i: driver.command("prjects", USER, settle=False),
        "button Jobs": click(projects_msg, ProjectAction.JOBS),
        "button History": click(projects_msg, ProjectAction.HISTORY),
        "button Next page": click(projects_msg, PageAction.NEXT),
        "menu Error": click(history_msg, HistoryAction.MENU, error_option),
    }


def _elements(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "action_id" in node:
            found.append(node)
        for value in node.values():
            found.extend(_elements(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_elements(value))
    return found


def run_bot(
    label: str, size: tuple[int, int, int], total: int, senders: int
) -> dict[str, list[float]]:
    """Serve the bot on one seeded database and measure every interaction."""
    seeded = seeded_sqlite(*size).removeprefix("sqlite:///")
    work = Path(tempfile.mkdtemp())
    db_file = work / "cspm.db"
    shutil.copy(seeded, db_file)
    slack = SlackStandIn()
    slack.start()
    port = _free_port()
    env = dict(
        os.environ,
        CSPM_DATABASE_URL=f"sqlite:///{db_file}",
        CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        CSPM_OPERATORS=USER,
        CSPM_ADMINS=USER,
        AWS_ENDPOINT_URL=refused_url(),
        CSPM_CLOUD_MAX_ATTEMPTS="1",
        CSPM_LOG_LEVEL="WARNING",
    )
    env.pop("SLACK_APP_TOKEN", None)
    proc = _start(
        [
            str(Path(sys.executable).with_name("cspm-bot")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env,
        port,
        health=True,
    )
    try:
        driver = HttpDriver(f"http://127.0.0.1:{port}", slack)
        failed_scan = _a_failed_scan(db_file)
        results = {}
        for name, send in interactions(driver, slack, failed_scan).items():
            measure(send, senders, senders)  # warm-up
            results[name] = measure(send, total, senders)
        return results
    finally:
        _stop(proc)
        slack.close()
        shutil.rmtree(work, ignore_errors=True)
        print(f"  measured {label}", flush=True)


def _a_failed_scan(db_file: Path) -> int:
    import sqlite3

    con = sqlite3.connect(db_file)
    (scan_id,) = con.execute(
        "SELECT id FROM scans WHERE status='failed' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    con.close()
    return int(scan_id)


def run_bare(total: int, senders: int) -> list[float]:
    """The baseline: a Bolt app that acks a static message, under the same gunicorn setup."""
    slack = SlackStandIn()
    slack.start()
    port = _free_port()
    env = dict(
        os.environ,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_API_URL=slack.api_url,
    )
    proc = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "16",
            "-b",
            f"127.0.0.1:{port}",
            "bench.bare_bolt_app:application",
        ],
        env,
        port,
        health=False,
    )
    try:
        driver = HttpDriver(f"http://127.0.0.1:{port}", slack)
        send = lambda i: driver.command("projects", USER, settle=False)  # noqa: E731
        measure(send, senders, senders)
        return measure(send, total, senders)
    finally:
        _stop(proc)
        slack.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="per interaction and size")
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    bare = run_bare(args.requests * 3, args.senders)
    by_size = {
        label: run_bot(label, size, args.requests, args.senders) for label, size in SIZES.items()
    }
    small, large = by_size["50 projects"], by_size["5,000 projects"]
    print(
        f"\nack latency through POST /slack/events, {args.senders} concurrent senders, "
        f"{args.requests} requests per interaction (ms):"
    )
    print(
        f"  {'interaction':24} {'p50@50':>8} {'p99@50':>8} {'p50@5k':>8} {'p99@5k':>8} "
        f"{'p99 5k/50':>10}"
    )
    print(f"  {'bare Bolt, static ack':24} {pct(bare, 50):8.1f} {pct(bare, 99):8.1f}")
    worst_p99 = worst_ratio = 0.0
    for name in small:
        s99, l99 = pct(small[name], 99), pct(large[name], 99)
        ratio = l99 / s99 if s99 else 0.0
        worst_p99, worst_ratio = max(worst_p99, s99, l99), max(worst_ratio, ratio)
        print(
            f"  {name:24} {pct(small[name], 50):8.1f} {s99:8.1f} {pct(large[name], 50):8.1f} "
            f"{l99:8.1f} {ratio:9.2f}x"
        )
    print(
        f"\n  worst p99: {worst_p99:.1f} ms (target < 100 ms); worst p99 ratio 5,000/50 "
        f"projects: {worst_ratio:.2f}x (target <= 1.3x); bare Bolt p99 {pct(bare, 99):.1f} ms"
    )


if __name__ == "__main__":
    main()
