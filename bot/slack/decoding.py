"""Listener middleware that decodes the data riding along with an interaction, once.

A button's ``value``, a menu's or select's ``selected_option.value`` and a view's
``private_metadata`` are codec strings (`bot.codec`). The middleware built by
`decode_values` decodes them before the ack, checks they are of the type the listener
expects, and puts the typed objects into Bolt's context (``context["ref"]``,
``context["view_state"]``), where `bot.slack.listeners.Request` reads them.

A tampered, stale or malformed string raises `InputError` with a clear message: the app's
one error handler answers it (an ephemeral reply, or an error view for a view submission)
and no listener runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.codec import decode, decode_any
from bot.errors import InputError

VALUE_KEY = "ref"
"""Bolt context key of the element's decoded value."""
STATE_KEY = "view_state"
"""Bolt context key of the view's decoded private_metadata."""

StateTypes = type[Any] | tuple[type[Any], ...]
"""The codec type (or types) a listener accepts as its view's private_metadata."""


def element_value(body: Mapping[str, Any]) -> str:
    """The codec text of the acted-on element: a button's value, a menu's selected option."""
    actions = body.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], Mapping) else {}
    if "selected_option" in action:
        return str((action.get("selected_option") or {}).get("value") or "")
    return str(action.get("value") or "")


def view_metadata(body: Mapping[str, Any]) -> str:
    """The private_metadata of the view the request came from (or was submitted)."""
    view = body.get("view")
    return str(view.get("private_metadata") or "") if isinstance(view, Mapping) else ""


def decode_values(
    value: type[Any] | None, state: StateTypes = (), *, state_required: bool = True
) -> Callable[..., Any]:
    """A Bolt listener middleware decoding the element's value as `value` and the view's
    private_metadata as (one of) `state`, into the request's context.

    With ``state_required=False`` the element may also sit outside a view, or in a view of
    another kind: the state is then left out, but a malformed one is still refused.
    """
    accepted = state if isinstance(state, tuple) else (state,)

    def decode_into_context(body: dict[str, Any], context: Any, next: Callable[[], Any]) -> Any:
        if value is not None:
            context[VALUE_KEY] = decode(element_value(body), value)
        metadata = view_metadata(body)
        if accepted and (metadata or state_required):
            found = decode_any(metadata)
            if isinstance(found, accepted):
                context[STATE_KEY] = found
            elif state_required:
                raise InputError(
                    "This form carries data of the wrong kind. Please run the command again."
                )
        return next()

    return decode_into_context
