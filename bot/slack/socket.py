"""Socket Mode that never goes deaf: several WebSocket connections, each replaced in the
background, and acks that never wait on a reconnection.

Slack delivers each envelope (a command, a click, an event) to one of the app's open Socket
Mode connections (up to 10) and expects its ack on that connection within 3 seconds. Slack
also retires connections: it sends ``disconnect`` (``refresh_requested``, ``warning``) some
seconds before closing one, and networks drop them without a word.

`SocketModeRunner` keeps `connections` of them open at once. Each has a keeper thread that
opens it (``apps.connections.open``, then the WebSocket, then Slack's ``hello``), waits, and
opens the replacement when Slack asks for one or the connection is lost, with a bounded,
jittered backoff while the network is down. A refreshed connection keeps serving until its
replacement is up, and it is closed on a thread of its own. Envelopes are read by each
connection's reader thread and handed to a pool of ack threads that run the Bolt app and send
the ack back on the connection the envelope came in on: none of this shares a thread or a
lock with opening or closing connections.

Why not slack_sdk's clients: measured against the loopback stand-in (bot/playground), the
built-in client reconnects on its message thread and then waits up to 3 s for the old
connection's reader to give up a lock, so a request that arrives on the new connection is
acked after about 3.09 s; the websocket-client one also reconnects on its message thread and
sends acks on its newest connection, which is not open yet right after a refresh, so an
envelope Slack sent just before its ``disconnect`` is never acked. Both hold one connection.
This module uses the same pieces (websocket-client for the WebSocket, slack_sdk's request and
response types, Bolt's own Socket Mode dispatch) and owns only the connection life cycle.

`HealthServer` serves ``GET /healthz`` (JSON, 200 or 503) for container orchestrators.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import websocket
from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 10
"""Slack keeps at most 10 Socket Mode connections open per app."""
LATE_ACK_SECONDS = 2.0
"""An ack sent this long after its envelope arrived is counted (and logged) as late: with the
network's share of the 3-second window it may not reach Slack in time."""
HELLO_TIMEOUT = 10.0
"""How long a new connection may take to be greeted with ``hello``."""
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
"""Seconds between failed attempts to open a connection: doubling, jittered, capped."""
CLOSE_GRACE = 5.0
"""How long a retiring connection may take to finish its close handshake."""
DRAIN_QUIET = 0.25
"""A replaced connection is closed once its acks are sent and no envelope came for this long
(Slack may still deliver on it between its ``disconnect`` and the close)."""

_REJECTED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type"}
)


class SocketModeError(Exception):
    """Socket Mode could not start; the message says why."""


@dataclass
class SocketModeStats:
    """Counters since start: what the health endpoint and the logs report."""

    opened: int = 0
    dropped: int = 0
    refreshed: int = 0
    failed_attempts: int = 0
    envelopes: int = 0
    late_acks: int = 0
    redelivered: int = 0
    last_reconnect_seconds: float | None = None


