"""What every Slack listener shares: the runtime, the client, permissions, queries, the
progress tracker and the pool that runs work after the ack (`bot.slack.work`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.slack import failures
from bot.slack.origin import Origin, Replier
from bot.slack.permissions import Permissions, Role
from bot.slack.progress import ProgressTracker
from bot.slack.queries import Queries
from bot.slack.work import Relay
from bot.views.common import CommandHelp

log = logging.getLogger(__name__)


@dataclass
class SlackContext:
    """Built once per Bolt app by `bot.slack.app.build_app`; handed to every handler
    module's `register`."""

    rt: Runtime
    client: WebClient
    permissions: Permissions
    queries: Queries
    progress: ProgressTracker
    background: Executor
    relay: Relay | None = None
    """Where work goes in `cspm-bot serve` (the worker process); None: `background`."""
    command_help: Sequence[CommandHelp] = ()
    """The slash command's subcommands, listed in usage replies (set by whoever registers
    the command)."""

    def origin(self, body: Mapping[str, Any]) -> Origin:
        """The origin of a request body."""
        return Origin.from_body(body)

    def replier(self, origin: Origin) -> Replier:
        """A replier for `origin`."""
        return Replier(self.client, origin)

    def require(self, origin: Origin, role: Role, what: str) -> None:
        """Refuse (PermissionDeniedError) unless the origin's user holds `role`."""
        self.permissions.require(origin.user_id, role, what)

    def report(self, error: BaseException, origin: Origin, *, acked_view: bool = False) -> None:
        """Tell the user about `error` now (`bot.slack.failures.report`)."""
        failures.report(
            error, self.replier(origin), acked_view=acked_view, commands=self.command_help
        )

    def report_later(self, origin: Origin, error: Exception) -> Future[None]:
        """Tell the user about `error` from the background pool, once the request is acked
        (a refusal or failure found before the ack, when the ack itself cannot carry it)."""
        return self.background.submit(self.report, error, origin)

    def close(self) -> None:
        """Stop the progress worker and the background pool."""
        self.progress.close()
        self.background.shutdown(wait=False)
