"""Values and private_metadata are decoded once, by listener middleware, before the ack: a
tampered or wrong-kind value is refused with a clear message (never a traceback), nothing
runs, and no handler decodes anything itself."""

from __future__ import annotations

import ast
from pathlib import Path

import handlers
from bot import ids
from bot.codec import ScanRef, encode
from tests.handlers.screens import history_of_every_status, open_error_log
from tests.support.query import all_text
from tests.support.slackbot import ADMIN, READER, Bot, seed_connector, seed_project

F = ids.ConnectorInput
UNREADABLE = "carries data the bot cannot read"


def test_a_tampered_view_state_is_refused_in_the_modal(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    view_id = open_error_log(bot, history, scans["failed"])
    tampered = dict(bot.slack.views[view_id], private_metadata='{"t":"el","scan_id":-1}')
    result = bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER, view=tampered)
    assert result.status == 200 and result.body == b""
    refusal = all_text(bot.slack.last("views.push").view)
    assert UNREADABLE in refusal and "Traceback" not in refusal
    assert not bot.slack.calls_to("views.update")  # the log was not re-rendered


def test_a_tampered_form_state_is_refused_by_the_ack(bot: Bot) -> None:
    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    bot.slack.views[view_id]["private_metadata"] = "not json at all"
    values = {F.NAME: "new-one", F.PROVIDER: "aws", F.ACCESS_KEY_ID: "AKIA" + "Q" * 16,
              F.SECRET_ACCESS_KEY: "s" * 40}  # fmt: skip
    ack = bot.driver.submit(view_id, values, ADMIN).json()
    assert ack["response_action"] == "update"
    assert UNREADABLE in all_text(ack["view"]) and "Traceback" not in all_text(ack["view"])
    assert not bot.slack.calls_to("views.update") and bot.rt.connectors.list() == []


def test_a_value_of_the_wrong_kind_is_refused(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    for block in listing["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == ids.ProjectAction.HISTORY:
                element["value"] = encode(ScanRef(1))  # a scan where a project is expected
    bot.driver.click_in_message(listing, ids.ProjectAction.HISTORY, READER)
    answer = all_text(bot.slack.last("response_url").body)
    assert "carries data of the wrong kind" in answer and "History ·" not in answer


def test_no_handler_decodes_a_value_itself() -> None:
    for path in Path(handlers.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "bot.codec":
                imported = {alias.name for alias in node.names}
                assert not imported & {"decode", "decode_any"}, f"{path.name} decodes itself"
