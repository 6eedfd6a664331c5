"""How every Slack listener is registered: an ack function, then a work function.

Bolt runs the ack function at once, in the request's own thread
(``process_before_response=True``): it answers Slack and does nothing else. The work function
runs after the ack (`bot.slack.work`): as a Bolt lazy listener on a pool of this process, or,
in `cspm-bot serve`, in the worker process, to which the ack function relays the request.
Handlers never wait within Slack's 3-second window, and never block it.

- ``@on.command(name)``, ``@on.action(*action_ids)`` and ``@on.event(name)`` register a work
  function ``fn(body, payload)`` behind an empty ack (`payload` is Bolt's: the action, the
  command or the event).
- ``on.view(callback_id, ack=..., work=...)`` registers a view submission. Its ack function
  ``ack_fn(body, view) -> dict | None`` returns the ack's fields (``response_action``…), or
  raises a domain error, which becomes the ack (inline field errors or an error view) and
  skips the work.

Errors in a work function reach the user through `bot.slack.failures.report`, the same way
as every other error (DESIGN §1: one mapping from exceptions to messages).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest

from bot.errors import OverloadedError
from bot.slack import failures
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.work import WorkItem, skip_work

Work = Callable[[dict[str, Any], dict[str, Any]], None]
"""A work function: ``fn(body, payload)``, run after the ack."""
ViewAck = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]
"""A view submission's ack function: ``fn(body, view)`` returns the ack's fields or None."""
Answer = Callable[[Ack, dict[str, Any], dict[str, Any]], bool]
"""Acks one request; True when its work should follow."""
Middleware = Sequence[Callable[..., Any]]


def _ack_at_once(ack: Ack, body: dict[str, Any], payload: dict[str, Any]) -> bool:
    ack()
    return True


class Listeners:
    """Registers ack + work listener pairs on one Bolt app."""

    def __init__(self, app: App, ctx: SlackContext) -> None:
        self.app = app
        self.ctx = ctx

    def command(self, name: str) -> Callable[[Work], Work]:
        """Decorator: `fn` handles slash command `name` after an empty ack."""

        def register(fn: Work) -> Work:
            self._register(self.app.command(name), _ack_at_once, fn)
            return fn

        return register

    def action(self, *action_ids: str, middleware: Middleware = ()) -> Callable[[Work], Work]:
        """Decorator: `fn` handles the block actions `action_ids` after an empty ack."""

        def register(fn: Work) -> Work:
            for action_id in action_ids:
                route = self.app.action(action_id, middleware=list(middleware))
                self._register(route, _ack_at_once, fn)
            return fn

        return register

    def event(self, name: str) -> Callable[[Work], Work]:
        """Decorator: `fn` handles Events API event `name` after an empty ack."""

        def register(fn: Work) -> Work:
            self._register(self.app.event(name), _ack_at_once, fn)
            return fn

        return register

    def view(
        self,
        callback_id: str,
        *,
        ack: ViewAck,
        work: Work | None = None,
        middleware: Middleware = (),
    ) -> None:
        """Register the submission of view `callback_id`: `ack` answers, `work` follows.

        `work` runs after an ack that replaced the modal (a "Validating…" view, say): its
        errors replace that view in turn. A work whose ack closed the modal reports its own
        errors where the user will see them (the support form does).
        """
        build_ack = ack

        def answer(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> bool:
            try:
                fields = build_ack(body, view)
            except Exception as exc:
                ack(**failures.submission_ack(failures.describe(exc), Origin.from_body(body)))
                return False
            ack(**(fields or {}))
            return True

        answer.__name__ = getattr(build_ack, "__name__", "answer")
        route = self.app.view(callback_id, middleware=list(middleware))
        self._register(route, answer, work, acked_view=True)

    def _register(
        self,
        route: Callable[..., Any],
        answer: Answer,
        fn: Work | None,
        *,
        acked_view: bool = False,
    ) -> None:
        """Register `answer` as the ack function and `fn` as the work, on `route`."""
        ctx, relay = self.ctx, self.ctx.relay
        name = fn.__name__ if fn is not None else answer.__name__

        def ack_function(
            ack: Ack,
            body: dict[str, Any],
            payload: dict[str, Any] | None,
            context: BoltContext,
            request: BoltRequest,
        ) -> None:
            if not answer(ack, body, payload or body):
                skip_work(context)
                return
            if fn is None or relay is None:
                return  # no work, or Bolt starts it here as a lazy listener
            if not relay.submit(WorkItem.of(request, name)):
                ctx.report_later(Origin.from_body(body), OverloadedError())

        ack_function.__name__ = name  # Bolt logs listeners by their ack function's name
        lazy = []
        if fn is not None and relay is None:
            # The worker process dispatches relayed requests to these lazy listeners of its
            # own app, found by the same name.
            lazy.append(self._work(fn, acked_view=acked_view))
        route(ack=ack_function, lazy=lazy)

    def _work(self, fn: Work, *, acked_view: bool = False) -> Callable[..., None]:
        ctx = self.ctx

        def work(body: dict[str, Any], payload: dict[str, Any] | None) -> None:
            try:
                fn(body, payload or body)
            except Exception as exc:
                origin = Origin.from_body(body)
                failures.report(exc, ctx.replier(origin), acked_view=acked_view)

        # Bolt finds a lazy function by name: keep the handler's (for logs, too).
        work.__name__ = fn.__name__
        work.__qualname__ = fn.__qualname__
        work.__doc__ = fn.__doc__
        return work
