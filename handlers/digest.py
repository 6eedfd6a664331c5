"""``/cspm digest …``: subscribe a channel to the failure digest, unsubscribe, list, send now.

The ``/cspm`` dispatcher (handlers/commands.py) routes the ``digest`` subcommand here:

- `run_digest_command(ctx, origin, text)` is the drop-in subcommand handler (checks the
  operator role for changes, then replies ephemerally or posts the digest in the channel);
- `handle_digest_command(rt, text, channel_id, user_id)` is the Slack-free core: it returns
  the message payload with ``response_type`` ``"ephemeral"`` or ``"in_channel"``.

Words (after an optional leading ``digest``):
``subscribe daily HH:MM [tz] [quiet]`` · ``subscribe weekly DOW HH:MM [tz] [quiet]`` ·
``unsubscribe`` · ``list`` · ``now`` · ``help``. ``quiet`` (or ``no-all-clear``): no message
for a period without failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.errors import InputError, PermissionDeniedError
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.cron import parse_digest_schedule
from bot.scheduling.ops import scheduling_ops
from bot.views.common import slack_date
from bot.views.digest import (
    build_digest_help,
    build_subscription_list,
    build_subscription_reply,
    build_unsubscribe_reply,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

Authorize = Callable[[str], None]
"""Raises PermissionDeniedError unless the caller may do `what` (operators only)."""

QUIET_WORDS = frozenset({"quiet", "no-all-clear", "noallclear", "silent"})
CHANGES = frozenset({"subscribe", "unsubscribe", "now"})
VERBS = ("subscribe", "unsubscribe", "list", "now", "help")


def _settings_authorize(rt: Runtime, user_id: str) -> Authorize:
    """Without the Slack permissions object: users listed in CSPM_OPERATORS / CSPM_ADMINS."""

    def check(what: str) -> None:
        allowed = set(rt.settings.operators) | set(rt.settings.admins)
        if user_id not in allowed:
            raise PermissionDeniedError(
                f"Only CSPM operators may {what}. Ask an admin to add you to CSPM_OPERATORS."
            )

    return check


def _ephemeral(payload: dict[str, Any]) -> dict[str, Any]:
    return {"response_type": "ephemeral", **payload}


def _words(text: str) -> list[str]:
    words = (text or "").split()
    if words and words[0].lower() == "digest":
        words = words[1:]
    return words


def digest_needs_operator(text: str) -> bool:
    """True when the command changes something (the dispatcher may check roles first)."""
    words = _words(text)
    return bool(words) and words[0].lower() in CHANGES


def handle_digest_command(
    rt: Runtime,
    text: str,
    channel_id: str,
    user_id: str,
    *,
    authorize: Authorize | None = None,
) -> dict[str, Any]:
    """Run one ``/cspm digest`` command; returns the reply with its ``response_type``.

    Mistyped commands come back as an ephemeral usage reply. `PermissionDeniedError` (from
    `authorize`) propagates to the app's error handler.
    """
    check = authorize or _settings_authorize(rt, user_id)
    words = _words(text)
    verb = words[0].lower() if words else "help"
    try:
        if verb in ("help", "?", "usage"):
            return _ephemeral(build_digest_help())
        if verb in CHANGES:
            check("manage failure digests")
        if verb == "subscribe":
            return _subscribe(rt, words[1:], channel_id, user_id)
        if verb in ("unsubscribe", "stop", "off"):
            with scheduling_ops(rt) as ops:
                removed = ops.unsubscribe_digest(channel_id)
            return _ephemeral(build_unsubscribe_reply(channel_id, removed is not None))
        if verb in ("list", "ls"):
            with scheduling_ops(rt) as ops:
                views = ops.list_subscriptions()
            rows = [
                (
                    v.subscription.channel_id,
                    v.subscription.schedule.label,
                    v.subscription.all_clear,
                    slack_date(v.next_run) if v.next_run else None,
                )
                for v in views
            ]
            return _ephemeral(build_subscription_list(rows, channel_id))
        if verb == "now":
            with scheduling_ops(rt) as ops:
                _data, payload = ops.digests.on_demand(channel_id)
            return {"response_type": "in_channel", **payload}
        raise InputError(f"Unknown digest command {verb!r}: use {', '.join(VERBS)}.")
    except InputError as exc:
        return _ephemeral(build_digest_help(exc.message))


def _subscribe(rt: Runtime, words: list[str], channel_id: str, user_id: str) -> dict[str, Any]:
    quiet = [w for w in words if w.lower() in QUIET_WORDS]
    rest = [w for w in words if w.lower() not in QUIET_WORDS]
    config = SchedulingConfig.from_settings(rt.settings)
    schedule = parse_digest_schedule(rest, config.digest_default_timezone)
    with scheduling_ops(rt) as ops:
        view, replaced = ops.subscribe_digest(
            channel_id, schedule, all_clear=not quiet, actor=f"slack:{user_id}"
        )
    next_run = slack_date(view.next_run) if view.next_run else None
    return _ephemeral(
        build_subscription_reply(channel_id, schedule.label, not quiet, next_run, replaced)
    )


def run_digest_command(ctx: Any, origin: Any, text: str) -> None:
    """The ``/cspm digest`` subcommand for the dispatcher: role check, then the reply.

    `ctx` is the app's `SlackContext` and `origin` the command's `Origin`.
    """
    from bot.slack.permissions import Role

    def authorize(what: str) -> None:
        ctx.require(origin, Role.OPERATOR, what)

    payload = handle_digest_command(
        ctx.rt, text, origin.channel_id or "", origin.user_id, authorize=authorize
    )
    kind = payload.pop("response_type", "ephemeral")
    replier = ctx.replier(origin)
    if kind == "in_channel" and origin.channel_id:
        replier.post(origin.channel_id, payload)
    else:
        replier.reply(payload)


def register(app: Any, ctx: Any) -> None:
    """Nothing to register: ``/cspm digest`` arrives through the ``/cspm`` listener, and the
    digest's buttons reuse the history, error log, connector and support actions."""
