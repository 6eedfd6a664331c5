"""App Home: the dashboard, published when the user opens the Home tab, and its buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import App

from bot import ids
from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners, Request
from bot.views.common import help_message
from bot.views.home import build_home
from handlers.command_parser import HELP
from handlers.commands import COMMAND, Subcommands


def publish_home(ctx: SlackContext, user_id: str) -> None:
    """Publish the dashboard to `user_id`'s App Home."""
    view = build_home(ctx.queries.home(datetime.now(UTC)))
    ctx.client.views_publish(user_id=user_id, view=view)


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register the Home tab event and the dashboard's Refresh and Help buttons."""
    on = Listeners(app, ctx)

    @on.event("app_home_opened")
    def home_opened(req: Request) -> None:
        event = req.payload
        if event.get("tab", "home") != "home":
            return
        publish_home(ctx, str(event["user"]))

    @on.action(ids.HomeAction.REFRESH)
    def home_refresh(req: Request) -> None:
        publish_home(ctx, req.origin.user_id)

    @on.action(ids.HomeAction.HELP)
    def home_help(req: Request) -> None:
        ctx.replier(req.origin).reply(help_message(COMMAND, HELP))
