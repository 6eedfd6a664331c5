"""The validator must accept good payloads and reject each kind of bad one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from bot import ids
from tests.support import (
    BlockKitError,
    assert_valid_blocks,
    assert_valid_message,
    assert_valid_view,
    assert_valid_view_response,
    validate_api_call,
)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _button(text: str = "Run", action_id: str = ids.ScanAction.RUN, **kw: Any) -> dict[str, Any]:
    return {"type": "button", "text": _plain(text), "action_id": action_id, **kw}


def _option(text: str = "Error", value: str = "v1") -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def good_message() -> dict[str, Any]:
    return {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": _plain("Projects")},
            {"type": "section", "text": _md("*prod*"), "accessory": _button()},
            {"type": "section", "fields": [_md("a"), _md("b")]},
            {"type": "context", "elements": [_md("note")]},
            {
                "type": "actions",
                "elements": [
                    _button("Run", ids.ScanAction.RUN, value='{"t":"p","project_id":1}'),
                    _button(
                        "Stop",
                        ids.ScanAction.STOP,
                        style="danger",
                        confirm={
                            "title": _plain("Stop?"),
                            "text": _md("Sure?"),
                            "confirm": _plain("Stop"),
                            "deny": _plain("Cancel"),
                            "style": "danger",
                        },
                    ),
                    {
                        "type": "overflow",
                        "action_id": ids.HistoryAction.MENU,
                        "options": [_option("Error", "a"), _option("Re-run", "b")],
                    },
                    {
                        "type": "static_select",
                        "action_id": ids.ProjectAction.FILTER,
                        "placeholder": _plain("Filter"),
                        "options": [_option("All", "x"), _option("Failed", "y")],
                        "initial_option": _option("All", "x"),
                    },
                ],
            },
            {"type": "divider"},
        ],
    }


def good_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.ConnectorView.REPLACE_SUBMIT,
        "title": _plain("New credentials"),
        "submit": _plain("Validate"),
        "close": _plain("Cancel"),
        "private_metadata": '{"t":"rf","connector_id":1,"provider":"aws"}',
        "blocks": [
            {"type": "section", "text": _md("Replacing *prod*")},
            {
                "type": "input",
                "block_id": ids.connector_field("access_key_id"),
                "label": _plain("Access key ID"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.connector_field("access_key_id"),
                    "max_length": 128,
                },
            },
            {
                "type": "input",
                "block_id": ids.connector_field("secret_access_key"),
                "label": _plain("Secret access key"),
                "hint": _plain("Never shown again"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.connector_field("secret_access_key"),
                    "max_length": 128,
                },
            },
        ],
    }


def good_home() -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": _plain("Dashboard")},
            {"type": "actions", "elements": [_button("Refresh", ids.HomeAction.REFRESH)]},
        ],
    }


def test_good_payloads_pass() -> None:
    assert_valid_message(good_message())
    assert_valid_view(good_modal())
    assert_valid_view(good_home())
    assert_valid_blocks(good_message()["blocks"], "message")


Mutation = Callable[[dict[str, Any]], None]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _md(text)}


MESSAGE_CASES: list[tuple[str, Mutation, str]] = [
    ("51 blocks", lambda m: m.update(blocks=[{"type": "divider"}] * 51), "at most 50"),
    ("section text 3001", lambda m: m["blocks"].append(_section("x" * 3001)), "limit is 3000"),
    (
        "field 2001",
        lambda m: m["blocks"][2]["fields"].append(_md("x" * 2001)),
        "limit is 2000",
    ),
    ("11 fields", lambda m: m["blocks"][2].update(fields=[_md("f")] * 11), "1 to 10"),
    ("header 151", lambda m: m["blocks"][0].update(text=_plain("h" * 151)), "limit is 150"),
    ("header mrkdwn", lambda m: m["blocks"][0].update(text=_md("h")), "must be plain_text"),
    (
        "button text 76",
        lambda m: m["blocks"][4]["elements"][0].update(text=_plain("b" * 76)),
        "limit is 75",
    ),
    (
        "button value 2001",
        lambda m: m["blocks"][4]["elements"][0].update(value="v" * 2001),
        "at most 2000",
    ),
    (
        "bad button style",
        lambda m: m["blocks"][4]["elements"][0].update(style="green"),
        "primary or danger",
    ),
    (
        "overflow 6 options",
        lambda m: m["blocks"][4]["elements"][2].update(
            options=[_option(f"o{i}", f"v{i}") for i in range(6)]
        ),
        "1 to 5 options",
    ),
    (
        "overflow no options",
        lambda m: m["blocks"][4]["elements"][2].update(options=[]),
        "1 to 5 options",
    ),
    (
        "option text 76",
        lambda m: m["blocks"][4]["elements"][2]["options"].__setitem__(0, _option("o" * 76)),
        "limit is 75",
    ),
    (
        "option value 76",
        lambda m: m["blocks"][4]["elements"][2]["options"].__setitem__(0, _option("o", "v" * 76)),
        "option value is 76",
    ),
    (
        "duplicate option values",
        lambda m: m["blocks"][4]["elements"][2].update(options=[_option("a", "v")] * 2),
        "unique",
    ),
    (
        "select 101 options",
        lambda m: m["blocks"][4]["elements"][3].update(
            options=[_option(f"o{i}", f"v{i}") for i in range(101)],
            initial_option=_option("o0", "v0"),
        ),
        "1 to 100 options",
    ),
    (
        "initial option not an option",
        lambda m: m["blocks"][4]["elements"][3].update(initial_option=_option("z", "z")),
        "initial_option",
    ),
    (
        "confirm text 301",
        lambda m: m["blocks"][4]["elements"][1]["confirm"].update(text=_md("c" * 301)),
        "limit is 300",
    ),
    (
        "confirm button 31",
        lambda m: m["blocks"][4]["elements"][1]["confirm"].update(confirm=_plain("c" * 31)),
        "limit is 30",
    ),
    ("empty text", lambda m: m["blocks"].append(_section("")), "non-empty"),
    ("blank text", lambda m: m["blocks"].append(_section("   ")), "non-empty"),
    (
        "total text above 12k",
        lambda m: m["blocks"].extend(_section("x" * 2900) for _ in range(5)),
        "Slack rejects above 12000",
    ),
    (
        "duplicate action_id in one block",
        lambda m: m["blocks"][4]["elements"].append(_button("Again", ids.ScanAction.RUN)),
        "twice in one block",
    ),
    (
        "duplicate block_id",
        lambda m: m["blocks"].extend(
            [
                {"type": "divider", "block_id": ids.ProjectAction.JOBS},
                {"type": "divider", "block_id": ids.ProjectAction.JOBS},
            ]
        ),
        "used twice",
    ),
    (
        "unregistered action_id",
        lambda m: m["blocks"][4]["elements"][0].update(action_id="run_scan_42"),
        "not registered",
    ),
    (
        "missing action_id",
        lambda m: m["blocks"][4]["elements"][0].pop("action_id"),
        "action_id must be",
    ),
    (
        "unregistered block_id",
        lambda m: m["blocks"][1].update(block_id="row-42"),
        "not registered",
    ),
    ("unknown block type", lambda m: m["blocks"].append({"type": "bogus"}), "not allowed"),
    (
        "input block in a message",
        lambda m: m["blocks"].append(copy.deepcopy(good_modal()["blocks"][1])),
        "not allowed on a message",
    ),
    (
        "unknown key in a block",
        lambda m: m["blocks"][1].update(colour="red"),
        "round trip",
    ),
    (
        "None value in a block",
        lambda m: m["blocks"][1].update(accessory=None),
        "element must be a dict",
    ),
    ("11 context elements", lambda m: m["blocks"][3].update(elements=[_md("c")] * 11), "1 to 10"),
    ("no fallback text", lambda m: m.pop("text"), "fallback text"),
    ("unknown message key", lambda m: m.update(attachments=[]), "unknown keys"),
]


@pytest.mark.parametrize(
    ("mutate", "match"), [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES]
)
def test_message_limits_are_enforced(mutate: Mutation, match: str) -> None:
    payload = good_message()
    mutate(payload)
    with pytest.raises(BlockKitError, match=match):
        assert_valid_message(payload)


VIEW_CASES: list[tuple[str, Mutation, str]] = [
    ("101 blocks", lambda v: v.update(blocks=[{"type": "divider"}] * 101), "at most 100"),
    ("title 25", lambda v: v.update(title=_plain("t" * 25)), "limit is 24"),
    ("submit 25", lambda v: v.update(submit=_plain("s" * 25)), "limit is 24"),
    ("close 25", lambda v: v.update(close=_plain("c" * 25)), "limit is 24"),
    ("metadata 3001", lambda v: v.update(private_metadata="m" * 3001), "private_metadata"),
    ("no title", lambda v: v.pop("title"), "needs a title"),
    ("unregistered callback_id", lambda v: v.update(callback_id="my_modal"), "not registered"),
    ("no callback_id", lambda v: v.pop("callback_id"), "callback_id must be"),
    ("input without submit", lambda v: v.pop("submit"), "needs a submit"),
    (
        "max_length 3001",
        lambda v: v["blocks"][1]["element"].update(max_length=3001),
        "max_length must be",
    ),
    (
        "secret echoed",
        lambda v: v["blocks"][2]["element"].update(initial_value="wJalrXUtnFEMI"),
        "never have an initial_value",
    ),
    (
        "initial value over max_length",
        lambda v: v["blocks"][1]["element"].update(initial_value="A" * 129),
        "at most 128",
    ),
    (
        "min above max",
        lambda v: v["blocks"][1]["element"].update(min_length=200),
        "min_length exceeds",
    ),
    ("input without block_id", lambda v: v["blocks"][1].pop("block_id"), "need a registered"),
    (
        "button as input element",
        lambda v: v["blocks"][1].update(element=_button()),
        "cannot be the element",
    ),
    ("label 2001", lambda v: v["blocks"][1].update(label=_plain("l" * 2001)), "limit is 2000"),
    (
        "placeholder 151",
        lambda v: v["blocks"][1]["element"].update(placeholder=_plain("p" * 151)),
        "limit is 150",
    ),
    ("unknown view key", lambda v: v.update(colour="red"), "unknown keys"),
    ("empty blocks", lambda v: v.update(blocks=[]), "at least one block"),
]


@pytest.mark.parametrize(
    ("mutate", "match"), [c[1:] for c in VIEW_CASES], ids=[c[0] for c in VIEW_CASES]
)
def test_view_limits_are_enforced(mutate: Mutation, match: str) -> None:
    view = good_modal()
    mutate(view)
    with pytest.raises(BlockKitError, match=match):
        assert_valid_view(view)


def test_home_rules() -> None:
    home = good_home()
    home["blocks"] = [{"type": "divider"}] * 101
    with pytest.raises(BlockKitError, match="at most 100"):
        assert_valid_view(home)
    home = good_home()
    home["title"] = _plain("Home")
    with pytest.raises(BlockKitError, match="has no title"):
        assert_valid_view(home)
    with pytest.raises(BlockKitError, match="modal or home"):
        assert_valid_view({"type": "workflow_step", "blocks": []})


def test_a_home_may_hold_100_blocks_but_a_message_only_50() -> None:
    blocks = [{"type": "divider"}] * 100
    assert_valid_blocks(blocks, "home")
    assert_valid_blocks(blocks, "modal")
    with pytest.raises(BlockKitError):
        assert_valid_blocks(blocks, "message")


def test_every_problem_is_listed() -> None:
    payload = good_message()
    payload["blocks"][0]["text"] = _plain("h" * 151)
    payload["blocks"][4]["elements"][0]["text"] = _plain("b" * 76)
    with pytest.raises(BlockKitError) as info:
        assert_valid_message(payload)
    assert "limit is 150" in str(info.value) and "limit is 75" in str(info.value)


# -- recorded API calls ---------------------------------------------------------------------


def test_api_calls_accept_valid_bodies_and_json_strings() -> None:
    msg = good_message()
    validate_api_call("chat.postMessage", {"channel": "C1", **msg})
    validate_api_call("chat.update", {"channel": "C1", "ts": "1.2", **msg})
    validate_api_call("chat.postEphemeral", {"channel": "C1", "user": "U1", **msg})
    as_strings = {"channel": "C1", "text": msg["text"], "blocks": json.dumps(msg["blocks"])}
    validate_api_call("chat.postMessage", as_strings)
    validate_api_call("views.open", {"trigger_id": "t", "view": json.dumps(good_modal())})
    validate_api_call("views.push", {"trigger_id": "t", "view": good_modal()})
    validate_api_call("views.update", {"view_id": "V1", "hash": "h", "view": good_modal()})
    validate_api_call("views.publish", {"user_id": "U1", "view": good_home()})
    validate_api_call("response_url", {"replace_original": True, **msg})
    validate_api_call("response_url", {"delete_original": True})
    validate_api_call("view_submission", {"response_action": "update", "view": good_modal()})
    validate_api_call("view_submission", {"response_action": "clear"})
    validate_api_call(
        "view_submission",
        {"response_action": "errors", "errors": {ids.connector_field("access_key_id"): "Bad"}},
    )


API_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("postMessage without channel", "chat.postMessage", good_message(), "needs channel"),
    ("update without ts", "chat.update", {"channel": "C1", **good_message()}, "needs ts"),
    ("ephemeral without user", "chat.postEphemeral", {"channel": "C", **good_message()}, "user"),
    (
        "postMessage with response_url keys",
        "chat.postMessage",
        {"channel": "C1", "replace_original": True, **good_message()},
        "response_url keys",
    ),
    (
        "bad blocks inside a call",
        "chat.postMessage",
        {"channel": "C1", "text": "t", "blocks": [{"type": "header", "text": _md("x")}]},
        "plain_text",
    ),
    ("views.open with a home", "views.open", {"trigger_id": "t", "view": good_home()}, "modals"),
    ("views.open without trigger", "views.open", {"view": good_modal()}, "trigger_id"),
    ("views.update without id", "views.update", {"view": good_modal()}, "view_id"),
    ("publish a modal", "views.publish", {"user_id": "U1", "view": good_modal()}, "home views"),
    (
        "response_url naming a channel",
        "response_url",
        {"channel": "C1", **good_message()},
        "channel",
    ),
    ("bad response_type", "response_url", {"response_type": "public", **good_message()}, "type"),
    ("unknown method", "chat.meMessage", {"channel": "C1"}, "no validation"),
    ("blocks not JSON", "chat.postMessage", {"channel": "C", "text": "t", "blocks": "[{"}, "JSON"),
    (
        "errors for an unregistered block",
        "view_submission",
        {"response_action": "errors", "errors": {"secret_block": "Bad"}},
        "unregistered",
    ),
    (
        "empty error text",
        "view_submission",
        {"response_action": "errors", "errors": {ids.ConnectorInput.NAME: ""}},
        "non-empty",
    ),
    ("unknown response_action", "view_submission", {"response_action": "close"}, "unknown"),
    (
        "update with a home view",
        "view_submission",
        {"response_action": "update", "view": good_home()},
        "modal",
    ),
]


@pytest.mark.parametrize(
    ("method", "body", "match"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_calls_are_rejected(method: str, body: dict[str, Any], match: str) -> None:
    with pytest.raises(BlockKitError, match=match):
        validate_api_call(method, copy.deepcopy(body))


def test_view_response_errors_must_name_inputs_of_the_open_view() -> None:
    body = {"response_action": "errors", "errors": {ids.connector_field("client_secret"): "Bad"}}
    assert_valid_view_response(body)  # registered, and no view given to compare with
    with pytest.raises(BlockKitError, match="not an input"):
        assert_valid_view_response(body, view=good_modal())
    ok = {"response_action": "errors", "errors": {ids.connector_field("secret_access_key"): "Bad"}}
    assert_valid_view_response(ok, view=good_modal())