class _Link:
    """One Socket Mode WebSocket connection and its reader thread."""

    def __init__(self, runner: SocketModeRunner, number: int, slot: int, url: str) -> None:
        self.runner = runner
        self.number = number
        self.slot = slot
        self.hello = threading.Event()
        self.ended = threading.Event()  # closed, or Slack asked for a replacement
        self.closed = threading.Event()
        self.disconnect_reason = ""
        self.retiring = False
        self.in_flight = 0  # envelopes read on this connection and not acked yet
        self.last_envelope_at = 0.0
        self.idle = threading.Condition()
        self.opened_at = 0.0
        self.ws = websocket.WebSocketApp(
            url,
            on_message=self._on_message,
            on_close=self._on_close,
            on_error=self._on_error,
        )
        self.thread = threading.Thread(target=self._run, name=f"socket-mode-{number}", daemon=True)

    def start(self) -> None:
        """Connect (on the reader thread)."""
        self.thread.start()

    @property
    def open(self) -> bool:
        """True once Slack said hello and until the connection closes."""
        return self.hello.is_set() and not self.closed.is_set()

    def _run(self) -> None:
        try:
            self.ws.run_forever(
                ping_interval=self.runner.ping_interval,
                ping_timeout=self.runner.ping_interval / 2,
                skip_utf8_validation=True,
            )
        except Exception:  # run_forever reports through on_error; this is a last resort
            log.exception("Socket Mode connection #%s: the reader stopped", self.number)
        finally:
            self._closed()

    def _on_message(self, _ws: Any, raw: str) -> None:
        received = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("Socket Mode connection #%s: a message that is not JSON", self.number)
            return
        kind = message.get("type")
        if kind == "hello":
            self.opened_at = received
            self.hello.set()
        elif kind == "disconnect":
            self.disconnect_reason = str(message.get("reason") or "unknown")
            self.ended.set()
        elif message.get("envelope_id"):
            self.runner._submit(self, message, received)

    def _on_error(self, _ws: Any, error: Exception) -> None:
        if not self.retiring and not self.runner.stopping:
            log.info("Socket Mode connection #%s: %s", self.number, type(error).__name__)

    def _on_close(self, _ws: Any, _code: Any = None, _reason: Any = None) -> None:
        self._closed()

    def _closed(self) -> None:
        self.closed.set()
        self.ended.set()

    def send(self, text: str) -> None:
        """Send one text frame (raises if the connection is gone)."""
        self.ws.send(text)

    def started_envelope(self, at: float) -> None:
        """Count an envelope read on this connection (its ack goes back on it)."""
        with self.idle:
            self.in_flight += 1
            self.last_envelope_at = at

    def finished_envelope(self) -> None:
        """Its ack was sent (or given up)."""
        with self.idle:
            self.in_flight -= 1
            self.idle.notify_all()

    def drain(self, timeout: float) -> None:
        """Wait (at most `timeout`) until every envelope read here is acked and none came in
        for `DRAIN_QUIET` seconds: once the close frame is sent, no ack can follow it."""
        deadline = time.monotonic() + timeout
        with self.idle:
            while not self.closed.is_set():
                now = time.monotonic()
                quiet_until = self.last_envelope_at + DRAIN_QUIET
                if (self.in_flight == 0 and now >= quiet_until) or now >= deadline:
                    return
                self.idle.wait(min(deadline, max(quiet_until, now + 0.01)) - now)

    def close(self) -> None:
        """Close with a close handshake, bounded by `CLOSE_GRACE` (call off the ack path)."""
        self.retiring = True
        with contextlib.suppress(Exception):
            self.ws.close(timeout=CLOSE_GRACE)
        self.thread.join(CLOSE_GRACE)
        self._closed()


def _drain_and_close(link: _Link) -> None:
    link.drain(timeout=1.0)
    link.close()


class _AckChannel:
    """What Bolt's `send_response` needs of a Socket Mode client: the ack goes back on the
    connection the envelope came in on."""

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.logger = log

    def send_socket_mode_response(self, response: SocketModeResponse | dict[str, Any]) -> None:
        body = response.to_dict() if isinstance(response, SocketModeResponse) else response
        self.link.send(json.dumps(body))


