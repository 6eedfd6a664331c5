"""How every Slack listener is registered: an ack function, then a work function.

Bolt runs the ack function at once, in the request's own thread
(``process_before_response=True``): it answers Slack and does nothing else. The work function
runs after the ack (`bot.slack.work`): as a Bolt lazy listener on a pool of this process, or,
in `cspm-bot serve`, in the worker process, to which the ack function relays the request.
Handlers never wait within Slack's 3-second window, and never block it.

- ``@on.command(name)``, ``@on.action(*action_ids)`` and ``@on.event(name)`` register a work
  function ``fn(req)`` behind an empty ack; `req` is a `Request`.
- ``on.view(callback_id, ack=..., work=...)`` registers a view submission. Its ack function
  ``ack_fn(req) -> dict | None`` returns the ack's fields (``response_action``…), or raises a
  domain error, which becomes the ack (inline field errors or an error view) and skips the
  work.

Data that rides along with an interaction is decoded once, before the ack, by a listener
middleware (`bot.slack.decoding`): ``on.action(ids.ScanAction.RUN, value=ProjectRef)``
decodes the element's value, ``state=ErrorLogState`` the view's private_metadata. The typed
objects are in Bolt's context; handlers read them with `Request.value` / `Request.state`
and never decode anything themselves. A malformed value is refused with a clear message by
the app's error handler.

Errors in a work function reach the user through `SlackContext.report`, the same way as
every other error (one mapping from exceptions to messages, `bot.slack.failures`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt import Ack, App, BoltContext, BoltRequest

from bot.codec import CodecType
from bot.errors import OverloadedError
from bot.slack import failures
from bot.slack.context import SlackContext
from bot.slack.decoding import STATE_KEY, VALUE_KEY, StateTypes, decode_values
from bot.slack.origin import Origin
from bot.slack.work import WorkItem, skip_work

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """One Slack request as a handler sees it.

    `body` is the request body, `payload` Bolt's payload (the action, the command, the view,
    the event) and `origin` where the request came from. The typed values decoded by the
    listener's middleware are read with `value` and `state`.
    """

    body: dict[str, Any]
    payload: dict[str, Any]
    origin: Origin
    context: Mapping[str, Any] = field(default_factory=dict)

    def value(self, kind: type[T]) -> T:
        """The element's decoded value (a button's value, a menu's selected option)."""
        return _typed(self.context.get(VALUE_KEY), kind, "value")

    def state(self, kind: type[T]) -> T:
        """The view's decoded private_metadata."""
        return _typed(self.context.get(STATE_KEY), kind, "state")

    def state_if(self, kind: type[T]) -> T | None:
        """The view's decoded private_metadata if it is a `kind` (else None)."""
        found = self.context.get(STATE_KEY)
        return found if isinstance(found, kind) else None

    @property
    def any_state(self) -> CodecType | None:
        """The view's decoded private_metadata, of whichever type the listener accepts."""
        return self.context.get(STATE_KEY)


def _typed(found: Any, kind: type[T], what: str) -> T:
    if not isinstance(found, kind):
        # A registration mistake (the listener did not declare this type), not bad input.
        raise TypeError(f"the listener has no decoded {what} of type {kind.__name__}")
    return found


Work = Callable[[Request], None]
"""A work function: ``fn(req)``, run after the ack."""
ViewAck = Callable[[Request], dict[str, Any] | None]
"""A view submission's ack function: ``fn(req)`` returns the ack's fields or None."""
Answer = Callable[[Ack, Request], bool]
"""Acks one request; True when its work should follow."""
Middleware = Sequence[Callable[..., Any]]


def _ack_at_once(ack: Ack, req: Request) -> bool:
    ack()
    return True


def _request(body: dict[str, Any], payload: dict[str, Any] | None, context: Any) -> Request:
    return Request(body, payload or body, Origin.from_body(body), context)


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

    def action(
        self,
        *action_ids: str,
        value: type[Any] | None = None,
        state: StateTypes = (),
        state_required: bool = True,
        middleware: Middleware = (),
    ) -> Callable[[Work], Work]:
        """Decorator: `fn` handles the block actions `action_ids` after an empty ack.

        `value`: the codec type of the element's value (decoded before the ack);
        `state`: the codec type(s) of the view's private_metadata (``state_required=False``:
        the element may also be outside such a view).
        """

        def register(fn: Work) -> Work:
            chain = self._middleware(middleware, value, state, state_required)
            for action_id in action_ids:
                self._register(self.app.action(action_id, middleware=chain), _ack_at_once, fn)
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
        state: StateTypes = (),
        middleware: Middleware = (),
    ) -> None:
        """Register the submission of view `callback_id`: `ack` answers, `work` follows.

        `state`: the codec type(s) of the view's private_metadata (decoded before the ack).
        `work` runs after an ack that replaced the modal (a "Validating…" view, say): its
        errors replace that view in turn. A work whose ack closed the modal reports its own
        errors where the user will see them (the support form does).
        """
        build_ack = ack

        def answer(ack: Ack, req: Request) -> bool:
            try:
                fields = build_ack(req)
            except Exception as exc:
                ack(**failures.submission_ack(failures.describe(exc), req.origin))
                return False
            ack(**(fields or {}))
            return True

        answer.__name__ = getattr(build_ack, "__name__", "answer")
        route = self.app.view(callback_id, middleware=self._middleware(middleware, None, state))
        self._register(route, answer, work, acked_view=True)

    @staticmethod
    def _middleware(
        middleware: Middleware,
        value: type[Any] | None,
        state: StateTypes,
        state_required: bool = True,
    ) -> list[Callable[..., Any]]:
        """The listener's middleware: the given ones (role checks) first, then decoding."""
        chain = list(middleware)
        if value is not None or state:
            chain.append(decode_values(value, state, state_required=state_required))
        return chain

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
            if not answer(ack, _request(body, payload, context)):
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

        def work(
            body: dict[str, Any], payload: dict[str, Any] | None, context: BoltContext
        ) -> None:
            req = _request(body, payload, context)
            try:
                fn(req)
            except Exception as exc:
                ctx.report(exc, req.origin, acked_view=acked_view)

        # Bolt finds a lazy function by name: keep the handler's (for logs, too).
        work.__name__ = fn.__name__
        work.__qualname__ = fn.__qualname__
        work.__doc__ = fn.__doc__
        return work
