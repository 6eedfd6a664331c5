"""``/cspm digest …``: subscribe a channel to the failure digest, unsubscribe, list, send now.

The feature registers its subcommand with the ``/cspm`` router (`register`); the words are
parsed by the shared command parser (`handlers.command_parser.parse_digest`):
``subscribe daily HH:MM [tz] [quiet]`` · ``subscribe weekly DOW HH:MM [tz] [quiet]`` ·
``unsubscribe`` · ``list`` · ``now`` · ``help``. ``quiet`` (or ``no-all-clear``): no message
for a period without failures. The digest's own buttons reuse the history, error log,
connector and support actions.

- `digest_command(ctx, origin, cmd)` is the subcommand's handler (checks the operator role
  for changes, then replies ephemerally or posts the digest in the channel);
- `handle_digest_command(rt, text, channel_id, user_id)` is the Slack-free core: it returns
  the message payload with ``response_type`` ``"ephemeral"`` or ``"in_channel"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.errors import InputError, PermissionDeniedError
from bot.runtime import Runtime
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.cron import parse_digest_schedule
from bot.scheduling.ops import scheduling_ops
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.common import slack_date
from bot.views.digest import (
    build_digest_help,
    build_subscription_list,
    build_subscription_reply,
    build_unsubscribe_reply,
)
from handlers.command_parser import (
    DigestCommand,
    DigestVerb,
    ParsedCommand,
    Sub,
    UsageError,
    parse_digest,
)
from handlers.commands import Subcommands

Authorize = Callable[[str], None]
"""Raises PermissionDeniedError unless the caller may do `what` (operators only)."""


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


def digest_needs_operator(text: str) -> bool:
    """True when the command changes something (the dispatcher may check roles first)."""
    try:
        return parse_digest(text).verb.changes
    except UsageError:
        return False


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
    try:
        cmd = parse_digest(text)
        if cmd.verb.changes:
            check("manage failure digests")
        return _run(rt, cmd, channel_id, user_id)
    except InputError as exc:
        return _ephemeral(build_digest_help(exc.message))


def _run(rt: Runtime, cmd: DigestCommand, channel_id: str, user_id: str) -> dict[str, Any]:
    if cmd.verb is DigestVerb.HELP:
        return _ephemeral(build_digest_help())
    if cmd.verb is DigestVerb.SUBSCRIBE:
        return _subscribe(rt, cmd, channel_id, user_id)
    if cmd.verb is DigestVerb.UNSUBSCRIBE:
        with scheduling_ops(rt) as ops:
            removed = ops.unsubscribe_digest(channel_id)
        return _ephemeral(build_unsubscribe_reply(channel_id, removed is not None))
    if cmd.verb is DigestVerb.LIST:
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
    with scheduling_ops(rt) as ops:  # DigestVerb.NOW
        _data, payload = ops.digests.on_demand(channel_id)
    return {"response_type": "in_channel", **payload}


def _subscribe(rt: Runtime, cmd: DigestCommand, channel_id: str, user_id: str) -> dict[str, Any]:
    config = SchedulingConfig.from_settings(rt.settings)
    schedule = parse_digest_schedule(list(cmd.schedule), config.digest_default_timezone)
    with scheduling_ops(rt) as ops:
        view, replaced = ops.subscribe_digest(
            channel_id, schedule, all_clear=not cmd.quiet, actor=f"slack:{user_id}"
        )
    next_run = slack_date(view.next_run) if view.next_run else None
    return _ephemeral(
        build_subscription_reply(channel_id, schedule.label, not cmd.quiet, next_run, replaced)
    )


def digest_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm digest …``: role check for changes, then the reply (or the digest, posted)."""

    def authorize(what: str) -> None:
        ctx.require(origin, Role.OPERATOR, what)

    payload = handle_digest_command(
        ctx.rt, cmd.argument, origin.channel_id or "", origin.user_id, authorize=authorize
    )
    kind = payload.pop("response_type", "ephemeral")
    replier = ctx.replier(origin)
    if kind == "in_channel" and origin.channel_id:
        replier.post(origin.channel_id, payload)
    else:
        replier.reply(payload)


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register ``/cspm digest``."""
    commands.add(Sub.DIGEST, digest_command)
