"""The ack-latency baseline: a bare Bolt app that acks every request with a static message.

Served over HTTP by granian (`application`), or over Socket Mode with slack_bolt's default
Socket Mode handler (``python -m bench.bare_bolt_app socket``, with ``SLACK_APP_TOKEN``).
"""

from __future__ import annotations

import os
import re
import sys
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


def serve_socket_mode() -> None:
    """Serve over Socket Mode with Bolt's default handler until terminated."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"]).start()


if __name__ == "__main__" and sys.argv[1:] == ["socket"]:
    serve_socket_mode()
