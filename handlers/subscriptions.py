"""``/cspm subscribe`` and ``/cspm subscriptions``: which channels get findings alerts,
failure alerts and which projects their digest covers.

``/cspm subscribe findings [project=PATTERN] [provider=aws|azure|gcp] [severity=LEVEL]``,
``/cspm subscribe failures [project=PATTERN] [provider=…]`` and ``/cspm subscribe digest
[project=PATTERN] [provider=…]`` add a slice for the channel it is typed in (operators);
several channels can take different slices. A digest slice gives the channel a digest (daily
at 09:00) if it had none. ``/cspm subscriptions`` lists every slice with *Remove* (operators
remove; removing a channel's last digest slice stops its digest).
"""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from bot.codec import SubscriptionRef
from bot.errors import InputError
from bot.scheduling.clock import system_now
from bot.scheduling.findings_alerts import FindingsAlerts, parse_subscription
from bot.scheduling.ops import scheduling_ops
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.findings_alert import (
    build_subscribe_help,
    build_subscribe_reply,
    build_subscriptions,
)
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands


def _alerts(ctx: SlackContext) -> FindingsAlerts:
    service = ctx.rt.scheduling
    if service is not None:
        return service.findings_alerts
    return FindingsAlerts(ctx.rt.db, system_now, lambda: None)


def subscribe_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """Add this channel's slice, then confirm (usage on a mistake)."""
    replier = ctx.replier(origin)
    try:
        spec = parse_subscription(cmd.argument.split())
    except InputError as exc:
        replier.reply(build_subscribe_help(exc.message))
        return
    if not origin.channel_id:
        replier.reply(build_subscribe_help("Type `/cspm subscribe` in the channel to subscribe."))
        return
    ctx.require(origin, Role.OPERATOR, "subscribe channels to alerts")
    if spec.kind != "digest":
        info, created = _alerts(ctx).subscribe(origin.channel_id, spec, origin.actor)
        replier.reply(build_subscribe_reply(info, created))
        return
    with scheduling_ops(ctx.rt) as ops:
        info, created, digest = ops.subscribe_channel(origin.channel_id, spec, origin.actor)
    replier.reply(build_subscribe_reply(info, created, digest.next_run if digest else None))


def subscriptions_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """List every subscription, this channel's first."""
    rows = _alerts(ctx).subscriptions()
    ctx.replier(origin).reply(build_subscriptions(rows, origin.channel_id or ""))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register ``/cspm subscribe``, ``/cspm subscriptions`` and *Remove*."""
    on = Listeners(app, ctx)
    commands.add(Sub.SUBSCRIBE, subscribe_command)
    commands.add(Sub.SUBSCRIPTIONS, subscriptions_command)

    @on.action(
        ids.SubscriptionAction.REMOVE,
        value=SubscriptionRef,
        middleware=[requires(ctx, Role.OPERATOR, "remove subscriptions")],
    )
    def remove(req: Request) -> None:
        with scheduling_ops(ctx.rt) as ops:
            ops.unsubscribe_channel(req.value(SubscriptionRef).subscription_id, req.origin.actor)
        rows = _alerts(ctx).subscriptions()
        ctx.replier(req.origin).replace(build_subscriptions(rows, req.origin.channel_id or ""))
