"""The one Block Kit validator every test uses before anything counts as "sent to Slack".

slack_sdk validates its model classes only in ``to_dict()`` and never validates plain dicts,
so this module does two things (DESIGN §5):

1. round-trips every block through ``slack_sdk.models.blocks.Block.parse_all`` and every view
   through ``slack_sdk.models.views.View``, calls ``to_dict()`` (which runs slack_sdk's own
   validators) and compares the result with the input: unknown keys, ``None`` values and
   misspelt structures do not survive that trip;
2. checks every limit of DESIGN §5 explicitly, plus the house rules: every action_id,
   callback_id and block_id is registered in `bot.ids`, block ids are unique, secret inputs
   are never pre-filled.

Entry points: `assert_valid_blocks`, `assert_valid_message`, `assert_valid_view`,
`assert_valid_view_response` and `validate_api_call` (for recorded Web API calls and
response_url posts). Each raises `BlockKitError` (an AssertionError) listing every problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.ids import ALL_IDS, SECRET_INPUTS

Surface = Literal["message", "modal", "home"]

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_MAX = 10
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 75
OVERFLOW_MAX = 5
SELECT_OPTIONS_MAX = 100
VIEW_TEXT_MAX = 24  # modal title / submit / close
PRIVATE_METADATA_MAX = 3000
INPUT_MAX_LENGTH = 3000
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
ID_MAX = 255
TOTAL_TEXT_MAX = 12_000
FALLBACK_TEXT_MAX = 40_000

_BLOCK_TYPES: dict[str, frozenset[str]] = {
    "message": frozenset({"section", "divider", "header", "context", "actions", "image"}),
    "modal": frozenset({"section", "divider", "header", "context", "actions", "image", "input"}),
    "home": frozenset({"section", "divider", "header", "context", "actions", "image", "input"}),
}
_INTERACTIVE = frozenset({"button", "overflow", "static_select", "plain_text_input"})
_INPUT_ELEMENTS = frozenset({"plain_text_input", "static_select"})
_MESSAGE_KEYS = frozenset(
    {
        "text",
        "blocks",
        "channel",
        "ts",
        "user",
        "thread_ts",
        "reply_broadcast",
        "response_type",
        "replace_original",
        "delete_original",
        "unfurl_links",
        "unfurl_media",
        "mrkdwn",
        "metadata",
    }
)
_VIEW_KEYS = frozenset(
    {
        "type",
        "callback_id",
        "external_id",
        "title",
        "submit",
        "close",
        "blocks",
        "private_metadata",
        "clear_on_close",
        "notify_on_close",
    }
)


class BlockKitError(AssertionError):
    """A payload Slack would reject (or that breaks a house rule)."""


class _Checker:
    """Walks one surface and collects every problem."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface
        self.problems: list[str] = []
        self.block_ids: set[str] = set()

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    # -- composition objects -------------------------------------------------------------

    def text(
        self,
        obj: Any,
        where: str,
        limit: int,
        *,
        plain_only: bool = False,
    ) -> None:
        if not isinstance(obj, Mapping):
            self.fail(where, f"text object must be a dict, got {type(obj).__name__}")
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.fail(where, f"text type must be plain_text or mrkdwn, got {kind!r}")
        if plain_only and kind != "plain_text":
            self.fail(where, "must be plain_text")
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            self.fail(where, "text must be a non-empty string")
        elif len(text) > limit:
            self.fail(where, f"text is {len(text)} characters, the limit is {limit}")
        if "emoji" in obj and kind != "plain_text":
            self.fail(where, "emoji is only allowed on plain_text")
        if "verbatim" in obj and kind != "mrkdwn":
            self.fail(where, "verbatim is only allowed on mrkdwn")

    def confirm(self, obj: Any, where: str) -> None:
        if not isinstance(obj, Mapping):
            self.fail(where, "confirm must be a dict")
            return
        for key in ("title", "text", "confirm", "deny"):
            if key not in obj:
                self.fail(where, f"confirm needs {key}")
        if "title" in obj:
            self.text(obj["title"], f"{where}.title", CONFIRM_TITLE_MAX, plain_only=True)
        if "text" in obj:
            self.text(obj["text"], f"{where}.text", CONFIRM_TEXT_MAX)
        for key in ("confirm", "deny"):
            if key in obj:
                self.text(obj[key], f"{where}.{key}", CONFIRM_BUTTON_MAX, plain_only=True)
        if obj.get("style", "primary") not in ("primary", "danger"):
            self.fail(where, "confirm style must be primary or danger")

    def option(self, obj: Any, where: str) -> None:
        if not isinstance(obj, Mapping):
            self.fail(where, "option must be a dict")
            return
        self.text(obj.get("text"), f"{where}.text", OPTION_TEXT_MAX, plain_only=True)
        value = obj.get("value")
        if not isinstance(value, str) or not value:
            self.fail(where, "option value must be a non-empty string")
        elif len(value) > OPTION_VALUE_MAX:
            self.fail(where, f"option value is {len(value)} characters, limit {OPTION_VALUE_MAX}")

    # -- ids ---------------------------------------------------------------------------------

    def registered(self, value: Any, where: str, what: str) -> None:
        if not isinstance(value, str) or not value:
            self.fail(where, f"{what} must be a non-empty string")
        elif len(value) > ID_MAX:
            self.fail(where, f"{what} is longer than {ID_MAX}")
        elif value not in ALL_IDS:
            self.fail(where, f"{what} {value!r} is not registered in bot.ids")

    # -- elements ----------------------------------------------------------------------------

    def element(self, el: Any, where: str, *, in_input: bool = False) -> str | None:
        """Check one interactive element; return its action_id."""
        if not isinstance(el, Mapping):
            self.fail(where, "element must be a dict")
            return None
        kind = el.get("type")
        if kind not in _INTERACTIVE:
            self.fail(where, f"unsupported element type {kind!r}")
            return None
        if in_input and kind not in _INPUT_ELEMENTS:
            self.fail(where, f"{kind} cannot be the element of an input block")
        if not in_input and kind == "plain_text_input":
            self.fail(where, "plain_text_input belongs in an input block")
        action_id = el.get("action_id")
        self.registered(action_id, where, "action_id")
        if "confirm" in el:
            self.confirm(el["confirm"], f"{where}.confirm")
        if "placeholder" in el:
            self.text(el["placeholder"], f"{where}.placeholder", PLACEHOLDER_MAX, plain_only=True)
        if kind == "button":
            self.text(el.get("text"), f"{where}.text", BUTTON_TEXT_MAX, plain_only=True)
            value = el.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > BUTTON_VALUE_MAX):
                self.fail(where, f"button value must be a string of at most {BUTTON_VALUE_MAX}")
            if "url" in el and (not isinstance(el["url"], str) or len(el["url"]) > URL_MAX):
                self.fail(where, f"button url must be a string of at most {URL_MAX}")
            if el.get("style", "primary") not in ("primary", "danger"):
                self.fail(where, "button style must be primary or danger")
        elif kind == "overflow":
            options = el.get("options")
            if not isinstance(options, list) or not 1 <= len(options) <= OVERFLOW_MAX:
                self.fail(where, f"overflow needs 1 to {OVERFLOW_MAX} options")
            else:
                for i, opt in enumerate(options):
                    self.option(opt, f"{where}.options[{i}]")
                self.unique_option_values(options, where)
        elif kind == "static_select":
            self.static_select(el, where)
        elif kind == "plain_text_input":
            self.text_input(el, where)
        return action_id if isinstance(action_id, str) else None

    def unique_option_values(self, options: list[Any], where: str) -> None:
        values = [o.get("value") for o in options if isinstance(o, Mapping)]
        if len(values) != len(set(values)):
            self.fail(where, "option values must be unique")

    def static_select(self, el: Mapping[str, Any], where: str) -> None:
        if "placeholder" not in el and self.surface == "message":
            self.fail(where, "static_select needs a placeholder")
        options = el.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= SELECT_OPTIONS_MAX:
            self.fail(where, f"static_select needs 1 to {SELECT_OPTIONS_MAX} options")
            return
        for i, opt in enumerate(options):
            self.option(opt, f"{where}.options[{i}]")
        self.unique_option_values(options, where)
        if "initial_option" in el and el["initial_option"] not in options:
            self.fail(where, "initial_option must be one of the options")

    def text_input(self, el: Mapping[str, Any], where: str) -> None:
        max_length = el.get("max_length")
        min_length = el.get("min_length")
        if max_length is not None and (
            not isinstance(max_length, int) or not 1 <= max_length <= INPUT_MAX_LENGTH
        ):
            self.fail(where, f"max_length must be 1..{INPUT_MAX_LENGTH}")
        if min_length is not None and (
            not isinstance(min_length, int) or not 0 <= min_length <= INPUT_MAX_LENGTH
        ):
            self.fail(where, f"min_length must be 0..{INPUT_MAX_LENGTH}")
        if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
            self.fail(where, "min_length exceeds max_length")
        initial = el.get("initial_value")
        if initial is not None:
            if el.get("action_id") in SECRET_INPUTS:
                self.fail(where, "a secret input must never have an initial_value")
            limit = max_length if isinstance(max_length, int) else INPUT_MAX_LENGTH
            if not isinstance(initial, str) or len(initial) > limit:
                self.fail(where, f"initial_value must be a string of at most {limit}")

    # -- blocks ------------------------------------------------------------------------------

    def block(self, block: Any, where: str) -> None:
        if not isinstance(block, Mapping):
            self.fail(where, "block must be a dict")
            return
        kind = block.get("type")
        if kind not in _BLOCK_TYPES[self.surface]:
            self.fail(where, f"block type {kind!r} is not allowed on a {self.surface}")
            return
        if "block_id" in block:
            block_id = block["block_id"]
            self.registered(block_id, where, "block_id")
            if block_id in self.block_ids:
                self.fail(where, f"block_id {block_id!r} is used twice")
            self.block_ids.add(block_id)
        getattr(self, f"block_{kind}")(block, where)

    def block_section(self, block: Mapping[str, Any], where: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail(where, "section needs text or fields")
        if "text" in block:
            self.text(block["text"], f"{where}.text", SECTION_TEXT_MAX)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= FIELDS_MAX:
                self.fail(where, f"section fields must be 1 to {FIELDS_MAX} items")
            else:
                for i, f in enumerate(fields):
                    self.text(f, f"{where}.fields[{i}]", FIELD_TEXT_MAX)
        if "accessory" in block:
            self.element(block["accessory"], f"{where}.accessory")

    def block_header(self, block: Mapping[str, Any], where: str) -> None:
        self.text(block.get("text"), f"{where}.text", HEADER_MAX, plain_only=True)

    def block_divider(self, block: Mapping[str, Any], where: str) -> None:
        pass

    def block_image(self, block: Mapping[str, Any], where: str) -> None:
        if not block.get("alt_text"):
            self.fail(where, "image needs alt_text")

    def block_context(self, block: Mapping[str, Any], where: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
            self.fail(where, f"context needs 1 to {CONTEXT_ELEMENTS_MAX} elements")
            return
        for i, el in enumerate(elements):
            if isinstance(el, Mapping) and el.get("type") == "image":
                continue
            self.text(el, f"{where}.elements[{i}]", SECTION_TEXT_MAX)

    def block_actions(self, block: Mapping[str, Any], where: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= ACTIONS_ELEMENTS_MAX:
            self.fail(where, f"actions needs 1 to {ACTIONS_ELEMENTS_MAX} elements")
            return
        seen: set[str] = set()
        for i, el in enumerate(elements):
            action_id = self.element(el, f"{where}.elements[{i}]")
            if action_id is not None:
                if action_id in seen:
                    self.fail(where, f"action_id {action_id!r} twice in one block")
                seen.add(action_id)

    def block_input(self, block: Mapping[str, Any], where: str) -> None:
        if "block_id" not in block:
            self.fail(where, "input blocks need a registered block_id")
        self.text(block.get("label"), f"{where}.label", LABEL_MAX, plain_only=True)
        if "hint" in block:
            self.text(block["hint"], f"{where}.hint", LABEL_MAX, plain_only=True)
        if "element" not in block:
            self.fail(where, "input needs an element")
        else:
            self.element(block["element"], f"{where}.element", in_input=True)

    # -- whole surface -----------------------------------------------------------------------

    def blocks(self, blocks: Any) -> None:
        if not isinstance(blocks, list):
            self.fail("blocks", "must be a list")
            return
        limit = MESSAGE_MAX_BLOCKS if self.surface == "message" else VIEW_MAX_BLOCKS
        if len(blocks) > limit:
            self.fail("blocks", f"{len(blocks)} blocks, a {self.surface} holds at most {limit}")
        if self.surface != "message" and not blocks:
            self.fail("blocks", "a view needs at least one block")
        for i, block in enumerate(blocks):
            self.block(block, f"blocks[{i}]")
        total = total_text(blocks)
        if total > TOTAL_TEXT_MAX:
            self.fail("blocks", f"{total} characters of text, Slack rejects above {TOTAL_TEXT_MAX}")
        self.round_trip(blocks)

    def round_trip(self, blocks: list[Any]) -> None:
        try:
            parsed = Block.parse_all(blocks)
            if any(b is None for b in parsed):
                self.fail("blocks", "slack_sdk could not parse a block")
                return
            again = [b.to_dict() for b in parsed]
        except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
            self.fail("blocks", f"slack_sdk rejected the blocks: {exc}")
            return
        for i, (before, after) in enumerate(zip(blocks, again, strict=True)):
            if before != after:
                self.fail(f"blocks[{i}]", f"changes in a slack_sdk round trip: {after!r}")

    def raise_if_any(self, what: str) -> None:
        if self.problems:
            listed = "\n  - ".join(self.problems)
            raise BlockKitError(f"invalid {what}:\n  - {listed}")


def iter_text_objects(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every text object (plain_text / mrkdwn dict) anywhere inside `node`."""
    if isinstance(node, Mapping):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
            return
        for value in node.values():
            yield from iter_text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_text_objects(item)


def total_text(blocks: Any) -> int:
    """Characters of text in all text objects of `blocks` (what msg_blocks_too_long counts)."""
    return sum(len(str(t.get("text", ""))) for t in iter_text_objects(blocks))


def assert_valid_blocks(blocks: Any, surface: Surface) -> None:
    """Raise `BlockKitError` unless `blocks` is valid on a `surface` ("message"/"modal"/"home")."""
    checker = _Checker(surface)
    checker.blocks(blocks)
    checker.raise_if_any(f"{surface} blocks")


def assert_valid_message(payload: Mapping[str, Any]) -> None:
    """Raise unless `payload` (``text`` + ``blocks`` + delivery keys) is a valid message."""
    checker = _Checker("message")
    if not isinstance(payload, Mapping):
        raise BlockKitError("a message payload must be a dict")
    unknown = set(payload) - _MESSAGE_KEYS
    if unknown:
        checker.fail("message", f"unknown keys {sorted(unknown)}")
    text = payload.get("text")
    if not payload.get("delete_original"):
        if not isinstance(text, str) or not text.strip():
            checker.fail("message", "needs a non-empty fallback text (notifications, a11y)")
        elif len(text) > FALLBACK_TEXT_MAX:
            checker.fail("message", f"text longer than {FALLBACK_TEXT_MAX}")
    if "blocks" in payload:
        checker.blocks(payload["blocks"])
    checker.raise_if_any("message")


def assert_valid_view(view: Mapping[str, Any]) -> None:
    """Raise unless `view` is a valid modal or Home tab view."""
    if not isinstance(view, Mapping):
        raise BlockKitError("a view must be a dict")
    kind = view.get("type")
    if kind not in ("modal", "home"):
        raise BlockKitError(f"view type must be modal or home, got {kind!r}")
    checker = _Checker(kind)
    unknown = set(view) - _VIEW_KEYS
    if unknown:
        checker.fail("view", f"unknown keys {sorted(unknown)}")
    if kind == "modal":
        if "title" not in view:
            checker.fail("view", "a modal needs a title")
        checker.registered(view.get("callback_id"), "view", "callback_id")
    else:
        for key in ("title", "submit", "close"):
            if key in view:
                checker.fail("view", f"a home tab has no {key}")
        if "callback_id" in view:
            checker.registered(view["callback_id"], "view", "callback_id")
    for key in ("title", "submit", "close"):
        if key in view:
            checker.text(view[key], f"view.{key}", VIEW_TEXT_MAX, plain_only=True)
    metadata = view.get("private_metadata")
    if metadata is not None and (
        not isinstance(metadata, str) or len(metadata) > PRIVATE_METADATA_MAX
    ):
        checker.fail("view", f"private_metadata must be a string of at most {PRIVATE_METADATA_MAX}")
    blocks = view.get("blocks")
    checker.blocks(blocks)
    if (
        kind == "modal"
        and isinstance(blocks, list)
        and any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)
        and "submit" not in view
    ):
        checker.fail("view", "a modal with input blocks needs a submit button")
    try:
        again = View(**view).to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
        checker.fail("view", f"slack_sdk rejected the view: {exc}")
    else:
        if again != dict(view):
            checker.fail("view", "changes in a slack_sdk View round trip")
    checker.raise_if_any(f"{kind} view")


def assert_valid_view_response(
    body: Mapping[str, Any], view: Mapping[str, Any] | None = None
) -> None:
    """Raise unless `body` is a valid ack to a view_submission (``response_action`` ...).

    With `view` (the submitted view), ``errors`` may only name its input blocks.
    """
    action = body.get("response_action")
    if action == "errors":
        errors = body.get("errors")
        if not isinstance(errors, Mapping) or not errors:
            raise BlockKitError("response_action errors needs a non-empty errors dict")
        for block_id, text in errors.items():
            if block_id not in ALL_IDS:
                raise BlockKitError(f"errors names unregistered block_id {block_id!r}")
            if not isinstance(text, str) or not text.strip() or len(text) > SECTION_TEXT_MAX:
                raise BlockKitError(f"error text for {block_id!r} must be a non-empty string")
            if view is not None and block_id not in {
                b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"
            }:
                raise BlockKitError(f"errors names {block_id!r}, not an input of the view")
        extra = set(body) - {"response_action", "errors"}
    elif action in ("update", "push"):
        assert_valid_view(body.get("view", {}))
        if body["view"].get("type") != "modal":
            raise BlockKitError("response_action update/push needs a modal")
        extra = set(body) - {"response_action", "view"}
    elif action == "clear":
        extra = set(body) - {"response_action"}
    else:
        raise BlockKitError(f"unknown response_action {action!r}")
    if extra:
        raise BlockKitError(f"unknown keys in view response: {sorted(extra)}")


def _decoded(body: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded request body with JSON-string ``blocks`` / ``view`` parsed back."""
    out = dict(body)
    for key in ("blocks", "view"):
        if isinstance(out.get(key), str):
            try:
                out[key] = json.loads(out[key])
            except ValueError as exc:
                raise BlockKitError(f"{key} is not valid JSON: {exc}") from None
    return out


def _require(body: Mapping[str, Any], method: str, *keys: str) -> None:
    for key in keys:
        if not body.get(key):
            raise BlockKitError(f"{method} needs {key}")


_DELIVERY_KEYS = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
}


def validate_api_call(method: str, body: Mapping[str, Any]) -> None:
    """Validate one call the bot makes to Slack, as a Web API stand-in recorded it.

    `method` is a Web API method (chat.postMessage, chat.update, chat.postEphemeral,
    views.open, views.update, views.push, views.publish), ``"response_url"`` for a post to
    an interaction's response_url, or ``"view_submission"`` for the ack body of a modal
    submission. Other methods are refused, so new call sites get a check written for them.
    """
    body = _decoded(body)
    if method in _DELIVERY_KEYS:
        _require(body, method, *_DELIVERY_KEYS[method])
        if "response_type" in body or "replace_original" in body or "delete_original" in body:
            raise BlockKitError(f"{method} does not take response_url keys")
        assert_valid_message(body)
    elif method == "response_url":
        if body.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
            raise BlockKitError("response_type must be ephemeral or in_channel")
        for key in ("replace_original", "delete_original"):
            if key in body and not isinstance(body[key], bool):
                raise BlockKitError(f"{key} must be a boolean")
        if "channel" in body:
            raise BlockKitError("a response_url post does not name a channel")
        assert_valid_message(body)
    elif method in ("views.open", "views.push"):
        _require(body, method, "trigger_id", "view")
        if body["view"].get("type") != "modal":
            raise BlockKitError(f"{method} opens modals only")
        assert_valid_view(body["view"])
    elif method == "views.update":
        _require(body, method, "view")
        if not body.get("view_id") and not body.get("external_id"):
            raise BlockKitError("views.update needs view_id or external_id")
        if body["view"].get("type") != "modal":
            raise BlockKitError("views.update updates modals only")
        assert_valid_view(body["view"])
    elif method == "views.publish":
        _require(body, method, "user_id", "view")
        if body["view"].get("type") != "home":
            raise BlockKitError("views.publish publishes home views only")
        assert_valid_view(body["view"])
    elif method == "view_submission":
        assert_valid_view_response(body)
    else:
        raise BlockKitError(f"no validation written for Slack method {method!r}")
