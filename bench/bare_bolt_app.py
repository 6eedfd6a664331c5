"""The ack-latency baseline: a bare Bolt app that acks every request with a static message."""

from __future__ import annotations

import os
import re
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

# Same wiring as the bot: token and Web API base URL from the environment (the stand-in).
app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    process_before_response=False,
)


@app.command("/cspm")
def _command(ack: Ack) -> None:
    ack("ok")


@app.action(re.compile(".*"))
def _action(ack: Ack) -> None:
    ack()


handler = SlackRequestHandler(app)


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """WSGI entry point."""
    return handler(environ, start_response)
