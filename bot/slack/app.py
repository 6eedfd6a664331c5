"""The Bolt app factory: the serving machinery, without any listener.

`build_app(rt)` returns a `slack_bolt.App` that serves both HTTP (signed requests) and Socket
Mode, with its global middleware (the workspace guard) and the one error handler. The
listeners are not registered here: the features in `handlers/` register themselves onto the
app (`handlers.register`), and the entry points build the app through `bot.app.create_app`,
which does both. Every listener is an ack function plus a work function
(`bot.slack.listeners`): Bolt
runs with ``process_before_response=True``, so the ack function answers in the request's own
thread, and the work runs after it (`bot.slack.work`): on a pool of this process, or, given a
`relay`, in the worker process of `cspm-bot serve` (`bot.slack.worker`).
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.slack import failures
from bot.slack.client import make_web_client
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.permissions import Permissions
from bot.slack.progress import MIN_INTERVAL, ProgressTracker
from bot.slack.queries import Queries
from bot.slack.work import LocalWorkRunner, Relay, skip_work
from bot.views.scanprogress import build_scan_progress

log = logging.getLogger("bot.slack")

BACKGROUND_THREADS = 16
_JSON = {"content-type": ["application/json;charset=utf-8"]}

_contexts: weakref.WeakKeyDictionary[App, SlackContext] = weakref.WeakKeyDictionary()


def context_of(app: App) -> SlackContext:
    """The `SlackContext` of an app built by `build_app`."""
    return _contexts[app]


def _team_of(body: dict[str, Any]) -> str | None:
    """The workspace a request comes from: ``team_id`` (slash commands, events), ``team.id``
    (interactions), or the user's team."""
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    if not team and isinstance(body.get("user"), dict):
        team = body["user"].get("team_id")
    return str(team) if team else None


PROTOCOL_TYPES = frozenset({"url_verification", "ssl_check", "app_rate_limited"})
"""Slack's own protocol messages: they carry no workspace, and no user acts in them."""

REFUSAL = "This CSPM bot serves another Slack workspace; it cannot act for yours."


def workspace_guard(
    team_id: str | None, tell: Callable[[Origin, dict[str, Any]], Any] | None = None
) -> Callable[..., Any]:
    """Global middleware: refuse requests from any workspace other than `team_id`, and
    requests that name no workspace at all (Slack's protocol messages excepted).

    A refused slash command gets the refusal as its ephemeral answer, a refused view
    submission as an error view in the modal; a refused block action is told with
    ``tell(origin, message)`` after the ack, through the interaction's response_url alone (no
    Web API call is made for another workspace).
    """

    def guard(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        team = _team_of(body)
        if not team_id or team == team_id:
            return next()
        kind = str(body.get("type") or "")
        if team is None and kind in PROTOCOL_TYPES:
            if kind == "app_rate_limited":
                log.warning("Slack is rate-limiting the events sent to this app: %s", body)
                return BoltResponse(status=200, body="")
            return next()
        log.warning(
            "refused a request from workspace %s (this bot serves %s)", team or "(none)", team_id
        )
        if "command" in body:
            return BoltResponse(
                status=200,
                body={"response_type": "ephemeral", "text": REFUSAL},
                headers=dict(_JSON),
            )
        origin = Origin.from_body(body)
        if kind == "view_submission":
            ack = failures.submission_ack(failures.Failure(REFUSAL), origin)
            return BoltResponse(status=200, body=json.dumps(ack), headers=dict(_JSON))
        if kind == "block_actions" and origin.response_url and tell is not None:
            tell(origin, failures.message_for(failures.Failure(REFUSAL)))
        return BoltResponse(status=200, body="")

    return guard


def _error_handler(ctx: SlackContext) -> Callable[..., Any]:
    """Bolt's one error handler: errors raised before the ack (middleware, an ack function)."""

    def on_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None, context: Any
    ) -> None:
        origin = Origin.from_body(body)
        if context is not None:
            skip_work(context)  # the ack tells what went wrong; nothing else must happen
        if response is None:
            ctx.report(error, origin)
            return
        response.status = 200
        response.headers = dict(_JSON)
        if origin.kind == "view_submission":
            # The answer is the ack itself: inline errors, or an error view in the modal.
            response.body = failures.submission_ack_json(error, origin)
        else:
            response.body = ""
            ctx.report_later(origin, error)

    return on_error


def build_app(
    rt: Runtime,
    client: WebClient | None = None,
    *,
    token_verification_enabled: bool = True,
    request_verification_enabled: bool = True,
    background: Executor | None = None,
    relay: Relay | None = None,
    progress_interval: float = MIN_INTERVAL,
) -> App:
    """The Bolt app of the bot, wired to `rt`.

    `client` defaults to one built from the settings (bot token, SLACK_API_URL, 429 retries).
    Socket Mode passes ``request_verification_enabled=False`` (its requests are not signed),
    and so does the worker process (its requests come from the serving process).
    Work functions run on `background` (a pool of this process; tests pass one they can
    wait on), or, given `relay`, in the worker process (`bot.slack.worker`): that is how
    `cspm-bot serve` runs, so the serving process only acks.
    Failure alerts come from the scheduling service (`bot.scheduling`), which the process
    that runs the work starts.
    """
    settings = rt.settings
    client = client or make_web_client(settings)
    _quiet_token_notice()
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=token_verification_enabled,
        request_verification_enabled=request_verification_enabled,
        process_before_response=True,
        name="cspm-bot",
    )
    queries = Queries(rt)
    progress = ProgressTracker(
        client,
        render=lambda scan_id: build_scan_progress(queries.scan_progress(scan_id)),
        min_interval=progress_interval,
    )
    ctx = SlackContext(
        rt=rt,
        client=client,
        permissions=Permissions(client, settings.operators, settings.admins),
        queries=queries,
        progress=progress,
        background=background
        or ThreadPoolExecutor(BACKGROUND_THREADS, thread_name_prefix="cspm-slack-work"),
        relay=relay,
    )
    rt.engine.add_listener(progress.on_event)
    _contexts[app] = ctx

    app.listener_runner.lazy_listener_runner = LocalWorkRunner(app.logger, ctx.background)

    def tell(origin: Origin, message: dict[str, Any]) -> None:
        ctx.background.submit(ctx.replier(origin).respond, message)

    app.use(workspace_guard(settings.slack_team_id, tell))
    app.error(_error_handler(ctx))
    return app


class _TokenNoticeFilter(logging.Filter):
    """Drops Bolt's "As you gave `client` as well, `token` will be unused": the bot always
    passes its own client, and Bolt reads SLACK_BOT_TOKEN from the environment regardless."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _quiet_token_notice() -> None:
    bolt_log = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _TokenNoticeFilter) for f in bolt_log.filters):
        bolt_log.addFilter(_TokenNoticeFilter())
