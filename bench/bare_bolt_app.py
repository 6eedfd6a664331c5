"""The ack-latency baseline: a bare Bolt app that acks every request with a static message.

Configured as the bot is: ``process_before_response=True`` (the ack is the listener's answer
in the request's own thread; with False, Bolt runs listeners on a thread pool and polls for
the ack every 10 ms), the same token and Web API base URL, and its start-up heap frozen for
the garbage collector as `bot.serve` does. Served over HTTP by granian with the bot's
settings (`application`), or over Socket Mode with slack_bolt's default Socket Mode handler
(``python -m bench.bare_bolt_app socket``, with ``SLACK_APP_TOKEN``).
"""

from __future__ import annotations

import gc
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
    process_before_response=True,
)


@app.command("/cspm")
def _command(ack: Ack) -> None:
    ack("ok")


@app.action(re.compile(".*"))
def _action(ack: Ack) -> None:
    ack()


handler = SlackRequestHandler(app)
gc.freeze()  # as bot.serve does once its app is built


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """WSGI entry point."""
    return handler(environ, start_response)


def serve_socket_mode() -> None:
    """Serve over Socket Mode with Bolt's default handler until terminated."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"]).start()


if __name__ == "__main__" and sys.argv[1:] == ["socket"]:
    serve_socket_mode()
