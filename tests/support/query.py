"""Read a Block Kit payload the way a user sees it: its texts, its buttons, its menus.

Tests assert on these rather than on block positions, so a layout change that keeps what the
user sees does not break them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


def walk(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every dict inside `node` (depth first, including `node`)."""
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def blocks_of(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The blocks of a message, a view, or a view response."""
    if "view" in payload and isinstance(payload["view"], Mapping):
        payload = payload["view"]
    return list(payload.get("blocks", []))


def all_text(payload: Mapping[str, Any]) -> str:
    """Every text a user can read (blocks, buttons, options, title), newline-joined."""
    texts = []
    for node in walk(payload):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            texts.append(node["text"])
    return "\n".join(texts)


@dataclass(frozen=True)
class Button:
    """A button as a user sees it, plus what it sends."""

    text: str
    action_id: str
    value: str | None
    style: str | None
    confirm: Mapping[str, Any] | None


def buttons(payload: Mapping[str, Any]) -> list[Button]:
    """Every button, in order."""
    return [
        Button(
            text=n["text"]["text"],
            action_id=n.get("action_id", ""),
            value=n.get("value"),
            style=n.get("style"),
            confirm=n.get("confirm"),
        )
        for n in walk(blocks_of(payload))
        if n.get("type") == "button"
    ]


def button_texts(payload: Mapping[str, Any]) -> list[str]:
    """The labels of every button, in order."""
    return [b.text for b in buttons(payload)]


def buttons_with(payload: Mapping[str, Any], action_id: str) -> list[Button]:
    """The buttons that send `action_id`."""
    return [b for b in buttons(payload) if b.action_id == action_id]


def overflows(payload: Mapping[str, Any]) -> list[list[tuple[str, str]]]:
    """Every overflow menu as its (option text, option value) pairs."""
    return [
        [(o["text"]["text"], o["value"]) for o in n["options"]]
        for n in walk(blocks_of(payload))
        if n.get("type") == "overflow"
    ]


def inputs(payload: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Input blocks by block_id."""
    return {b["block_id"]: b for b in blocks_of(payload) if b.get("type") == "input"}
