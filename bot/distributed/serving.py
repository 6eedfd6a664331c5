"""The serving side of ``cspm-bot serve`` when a broker is configured.

The serving process verifies and acks each Slack request and enqueues its work
(`QueueRelay`); it also runs the scheduler, which holds its database lease (one leader among
all replicas) and enqueues what it fires. With ``--no-worker`` that is all it does;
otherwise `LocalWorkers` runs a ``cspm-bot worker`` beside it, for a single machine.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.distributed.celeryapp import make_celery
from bot.distributed.health import BrokerHealth
from bot.distributed.relay import QueueRelay

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.runtime import Runtime
    from bot.scheduling.service import SchedulingService

log = logging.getLogger(__name__)


@dataclass
class QueueFront:
    """What the serving process holds: the relay, the broker's health, the scheduler."""

    relay: QueueRelay
    health: BrokerHealth
    scheduling: SchedulingService | None = None

    def report(self) -> dict[str, Any]:
        """The broker and the workers seen (cached: a probe never waits long)."""
        return self.health.report()

    def close(self) -> None:
        """Hand the scheduler lease over and release the broker connections."""
        if self.scheduling is not None:
            self.scheduling.stop()
        self.relay.close()


def start_front(rt: Runtime, client: WebClient | None, scheduling: bool = True) -> QueueFront:
    """The relay to queue ``slack`` and, when `scheduling`, the scheduler of this replica."""
    app = make_celery(rt.settings)
    front = QueueFront(QueueRelay(app, rt.box), BrokerHealth(app))
    if scheduling and client is not None:
        from bot.scheduling import start_scheduling

        front.scheduling = start_scheduling(rt, client)
    return front


class LocalWorkers:
    """A ``cspm-bot worker`` child process beside ``serve`` (no ``--no-worker``)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start ``cspm-bot worker`` (both queues) with this process's environment."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"], start_new_session=True
        )
        log.info("started cspm-bot worker (pid %s) beside the serving process", self.proc.pid)

    def close(self, timeout: float = 60.0) -> None:
        """Let the workers finish their work in progress, then stop them."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
