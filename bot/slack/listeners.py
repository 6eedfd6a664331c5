"""`safe`: the wrapper every listener is registered through.

Errors raised *before* the ack go to Bolt's error handler, which can still shape the ack
(inline modal errors). Errors raised *after* the ack are reported here, through the same
`bot.slack.failures` mapping, and never reach Bolt: with ``process_before_response=False``
Bolt resets a listener's ack to "none" when it raises after acking, and the HTTP answer then
waits the full 3 seconds and fails (slack_bolt 1.30, ThreadListenerRunner).

Every wrapped listener has the signature ``fn(ack, body, payload)``, where `payload` is the
action (block actions), the view (view submissions) or the body itself (slash commands).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.slack import failures
from bot.slack.context import SlackContext
from bot.slack.origin import Origin

AckFn = Callable[..., Any]
"""The ack a wrapped listener receives (Bolt's `Ack`, tracked)."""
Listener = Callable[[AckFn, dict[str, Any], dict[str, Any]], None]


def safe(ctx: SlackContext) -> Callable[[Listener], Callable[..., None]]:
    """Decorator factory: report errors after the ack; re-raise errors before it."""

    def decorate(fn: Listener) -> Callable[..., None]:
        def listener(
            ack: Ack,
            body: dict[str, Any],
            action: dict[str, Any] | None,
            view: dict[str, Any] | None,
        ) -> None:
            acked = False

            def ack_once(*args: Any, **kwargs: Any) -> Any:
                nonlocal acked
                acked = True
                return ack(*args, **kwargs)

            try:
                fn(ack_once, body, action or view or body)
            except Exception as exc:
                if not acked:
                    raise  # Bolt's error handler answers (e.g. inline modal errors)
                failures.report(exc, ctx.replier(Origin.from_body(body)))

        listener.__name__ = fn.__name__
        listener.__qualname__ = fn.__qualname__
        listener.__doc__ = fn.__doc__
        return listener

    return decorate
