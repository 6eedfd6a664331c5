"""Post-ack Slack work over the broker: the serving process seals each `WorkItem` and
enqueues it on queue ``slack``; any worker opens it and runs it (`bot.distributed.tasks`).

A work item is the raw request (a slash command's text, a modal's submitted values): it can
hold credentials typed into a connector form. The whole item is encrypted with the project's
Fernet key (`bot.secretbox.SecretBox`, the key that encrypts saved connectors) before it
leaves the process, so the broker only ever stores an opaque token; neither the token nor
the item is logged. Every process of a deployment must therefore share the key
(`CSPM_ENCRYPTION_KEY`).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from bot.distributed.celeryapp import SLACK_QUEUE, SLACK_TASK
from bot.secretbox import SecretBox
from bot.slack.work import WorkItem

log = logging.getLogger(__name__)


def seal(box: SecretBox, item: WorkItem) -> str:
    """`item` as an opaque Fernet token (ASCII), safe to hand to a broker."""
    data: dict[str, Any] = {
        "body": item.body,
        "headers": item.headers,
        "mode": item.mode,
        "function": item.function,
    }
    return box.encrypt(data).decode("ascii")


def unseal(box: SecretBox, token: str) -> WorkItem:
    """The work item sealed in `token`; raises `SecretBoxError` if the key differs."""
    data = box.decrypt(token.encode("ascii"))
    return WorkItem(
        body=data["body"],
        headers={str(k): [str(v) for v in vs] for k, vs in data["headers"].items()},
        mode=str(data["mode"]),
        function=str(data["function"]),
    )


class QueueRelay:
    """The serving process's `bot.slack.work.Relay` when a broker is configured."""

    def __init__(self, app: Celery, box: SecretBox) -> None:
        self.app = app
        self.box = box
        self.sent = 0
        self.failed = 0

    def submit(self, item: WorkItem) -> bool:
        """Enqueue `item` on queue ``slack``; False (the user is told nothing was done) when
        the broker cannot be reached within about a second."""
        token = seal(self.box, item)
        try:
            self.app.send_task(SLACK_TASK, args=[token], queue=SLACK_QUEUE)
        except Exception as exc:  # kombu's OperationalError, a socket error, a timeout
            self.failed += 1
            log.error(
                "could not enqueue the work of %s: the broker is unreachable (%s)",
                item.function,
                type(exc).__name__,
            )
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        """Release the broker connections."""
        self.app.close()