class SocketModeRunner:
    """Serve a Bolt app over `connections` Socket Mode connections until `close`."""

    def __init__(
        self,
        app: App,
        app_token: str,
        client: WebClient,
        connections: int = 2,
        ack_threads: int = 8,
        ping_interval: float = 10.0,
    ) -> None:
        if not 1 <= connections <= MAX_CONNECTIONS:
            raise ValueError(f"connections must be between 1 and {MAX_CONNECTIONS}")
        self.app = app
        self.client = client
        self.connections = connections
        self.ping_interval = ping_interval
        self.stats = SocketModeStats()
        self.stopping = False
        self._app_token = app_token
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._links: dict[int, _Link] = {}  # slot -> its current connection
        self._retiring: set[_Link] = set()
        self._stop = threading.Event()
        self._keepers: list[threading.Thread] = []
        self._acks = ThreadPoolExecutor(max_workers=ack_threads, thread_name_prefix="socket-ack")
        # websocket-client logs every lost connection at ERROR ("… - goodbye"); this module
        # reports drops and reconnections itself, once, with what an operator needs.
        logging.getLogger("websocket").setLevel(logging.CRITICAL)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Open the first connection (raising `SlackApiError` if Slack rejects the app token,
        `SocketModeError` if no connection comes up), then keep them all open."""
        first = self._open(0)
        if first is None:
            raise SocketModeError(
                "could not open a Socket Mode connection (the log above says why)"
            )
        for slot in range(self.connections):
            keeper = threading.Thread(
                target=self._keep,
                args=(slot, first if slot == 0 else None),
                name=f"socket-keeper-{slot}",
                daemon=True,
            )
            self._keepers.append(keeper)
            keeper.start()

    def close(self) -> None:
        """Close every connection, then finish the acks in progress."""
        self.stopping = True
        self._stop.set()
        with self._lock:
            links = [*self._links.values(), *self._retiring]
            self._links.clear()
        for link in links:
            link.ended.set()
        closers = [threading.Thread(target=_drain_and_close, args=(link,)) for link in links]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(CLOSE_GRACE + 1)
        for keeper in self._keepers:
            keeper.join(CLOSE_GRACE + 1)
        self._acks.shutdown(wait=True)

    def status(self) -> dict[str, Any]:
        """The connections and counters, for health checks (plain JSON data)."""
        with self._lock:
            up = sum(1 for link in self._links.values() if link.open)
        stats = self.stats
        return {
            "open": up,
            "closed": self.connections - up,
            "wanted": self.connections,
            "opened": stats.opened,
            "dropped": stats.dropped,
            "refreshed": stats.refreshed,
            "failed_attempts": stats.failed_attempts,
            "envelopes": stats.envelopes,
            "late_acks": stats.late_acks,
            "redelivered": stats.redelivered,
            "last_reconnect_seconds": stats.last_reconnect_seconds,
        }

    def open_count(self) -> int:
        """How many connections are open now."""
        return int(self.status()["open"])

    # -- keeping connections open ------------------------------------------------------------

    def _open(self, slot: int) -> _Link | None:
        """One attempt: a new URL, the WebSocket, Slack's hello. None if it failed (logged);
        raises `SlackApiError` when Slack rejects the app token."""
        try:
            response = self.client.apps_connections_open(app_token=self._app_token)
            url = str(response["url"])
        except SlackApiError as exc:
            error = exc.response.get("error")
            if isinstance(error, str) and error in _REJECTED_TOKEN_ERRORS:
                raise
            status = exc.response.status_code
            reason = error if isinstance(error, str) and status == 200 else f"HTTP {status}"
            log.warning("Socket Mode: apps.connections.open failed (%s)", reason)
            return None
        except Exception as exc:  # the network: URLError, timeouts, resets
            log.warning("Socket Mode: apps.connections.open failed (%s)", type(exc).__name__)
            return None
        link = _Link(self, next(self._numbers), slot, url)
        link.start()
        deadline = time.monotonic() + HELLO_TIMEOUT
        while not link.hello.is_set() and not link.closed.is_set():
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            link.hello.wait(0.05)
        if not link.open:
            self._retire(link)
            if not self._stop.is_set():
                log.warning("Socket Mode connection #%s did not open", link.number)
            return None
        with self._lock:
            self.stats.opened += 1
        return link

    def _try_open(self, slot: int) -> _Link | None:
        """`_open` for the keepers: every failure is logged and gives None, so that a keeper
        thread never dies."""
        try:
            return self._open(slot)
        except SlackApiError as exc:
            log.error(
                "Socket Mode: Slack rejected SLACK_APP_TOKEN (%s); retrying",
                exc.response.get("error"),
            )
        except Exception:
            log.exception("Socket Mode: opening a connection failed")
        return None

    def _back_off(self, failures: int) -> None:
        """Wait before the next attempt: doubling from `BACKOFF_FIRST`, capped, jittered (so
        replicas that lost the network together do not come back in step)."""
        with self._lock:
            self.stats.failed_attempts += 1
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(failures - 1, 10))
        self._stop.wait(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not crypto

    def _keep(self, slot: int, link: _Link | None) -> None:
        """Keep slot `slot` connected until `close`."""
        lost_at: float | None = None
        failures = 0
        while not self._stop.is_set():
            if link is None:
                link = self._try_open(slot)
                if link is None:
                    failures += 1
                    self._back_off(failures)
                    continue
                if lost_at is not None:
                    took = time.monotonic() - lost_at
                    with self._lock:
                        self.stats.last_reconnect_seconds = round(took, 3)
                    log.warning(
                        "Socket Mode: connection #%s open; reconnecting took %.2f s "
                        "(%d failed attempt(s))",
                        link.number,
                        took,
                        failures,
                    )
                    lost_at = None
                failures = 0
            with self._lock:
                self._links[slot] = link
            if self._stop.is_set():  # `close` ran while this one was opening
                self._retire(link)
                return
            link.ended.wait()
            if self._stop.is_set():
                return
            if link.closed.is_set():
                # Lost without a word: no connection in this slot until the next one opens.
                lost_at = time.monotonic()
                with self._lock:
                    self.stats.dropped += 1
                    others = sum(1 for other in self._links.values() if other.open)
                log.warning(
                    "Socket Mode connection #%s dropped (%d of %d still open); reconnecting",
                    link.number,
                    others,
                    self.connections,
                )
                link = None
                continue
            # Slack asked for a replacement: open it while this one still serves.
            old = link
            log.info(
                "Socket Mode connection #%s: Slack sent disconnect (%s); opening its replacement",
                old.number,
                old.disconnect_reason,
            )
            with self._lock:
                self.stats.refreshed += 1
            if old.disconnect_reason == "link_disabled":
                log.error(
                    "Socket Mode is disabled for this app: enable it (Settings → Socket Mode) "
                    "or serve over HTTP"
                )
            started = time.monotonic()
            link = None
            while link is None and not self._stop.is_set():
                link = self._try_open(slot)
                if link is None:
                    failures += 1
                    self._back_off(failures)
            self._retire(old)
            if link is not None:
                failures = 0
                log.info(
                    "Socket Mode connection #%s replaced #%s in %.2f s",
                    link.number,
                    old.number,
                    time.monotonic() - started,
                )

    def _retire(self, link: _Link) -> None:
        """Close `link` on a thread of its own: a close handshake can take seconds."""
        with self._lock:
            self._retiring.add(link)

        def close() -> None:
            link.drain(timeout=3.0)  # an ack later than Slack's 3 s is of no use anyway
            link.close()
            with self._lock:
                self._retiring.discard(link)

        threading.Thread(target=close, name=f"socket-close-{link.number}", daemon=True).start()

    # -- envelopes ---------------------------------------------------------------------------

    def _submit(self, link: _Link, message: dict[str, Any], received: float) -> None:
        link.started_envelope(received)
        try:
            self._acks.submit(self._handle, link, message, received)
        except RuntimeError:  # shutting down: Slack will deliver it again elsewhere
            link.finished_envelope()
            log.info("Socket Mode: an envelope arrived while stopping; left for a retry")

    def _handle(self, link: _Link, message: dict[str, Any], received: float) -> None:
        """Run the Bolt app on one envelope and ack it on its own connection."""
        try:
            self._ack(link, message, received)
        finally:
            link.finished_envelope()

    def _ack(self, link: _Link, message: dict[str, Any], received: float) -> None:
        request = SocketModeRequest.from_dict(message)
        if request is None:
            log.warning("Socket Mode: an envelope without a type or payload was ignored")
            return
        try:
            response = run_bolt_app(self.app, request)
            started = time.time() - (time.monotonic() - received)  # Bolt logs with time()
            send_response(_AckChannel(link), request, response, started)  # type: ignore[arg-type]
        except Exception:
            log.exception("Socket Mode: could not ack an envelope (%s)", request.type)
            return
        took = time.monotonic() - received
        with self._lock:
            self.stats.envelopes += 1
            if request.retry_attempt:
                self.stats.redelivered += 1
            late = took >= LATE_ACK_SECONDS
            if late:
                self.stats.late_acks += 1
            late_count = self.stats.late_acks
        if late:
            log.warning(
                "Socket Mode: a %s envelope was acked %.2f s after it arrived (late; %d late "
                "so far)",
                request.type,
                took,
                late_count,
            )
        if request.retry_attempt:
            log.warning(
                "Socket Mode: Slack delivered a %s envelope again (attempt %s, %s): an earlier "
                "delivery was not acked in time",
                request.type,
                request.retry_attempt,
                request.retry_reason or "no reason given",
            )


# --------------------------------------------------------------------------------------------
# Health endpoint
# --------------------------------------------------------------------------------------------

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class HealthServer:
    """``GET /healthz`` on `host:port`: the JSON of `check()`, 200 when healthy, else 503."""

    def __init__(self, check: HealthCheck, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104
        self.check = check
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # an orchestrator polls every few seconds: not worth a log line

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/healthz":
                    self._reply(404, {"error": "not found"})
                    return
                try:
                    healthy, body = server.check()
                except Exception:
                    log.exception("health check failed")
                    healthy, body = False, {"error": "the health check failed"}
                self._reply(
                    200 if healthy else 503, {"status": "ok" if healthy else "error", **body}
                )

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), name="health", daemon=True
        )

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
