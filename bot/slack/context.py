"""What every Slack listener shares: the runtime, the client, permissions, queries, the
progress tracker and a pool for the work that must not hold up Slack's 3-second ack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
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

log = logging.getLogger(__name__)


@dataclass
class SlackContext:
    """Built once per Bolt app by `bot.slack.app.build_app`; handed to every `register`."""

    rt: Runtime
    client: WebClient
    permissions: Permissions
    queries: Queries
    progress: ProgressTracker
    background: Executor

    def origin(self, body: Mapping[str, Any]) -> Origin:
        """The origin of a request body."""
        return Origin.from_body(body)

    def replier(self, origin: Origin) -> Replier:
        """A replier for `origin`."""
        return Replier(self.client, origin)

    def require(self, origin: Origin, role: Role, what: str) -> None:
        """Refuse (PermissionDeniedError) unless the origin's user holds `role`."""
        self.permissions.require(origin.user_id, role, what)

    def after_ack(
        self,
        origin: Origin,
        work: Callable[..., None],
        *args: Any,
        acked_view: bool = False,
    ) -> Future[None]:
        """Run `work(*args)` on the background pool; its errors reach the user like any
        listener's (see `bot.slack.failures.report`)."""

        def run() -> None:
            try:
                work(*args)
            except Exception as exc:
                failures.report(exc, self.replier(origin), acked_view=acked_view)

        return self.background.submit(run)

    def close(self) -> None:
        """Stop the progress worker and the background pool."""
        self.progress.close()
        self.background.shutdown(wait=False)
