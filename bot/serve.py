"""`cspm-bot serve`: run the Slack bot.

- Socket Mode when `SLACK_APP_TOKEN` (``xapp-…``) is set: no public URL needed.
  `CSPM_SOCKET_CONNECTIONS` connections (default 2) are kept open by `bot.slack.socket`, so a
  refreshed or dropped one never leaves the bot deaf; ``--health-port`` serves ``/healthz``.
- Otherwise HTTP: granian (a Rust HTTP server, WSGI) serves ``POST /slack/events`` (signed requests,
  verified with `SLACK_SIGNING_SECRET`) and ``GET /healthz`` (JSON: the database and the
  worker process).

Either way the process that talks to Slack only verifies, acks and relays: everything after
the ack (queries, replies, scans, progress messages, the scheduler) runs in the worker process
it starts (`bot.slack.worker`), so an ack never waits behind other requests' work.

Before anything starts, the configuration is checked and the bot token is tried with
``auth.test``: a missing or rejected token gives one clear line naming what to set, never a
traceback. `SLACK_API_URL` points the Web API client elsewhere (proxies, test stand-ins).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import text

from bot.lifetime import (
    PortInUseError,
    announce_when_listening,
    check_port_free,
    die_with_parent,
)
from bot.runtime import Runtime, build_runtime
from bot.services.keys import KeyUse
from bot.settings import Settings, reveal
from bot.slack.client import api_base_url, make_web_client

if TYPE_CHECKING:
    from bot.distributed.serving import QueueFront
    from bot.slack.socket import SocketModeRunner
    from bot.slack.work import Relay
    from bot.slack.worker import WorkerProcess

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
EXIT_CONFIG = 2
EXIT_AUTH = 1
EXIT_PORT_IN_USE = 2
HTTP_THREADS = max(4, min(16, 2 * (os.cpu_count() or 1) + 1))
"""Python threads running acks (granian's blocking threads): the GIL runs one at a time."""

_AUTH_HINTS = {
    "invalid_auth": "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions "
    "page into SLACK_BOT_TOKEN",
    "not_authed": "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-…)",
    "token_revoked": "the token was revoked: reinstall the app and copy the new Bot User OAuth "
    "Token into SLACK_BOT_TOKEN",
    "account_inactive": "the app was uninstalled or its user deactivated: reinstall the app and "
    "copy the new Bot User OAuth Token into SLACK_BOT_TOKEN",
    "token_expired": "the token expired: reinstall the app (or turn off token rotation) and copy "
    "the new token into SLACK_BOT_TOKEN",
}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ConfigError(Exception):
    """The configuration cannot work; the message names what to set."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def check_config(settings: Settings) -> str:
    """The serving mode ("socket" or "http"); raises `ConfigError` naming what to set."""
    bot_token = reveal(settings.slack_bot_token)
    if not bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: set it to the app's Bot User OAuth Token (xoxb-…), "
            "found under OAuth & Permissions after installing the app (see manifest.yml)."
        )
    if not bot_token.startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN must be a bot token starting with xoxb- (not a user or app token)."
        )
    app_token = reveal(settings.slack_app_token)
    if app_token:
        if not app_token.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp- with the "
                "connections:write scope (Basic Information → App-Level Tokens)."
            )
        return "socket"
    if not reveal(settings.slack_signing_secret):
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it (Basic "
            "Information → Signing Secret). Or set SLACK_APP_TOKEN (xapp-…) for Socket Mode."
        )
    return "http"


def verify_token(client: WebClient, settings: Settings) -> dict[str, Any]:
    """Call auth.test; raises `ConfigError` explaining a rejected token or an unreachable API."""
    sdk_log = logging.getLogger("slack_sdk")
    level = sdk_log.level
    sdk_log.setLevel(logging.CRITICAL)  # our own message below says what went wrong
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "unknown_error")
        hint = _AUTH_HINTS.get(error, "check SLACK_BOT_TOKEN")
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({error}): {hint}.", EXIT_AUTH) from None
    except (URLError, OSError, TimeoutError) as exc:
        raise ConfigError(
            f"Cannot reach the Slack API at {api_base_url(settings)} ({exc}). Check network "
            "access, proxies and SLACK_API_URL.",
            EXIT_AUTH,
        ) from None
    finally:
        sdk_log.setLevel(level)
    team = str(response.get("team_id") or "")
    if settings.slack_team_id and team and team != settings.slack_team_id:
        raise ConfigError(
            f"SLACK_BOT_TOKEN belongs to workspace {team}, but CSPM_SLACK_TEAM_ID is "
            f"{settings.slack_team_id}: use the token of that workspace or fix the setting."
        )
    return dict(response.data) if isinstance(response.data, dict) else {}


# --------------------------------------------------------------------------------------------
# The WSGI app
# --------------------------------------------------------------------------------------------


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def database_ok(rt: Runtime) -> bool:
    """True if the database answers a trivial query."""
    try:
        with rt.db.read() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        log.exception("health check: the database does not answer")
        return False


def broker_health(report: dict[str, Any]) -> bool:
    """True when the broker part of a health report is healthy (the broker answers).

    Workers seen are reported but do not make a replica unhealthy: restarting it would not
    bring a worker back, and it still acks and enqueues."""
    return report.get("broker") == "ok"


def create_wsgi_app(
    rt: Runtime,
    bolt_app: App,
    worker: WorkerProcess | None = None,
    broker: Callable[[], dict[str, Any]] | None = None,
) -> WsgiApp:
    """The bot's WSGI app: ``POST /slack/events`` (Bolt) and ``GET /healthz``.

    With `worker` (the process that runs the work after each ack), health also reports
    whether it is up: Slack requests are still acked while it restarts, but not answered.
    Requests to ``/slack/events`` pass `bot.slack.front.SlackFront` first: oversized, malformed
    and unsigned ones are refused (4xx, one rate-limited log line) before Bolt sees them.
    With `broker` (a broker is configured), health reports the broker and the workers seen.
    """
    from bot.slack.front import SlackFront

    slack = SlackFront(
        bolt_app, reveal(rt.settings.slack_signing_secret), rt.settings.max_request_bytes
    )

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        slack.refusals.tick()  # the pending "suppressed" summary of refused requests, if due
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return _json(start_response, "405 Method Not Allowed", {"error": "use GET"})
            health: dict[str, Any] = {"database": "ok" if database_ok(rt) else "unreachable"}
            if worker is not None:
                health["worker"] = "ok" if worker.alive() else "down"
            healthy = all(v == "ok" for v in health.values())
            if broker is not None:
                report = broker()
                health.update(report)
                healthy = healthy and broker_health(report)
            status = "200 OK" if healthy else "503 Service Unavailable"
            return _json(start_response, status, {"status": "ok" if healthy else "error", **health})
        if path == EVENTS_PATH:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
            return slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return app


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


def start_worker(settings: Settings) -> WorkerProcess:
    """Start the worker process (`bot.slack.worker`); raises `ConfigError` if it fails."""
    from bot.slack.worker import WorkerError, WorkerProcess
    from bot.slackapp import create_app

    worker = WorkerProcess(settings, create_app)
    try:
        worker.start()
    except WorkerError as exc:
        raise ConfigError(f"{exc}. The log above says more.", EXIT_AUTH) from None
    return worker


def run_socket_mode(
    rt: Runtime,
    client: WebClient,
    stop: threading.Event,
    health_port: int | None = None,
    health_host: str = "0.0.0.0",  # noqa: S104 - orchestrators probe from outside
) -> int:
    """Serve over Socket Mode until `stop` is set; returns the exit code.

    `rt` serves the acks; the work after them runs in the worker process. The connections
    (`CSPM_SOCKET_CONNECTIONS`) are kept by `bot.slack.socket.SocketModeRunner`; with
    `health_port`, ``GET /healthz`` on that port reports them, the worker and the database.
    """
    from bot.slack.app import context_of
    from bot.slack.socket import HealthServer, SocketModeError, SocketModeRunner
    from bot.slackapp import create_app

    worker: WorkerProcess | None = None
    queue: QueueFront | None = None
    if rt.settings.distributed:
        from bot.distributed.serving import start_front

        queue = start_front(rt, client)
        relay: Relay = queue.relay
    else:
        print("cspm-bot: starting worker…", file=sys.stderr, flush=True)
        try:
            worker = start_worker(rt.settings)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        relay = worker
    app = create_app(rt, client, request_verification_enabled=False, relay=relay)
    runner = SocketModeRunner(
        app,
        app_token=_app_token(rt.settings),
        client=client,
        connections=rt.settings.socket_connections,
        ack_threads=HTTP_THREADS,
    )
    health: HealthServer | None = None
    gc.freeze()  # as in HTTP mode (`http_front`)
    try:
        try:
            runner.start()
        except SlackApiError as exc:
            error = exc.response.get("error")
            print(
                f"error: Slack rejected SLACK_APP_TOKEN ({error}): create an app-level token "
                "with the connections:write scope (Basic Information → App-Level Tokens) and "
                "enable Socket Mode for the app.",
                file=sys.stderr,
            )
            return EXIT_AUTH
        except SocketModeError as exc:
            print(f"error: {exc}.", file=sys.stderr)
            return EXIT_AUTH
        if health_port is not None:
            health = HealthServer(
                lambda: socket_health(rt, worker, runner, queue), health_port, health_host
            )
            health.start()
        print(
            f"cspm-bot: connected to Slack in Socket Mode ({runner.connections} connection(s)"
            + (f"; health: http://{health_host}:{health.port}{HEALTH_PATH}" if health else "")
            + "); Ctrl-C stops.",
            file=sys.stderr,
        )
        stop.wait()
        return 0
    finally:
        if health is not None:
            health.close()
        runner.close()
        if worker is not None:
            worker.close()
        if queue is not None:
            queue.close()
        context_of(app).close()


def _app_token(settings: Settings) -> str:
    return reveal(settings.slack_app_token)


def socket_health(
    rt: Runtime,
    worker: WorkerProcess | None,
    runner: SocketModeRunner,
    queue: QueueFront | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Socket Mode's health: healthy while at least one connection is open, the worker runs
    (or, with a broker, the broker answers) and the database answers."""
    connections = runner.status()
    report: dict[str, Any] = {
        "connections": connections,
        "database": "ok" if database_ok(rt) else "unreachable",
    }
    healthy = connections["open"] > 0 and report["database"] == "ok"
    if worker is not None:
        report["worker"] = "ok" if worker.alive() else "down"
        healthy = healthy and report["worker"] == "ok"
    if queue is not None:
        broker = queue.report()
        report.update(broker)
        healthy = healthy and broker_health(broker)
    return healthy, report


def _serve_socket_mode(
    rt: Runtime, client: WebClient, health_port: int | None, health_host: str
) -> int:
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        return run_socket_mode(rt, client, stop, health_port, health_host)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def http_front(settings: Settings, parent_pid: int | None = None) -> WsgiApp:
    """The WSGI app of HTTP mode, built inside granian's worker process: the acking side,
    and the bot's worker process it relays to. Both are closed when that process exits,
    which it does when `parent_pid` (the `cspm-bot serve` master) exits, even killed."""
    from multiprocessing.util import Finalize

    from bot.logs import configure_logging
    from bot.slack.app import context_of
    from bot.slackapp import create_app

    configure_logging(settings.log_level)
    if parent_pid is not None:
        die_with_parent(parent_pid)
    if settings.distributed:
        return _queue_front(settings)
    try:
        worker = start_worker(settings)
    except ConfigError as exc:
        log.error("%s", exc)
        raise
    rt = build_runtime(settings, migrate=False, recover=False, key_use=KeyUse.LOAD)
    bolt_app = create_app(rt, make_web_client(settings), relay=worker)

    def close() -> None:
        worker.close()  # hands over queued work and lets the worker finish it
        context_of(bolt_app).close()
        rt.close()

    # granian's workers are multiprocessing children: they run these finalizers, not atexit.
    Finalize(bolt_app, close, exitpriority=10)
    # Startup built a large, long-lived heap (SDKs, Bolt, SQLAlchemy): keep it out of
    # the garbage collector's way, or a full collection stalls every ack in flight.
    gc.freeze()
    return create_wsgi_app(rt, bolt_app, worker)


def _queue_front(settings: Settings) -> WsgiApp:
    """HTTP mode with a broker: ack, enqueue on queue ``slack``, run the scheduler."""
    from multiprocessing.util import Finalize

    from bot.distributed.serving import start_front
    from bot.slack.app import context_of
    from bot.slackapp import create_app

    rt = build_runtime(settings, migrate=False, recover=False, key_use=KeyUse.LOAD)
    client = make_web_client(settings)
    queue = start_front(rt, client)
    bolt_app = create_app(rt, client, relay=queue.relay)

    def close() -> None:
        queue.close()
        context_of(bolt_app).close()
        rt.close()

    Finalize(bolt_app, close, exitpriority=10)
    gc.freeze()
    return create_wsgi_app(rt, bolt_app, broker=queue.report)


def serve_http(settings: Settings, host: str, port: int) -> int:
    """Serve ``POST /slack/events`` and ``/healthz`` with granian until SIGTERM/SIGINT.

    granian parses HTTP in Rust and calls the WSGI app from a few Python threads: the ack
    path spends its time in Bolt and the bot, not in the server (see the ack-latency
    benchmark). One worker process; a failed one is started again.
    """
    from functools import partial

    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    level = settings.log_level.lower()
    server = Granian(
        "bot.serve:http_front",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        websockets=False,
        workers=1,
        blocking_threads=HTTP_THREADS,
        log_level=LogLevels(level) if level in LogLevels.__members__ else LogLevels.info,
        # granian's own records go through the bot's (redacting) root handler
        log_dictconfig={
            "loggers": {
                "_granian": {"handlers": [], "propagate": True},
                "granian.access": {"handlers": [], "propagate": True},
            }
        },
        respawn_failed_workers=True,
        workers_kill_timeout=30,
    )
    server.serve(target_loader=partial(http_front, settings, os.getpid()), wrap_loader=False)
    return 0


def _check_port(host: str, port: int | None) -> None:
    """Refuse a port another server (another `serve`, maybe) already listens on: granian
    binds with SO_REUSEPORT, which would otherwise start this one beside it."""
    if port is None:
        return
    try:
        check_port_free(host, port)
    except PortInUseError as exc:
        raise ConfigError(str(exc), EXIT_PORT_IN_USE) from None


def preflight(
    settings: Settings,
    host: str,
    port: int,
    health_port: int | None = None,
    no_worker: bool = False,
) -> int:
    """What `serve` checks before anything opens the database: the settings and the port
    (HTTP mode's, or Socket Mode's health port). 0 when it may start; otherwise one line on
    stderr and the exit code."""
    try:
        _check_no_worker(settings, no_worker)
        mode = check_config(settings)
        _check_port(host, port if mode == "http" else health_port)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _check_no_worker(settings: Settings, no_worker: bool) -> None:
    if no_worker and not settings.distributed:
        raise ConfigError(
            "--no-worker needs CSPM_BROKER_URL: without a broker nobody else would run "
            "the work, so serve runs it in its own worker process."
        )


def serve(
    rt: Runtime,
    port: int = 3000,
    host: str = "0.0.0.0",  # noqa: S104
    health_port: int | None = None,
    no_worker: bool = False,
) -> int:
    """Check the configuration and the token, then serve until stopped; returns an exit code.

    `health_port` (Socket Mode only) serves ``GET /healthz`` on that port; HTTP mode serves it
    beside ``/slack/events``. With a broker (`CSPM_BROKER_URL`) the work goes to the queue;
    unless `no_worker`, a ``cspm-bot worker`` is started beside this process."""
    settings = rt.settings
    try:
        _check_no_worker(settings, no_worker)
        mode = check_config(settings)
        _check_port(host, port if mode == "http" else health_port)
        client = make_web_client(settings)
        identity = verify_token(client, settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    log.info(
        "authenticated as %s in workspace %s (%s mode)",
        identity.get("user"),
        identity.get("team_id"),
        mode,
    )
    local = None
    if settings.distributed and not no_worker:
        from bot.distributed.serving import LocalWorkers

        local = LocalWorkers()
        local.start()
    try:
        if mode == "socket":
            return _serve_socket_mode(rt, client, health_port, host)
        # HTTP: granian forks its worker; stop this process's engine and pool first.
        rt.engine.shutdown(wait_for_scans=False)
        rt.db.dispose()
        if not settings.distributed:
            print("cspm-bot: starting worker…", file=sys.stderr, flush=True)
        announce_when_listening(
            host,
            port,
            f"cspm-bot: serving Slack requests on http://{host}:{port}{EVENTS_PATH} "
            f"(health: {HEALTH_PATH})"
            + ("; work goes to the broker's queues" if settings.distributed else ""),
        )
        return serve_http(settings, host, port)
    finally:
        if local is not None:
            local.close()
