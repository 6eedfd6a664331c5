"""The tests' Slack Web API stand-in, served from a process of its own for the benchmarks.

Slack's servers are not on the machine that runs the bot. In one process with the load
generator, the stand-in's payload validation would hold the generator's GIL and inflate the
latencies it measures; in a process of its own it only competes for the CPU, like any other
program would. The benchmark talks to it through three extra endpoints:

- ``GET /_bench/calls?method=M``: the bodies of the recorded calls of `M`, oldest first;
- ``GET /_bench/summary``: calls per method, and every invalid payload the bot sent;
- ``GET /_bench/replies``: every accepted response_url post by response_url id, as
  ``[received at (time.monotonic, system-wide on Linux), first 80 characters of its text]``;
- response_url ids starting with ``B`` are accepted on first use, so the load generator can
  make its own without a round trip per request;
- with ``BENCH_SOCKET_PORT`` set, ``apps.connections.open`` hands out URLs of the Socket Mode
  stand-in the benchmark runs on that port (it plays Slack's side and measures the acks).

It runs at the lowest CPU priority (like the bot's worker with ``CSPM_WORKER_PRIORITY=idle``):
on a real deployment Slack's servers are not on the bot's machine, so here they get only the
CPU that the measured processes leave.

    python -m bench.standin_proc      # prints {"base_url": ...} on one line, then serves
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import requests

from bot.lifetime import lower_priority
from bot.playground.loopback import Reply, Request
from bot.playground.slack_emulator import TEAM_ID, TOKEN, SlackStandIn

ROOT = Path(__file__).resolve().parents[1]
BENCH_URL_PREFIX = "B"


class BenchStandIn(SlackStandIn):
    """`SlackStandIn` plus the read-out endpoints of the benchmark."""

    socket_port = int(os.environ.get("BENCH_SOCKET_PORT") or 0)
    _tickets = count(1)

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, list[tuple[float, str]]] = {}

    def _response_url(self, request: Request) -> Reply:
        reply = super()._response_url(request)
        if reply.status == 200:
            url_id = request.path.removeprefix("/response/")
            try:
                text = str(json.loads(request.body.decode() or "{}").get("text", ""))
            except ValueError:
                text = ""
            with self._lock:
                self.replies.setdefault(url_id, []).append((time.monotonic(), text[:80]))
        return reply

    def route(self, request: Request) -> Reply:
        if request.path == "/api/apps.connections.open" and self.socket_port:
            url = f"ws://127.0.0.1:{self.socket_port}/link/?ticket=bench-{next(self._tickets)}"
            return Reply(200, {"ok": True, "url": url})
        if request.path == "/_bench/calls":
            method = request.query.get("method", "")
            return Reply(200, [c.body for c in self.calls_to(method)])
        if request.path == "/_bench/answered":
            # what answered each request: its response_url (by id) or its trigger_id (a modal)
            with self._lock:
                urls = sorted({c.url_id for c in self.requests if c.method == "response_url"})
                triggers = sorted(
                    str(c.body.get("trigger_id"))
                    for c in self.requests
                    if c.method in ("views.open", "views.push") and c.body.get("trigger_id")
                )
            return Reply(200, {"response_urls": urls, "trigger_ids": triggers})
        if request.path == "/_bench/replies":
            with self._lock:
                return Reply(200, {k: list(v) for k, v in self.replies.items()})
        if request.path == "/_bench/summary":
            with self._lock:
                methods = Counter(c.method for c in self.requests)
                problems = list(self.problems)
            return Reply(200, {"calls": dict(methods), "problems": problems})
        if request.path.startswith("/response/" + BENCH_URL_PREFIX):
            url_id = request.path.removeprefix("/response/")
            with self._lock:
                self.response_posts.setdefault(url_id, [])
        return super().route(request)


class StandInProcess:
    """Runs `BenchStandIn` in a child process; offers what `SlackDriver` needs of a stand-in."""

    token = TOKEN
    team_id = TEAM_ID

    def __init__(self, socket_port: int | None = None) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        if socket_port:
            env["BENCH_SOCKET_PORT"] = str(socket_port)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.standin_proc"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise SystemExit("the Slack stand-in process did not start")
        self.base_url = str(json.loads(line)["base_url"])
        self.api_url = f"{self.base_url}/api/"
        self._seq = count(1)
        self._http = requests.Session()

    def new_response_url(self) -> str:
        """A response_url the stand-in accepts on first use."""
        return f"{self.base_url}/response/{BENCH_URL_PREFIX}{next(self._seq):07d}"

    def new_trigger_id(self) -> str:
        """A fresh, unique trigger id."""
        return f"{next(self._seq)}.bench.{time.monotonic_ns()}"

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The bodies of every recorded call of `method`."""
        reply = self._http.get(f"{self.base_url}/_bench/calls", params={"method": method})
        return list(reply.json())

    def summary(self) -> dict[str, Any]:
        """Calls per method and the invalid payloads the bot sent."""
        return dict(self._http.get(f"{self.base_url}/_bench/summary").json())

    def wait_for(
        self, method: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """The newest call body of `method` matching `predicate` (waits for one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [body for body in self.calls(method) if predicate(body)]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise SystemExit(f"the bot sent no matching {method} call within {timeout:.0f} s")

    def answered(self) -> set[str]:
        """Every response_url id posted to and every trigger id a modal was opened with."""
        found = self._http.get(f"{self.base_url}/_bench/answered").json()
        return {*found["response_urls"], *found["trigger_ids"]}

    def replies(self) -> dict[str, list[tuple[float, str]]]:
        """Accepted response_url posts by response_url id: (received at, text)."""
        found = self._http.get(f"{self.base_url}/_bench/replies").json()
        return {k: [(float(at), str(text)) for at, text in v] for k, v in found.items()}

    def total_calls(self) -> int:
        """How many calls the stand-in has received so far."""
        return sum(self.summary()["calls"].values())

    def close(self) -> None:
        """Stop the child process."""
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def main() -> None:
    """Serve until terminated."""
    lower_priority(os.environ.get("BENCH_STANDIN_PRIORITY", "idle"))
    standin = BenchStandIn()
    standin.start()
    print(json.dumps({"base_url": standin.base_url}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()


if __name__ == "__main__":
    main()
