"""The bot's Slack features, one module each: its listeners, its ``/cspm`` subcommands and
the glue between them and the services.

`register(app, ctx)` registers every feature onto an app built by `bot.slack.app.build_app`
(`bot.slackapp.create_app` does both). The serving machinery (`bot.slack`) never imports
this package.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.context import SlackContext
from handlers import (
    commands,
    connectors,
    digest,
    errorlog,
    findings,
    history,
    home,
    mutes,
    owners,
    projects,
    scans,
    subscriptions,
    support,
)
from handlers.commands import Subcommands

FEATURES = (
    projects,
    history,
    errorlog,
    findings,
    scans,
    connectors,
    support,
    home,
    digest,
    owners,
    subscriptions,
    mutes,
)
"""Every feature module but `commands` (which owns ``/cspm`` and its router)."""


def register(app: App, ctx: SlackContext) -> Subcommands:
    """Register every feature on `app`; returns the ``/cspm`` subcommand router."""
    router = commands.register(app, ctx)
    for feature in FEATURES:
        feature.register(app, ctx, router)
    return router
