"""Listener middleware that enforces a role before a listener runs (server-side, always).

``app.action(ScanAction.RUN, middleware=[requires(ctx, Role.OPERATOR, "run scans")])``:
a refused block action is acknowledged at once and the refusal is told to the user after the
ack; a refused view submission gets the refusal as its ack (an error view), so the modal
shows it. Slash commands check per subcommand in their handler (`SlackContext.require`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import BoltResponse

from bot.errors import PermissionDeniedError
from bot.slack import failures
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.permissions import Role

_JSON: dict[str, str | Sequence[str]] = {"content-type": "application/json;charset=utf-8"}


def requires(ctx: SlackContext, role: Role, what: str) -> Callable[..., Any]:
    """A Bolt listener middleware refusing users below `role` (`what`: "run scans", ...)."""

    def guard(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        origin = Origin.from_body(body)
        try:
            ctx.require(origin, role, what)
        except PermissionDeniedError as error:
            if origin.kind == "view_submission":
                return BoltResponse(
                    status=200, body=failures.submission_ack_json(error, origin), headers=_JSON
                )
            ctx.report_later(origin, error)
            return BoltResponse(status=200, body="")
        return next()

    return guard
