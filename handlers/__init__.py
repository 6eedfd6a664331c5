"""Slack listeners, thin: ack → decode → one service call → one builder → one client call.

One `register(app, ctx)` per listener kind; `register` here wires them all.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.context import SlackContext


def register(app: App, ctx: SlackContext) -> None:
    """Register every listener of the bot on `app`."""
    from handlers import actions, commands, digest, events, views

    commands.register(app, ctx)
    digest.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    events.register(app, ctx)
