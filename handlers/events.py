"""Events API: the App Home tab."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import App

from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners
from bot.views.home import build_home


def publish_home(ctx: SlackContext, user_id: str) -> None:
    """Publish the dashboard to `user_id`'s App Home."""
    view = build_home(ctx.queries.home(datetime.now(UTC)))
    ctx.client.views_publish(user_id=user_id, view=view)


def register(app: App, ctx: SlackContext) -> None:
    """Register the events the bot subscribes to."""
    on = Listeners(app, ctx)

    @on.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(ctx, str(event["user"]))
