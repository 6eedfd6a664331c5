"""The bot's Slack app: the serving machinery with every feature registered onto it.

`bot.slack.app.build_app` builds the Bolt app (middleware, error handler, ack/work plumbing)
and knows nothing of the features; `handlers.register` registers every feature's listeners.
`create_app` does both, for every entry point: `cspm-bot serve` (its serving process and its
worker process, which must know the same work functions by name), the tests and the
benchmarks.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

import handlers
from bot.runtime import Runtime
from bot.slack.app import build_app, context_of


def create_app(rt: Runtime, client: WebClient | None = None, **options: Any) -> App:
    """The Bolt app of the bot with every handler registered; `options` go to `build_app`."""
    app = build_app(rt, client, **options)
    handlers.register(app, context_of(app))
    return app
