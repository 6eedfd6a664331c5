"""`cspm-bot serve`: run the Slack bot.

- Socket Mode when `SLACK_APP_TOKEN` (``xapp-…``) is set: no public URL needed.
- Otherwise HTTP: gunicorn (threads worker) serves ``POST /slack/events`` (signed requests,
  verified with `SLACK_SIGNING_SECRET`) and ``GET /healthz`` (JSON, with a database check).

Before anything starts, the configuration is checked and the bot token is tried with
``auth.test``: a missing or rejected token gives one clear line naming what to set, never a
traceback. `SLACK_API_URL` points the Web API client elsewhere (proxies, test stand-ins).
"""

from __future__ import annotations

import json
import logging
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

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.client import api_base_url, make_web_client

if TYPE_CHECKING:
    from bot.scheduling.service import SchedulingService

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
EXIT_CONFIG = 2
EXIT_AUTH = 1
HTTP_THREADS = 16

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
    bot_token = (settings.slack_bot_token or "").strip()
    if not bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: set it to the app's Bot User OAuth Token (xoxb-…), "
            "found under OAuth & Permissions after installing the app (see manifest.yml)."
        )
    if not bot_token.startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN must be a bot token starting with xoxb- (not a user or app token)."
        )
    app_token = (settings.slack_app_token or "").strip()
    if app_token:
        if not app_token.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp- with the "
                "connections:write scope (Basic Information → App-Level Tokens)."
            )
        return "socket"
    if not (settings.slack_signing_secret or "").strip():
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it (Basic "
            "Information → Signing Secret). Or set SLACK_APP_TOKEN (xapp-…) for Socket Mode."
        )
    return "http"


def verify_token(client: WebClient, settings: Settings) -> dict[str, Any]:
    """Call auth.test; raises `ConfigError` explaining a rejected token or an unreachable API."""
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


def create_wsgi_app(rt: Runtime, bolt_app: App) -> WsgiApp:
    """The bot's WSGI app: ``POST /slack/events`` (Bolt) and ``GET /healthz``."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    slack = SlackRequestHandler(bolt_app, path=EVENTS_PATH)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return _json(start_response, "405 Method Not Allowed", {"error": "use GET"})
            if database_ok(rt):
                return _json(start_response, "200 OK", {"status": "ok", "database": "ok"})
            return _json(
                start_response,
                "503 Service Unavailable",
                {"status": "error", "database": "unreachable"},
            )
        if path == EVENTS_PATH:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
            return slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return app


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


def run_socket_mode(rt: Runtime, client: WebClient, stop: threading.Event) -> int:
    """Serve over Socket Mode until `stop` is set; returns the exit code."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.scheduling import start_scheduling
    from bot.slack.app import build_app, context_of

    app = build_app(rt, client, request_verification_enabled=False)
    handler = SocketModeHandler(app, app_token=rt.settings.slack_app_token)
    scheduling = start_scheduling(rt, client)
    try:
        try:
            handler.connect()
        except SlackApiError as exc:
            error = exc.response.get("error")
            print(
                f"error: Slack rejected SLACK_APP_TOKEN ({error}): create an app-level token "
                "with the connections:write scope (Basic Information → App-Level Tokens) and "
                "enable Socket Mode for the app.",
                file=sys.stderr,
            )
            return EXIT_AUTH
        print("cspm-bot: connected to Slack in Socket Mode; Ctrl-C stops.", file=sys.stderr)
        stop.wait()
        return 0
    finally:
        scheduling.stop()
        handler.close()
        context_of(app).close()


def _serve_socket_mode(rt: Runtime, client: WebClient) -> int:
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        return run_socket_mode(rt, client, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Gunicorn:
    """gunicorn embedded: one worker process with threads; the runtime is built in the
    worker (the engine's threads do not survive a fork)."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        from gunicorn.app.base import BaseApplication

        outer = self

        class Application(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                options = {
                    "bind": f"{host}:{port}",
                    "workers": 1,
                    "worker_class": "gthread",
                    "threads": HTTP_THREADS,
                    "timeout": 60,
                    "graceful_timeout": 20,
                    "keepalive": 5,
                    "loglevel": settings.log_level.lower(),
                    "accesslog": None,
                    "proc_name": "cspm-bot",
                    "worker_exit": outer.worker_exit,
                }
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self) -> WsgiApp:
                return outer.load()

        self.settings = settings
        self.application = Application()
        self.runtime: Runtime | None = None
        self.bolt_app: App | None = None
        self.scheduling: SchedulingService | None = None

    def load(self) -> WsgiApp:
        """Build the runtime, the Bolt app and the WSGI app inside the worker."""
        from bot.slack.app import build_app

        # Hand the GIL over more often than the default 5 ms so a request thread that only
        # has to ack is not held up behind post-ack work (queries, builders, Slack calls).
        sys.setswitchinterval(0.001)
        from bot.scheduling import start_scheduling

        self.runtime = build_runtime(self.settings, migrate=False)
        client = make_web_client(self.settings)
        self.bolt_app = build_app(self.runtime, client)
        self.scheduling = start_scheduling(self.runtime, client)
        return create_wsgi_app(self.runtime, self.bolt_app)

    def worker_exit(self, server: Any, worker: Any) -> None:
        """Stop the worker's progress updates, background work and engine cleanly."""
        from bot.slack.app import context_of

        if self.scheduling is not None:
            self.scheduling.stop()
        if self.bolt_app is not None:
            context_of(self.bolt_app).close()
        if self.runtime is not None:
            self.runtime.close()

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code."""
        try:
            self.application.run()
        except SystemExit as exc:
            return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
        return 0


def serve(rt: Runtime, port: int = 3000, host: str = "0.0.0.0") -> int:  # noqa: S104
    """Check the configuration and the token, then serve until stopped; returns an exit code."""
    settings = rt.settings
    try:
        mode = check_config(settings)
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
    if mode == "socket":
        return _serve_socket_mode(rt, client)
    # HTTP: gunicorn forks its worker; stop this process's engine and pool first.
    rt.engine.shutdown(wait_for_scans=False)
    rt.db.dispose()
    print(
        f"cspm-bot: serving Slack requests on http://{host}:{port}{EVENTS_PATH} "
        f"(health: {HEALTH_PATH})",
        file=sys.stderr,
    )
    return _Gunicorn(settings, host, port).run()
