"""The playground's Slack workspace over HTTP, as its page uses it: what a user is shown when
the bot behind the page does not answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.playground.aws import refused_url
from bot.playground.workspace import CHANNEL_ID, OPERATOR, VIEWER, Workspace


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    ws = Workspace(signing_secret="s" * 32)
    ws.start()
    ws.bot_url = refused_url() + "/slack/events"  # nothing listens there
    try:
        yield ws
    finally:
        ws.close()


def _channel(ws: Workspace, user: str, channel: str) -> list[dict[str, Any]]:
    state = requests.get(f"{ws.base_url}/play/state", params={"user": user}, timeout=10).json()
    return next(c["messages"] for c in state["channels"] if c["id"] == channel)


def _play(ws: Workspace, what: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = requests.post(f"{ws.base_url}/play/{what}", json=body, timeout=30)
    assert reply.status_code == 200
    return dict(reply.json())


def test_a_command_the_bot_does_not_answer_leaves_a_notice_that_stays(
    workspace: Workspace,
) -> None:
    answer = _play(
        workspace, "command", {"user": OPERATOR.id, "channel": CHANNEL_ID, "text": "/cspm projects"}
    )
    assert answer["ok"] is False
    for _ in range(2):  # every redraw of the page reads the state again: the notice is kept
        notices = [m for m in _channel(workspace, OPERATOR.id, CHANNEL_ID) if m.get("author")]
        assert [(n["author"], n["ephemeral_for"]) for n in notices] == [("Slackbot", OPERATOR.id)]
        assert notices[0]["text"].startswith(
            ":warning: The bot did not answer (it is not listening): nothing was done."
        )
    assert not _channel(workspace, VIEWER.id, CHANNEL_ID)  # shown to the one who typed it only


def test_a_button_in_the_bots_messages_that_gets_no_answer_is_noted_there(
    workspace: Workspace,
) -> None:
    action = {"action_id": "projects.refresh", "block_id": "b", "type": "button", "value": "{}"}
    body = {"user": OPERATOR.id, "channel": "D", "ts": "1700000000.000001", "action": action}
    assert _play(workspace, "action", body)["ok"] is False
    notices = _channel(workspace, OPERATOR.id, "D")
    assert [n.get("author") for n in notices] == ["Slackbot"]
    assert "did not answer" in notices[0]["text"]
    assert not _channel(workspace, OPERATOR.id, CHANNEL_ID)


@pytest.mark.parametrize(
    ("what", "body", "status", "message"),
    [
        ("command", [], 400, "The request body must be a JSON object."),
        ("command", {"text": "/cspm projects"}, 400, "The request lacks user"),
        ("action", {"user": "U1", "action": {"action_id": "x"}}, 400, "lacks channel, ts"),
        ("action", {"user": "U1", "channel": "C1", "ts": "1.2", "action": "x"}, 400, "action must"),
        ("submit", {"user": "U1", "view_id": "V404"}, 409, "This modal is no longer open"),
        ("close", {"user": "U1"}, 400, "The request lacks view_id"),
    ],
)
def test_a_malformed_call_from_the_page_gets_a_clear_refusal_not_a_crash(
    workspace: Workspace, what: str, body: Any, status: int, message: str
) -> None:
    reply = requests.post(f"{workspace.base_url}/play/{what}", json=body, timeout=10)
    assert reply.status_code == status
    assert reply.json()["ok"] is False and message in reply.json()["error"]
    assert not _channel(workspace, OPERATOR.id, CHANNEL_ID)  # nothing reached the bot
