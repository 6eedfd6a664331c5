"""The workspace guard (`bot.slack.app.workspace_guard`) on each shape of request body Slack
sends: where each shape carries its workspace, and what a refused request is answered.

The guard is the app's real global middleware, called as Bolt calls it (`body`, `next`);
the bodies carry the workspace in one place only, so a guard reading the wrong field fails.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from slack_bolt import BoltResponse

from bot.slack.app import REFUSAL, workspace_guard
from bot.slack.origin import Origin

HOME = "T0HOME"
OTHER = "T0OTHER"
RESPONSE_URL = "https://hooks.slack.test/actions/T0/1/abc"


class Run:
    """One call of the guard: whether it let the request through, and what it answered."""

    def __init__(self, team_id: str | None, body: dict[str, Any]) -> None:
        self.told: list[tuple[Origin, dict[str, Any]]] = []
        self.passed = False

        def next_() -> BoltResponse:
            self.passed = True
            return BoltResponse(status=200, body="served")

        guard = workspace_guard(team_id, tell=lambda o, m: self.told.append((o, m)))
        self.response: BoltResponse = guard(body=body, next=next_)


def command(team: str) -> dict[str, Any]:
    return {"command": "/cspm", "text": "projects", "team_id": team, "user_id": "U0A"}


def click(team: str | None = None, user_team: str | None = None, url: bool = True) -> dict:
    body: dict[str, Any] = {"type": "block_actions", "user": {"id": "U0A"}, "actions": []}
    if team is not None:
        body["team"] = {"id": team, "domain": "x"}
    if user_team is not None:
        body["user"]["team_id"] = user_team
    if url:
        body["response_url"] = RESPONSE_URL
    return body


def submission(team: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": team},
        "user": {"id": "U0A"},
        "view": {"id": "V0", "callback_id": "cspm_mute_submit", "private_metadata": ""},
    }


def event(team: str) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": team, "event": {"type": "app_home_opened"}}


@pytest.mark.parametrize(
    "body",
    [command(HOME), click(team=HOME), click(user_team=HOME), submission(HOME), event(HOME)],
    ids=["command", "click-team", "click-user-team", "submission", "event"],
)
def test_requests_from_the_home_workspace_are_served(body: dict[str, Any]) -> None:
    run = Run(HOME, body)
    assert run.passed and run.response.body == "served" and not run.told


@pytest.mark.parametrize(
    "body",
    [command(OTHER), click(team=OTHER), click(user_team=OTHER), submission(OTHER), event(OTHER)],
    ids=["command", "click-team", "click-user-team", "submission", "event"],
)
def test_requests_from_another_workspace_are_refused(body: dict[str, Any]) -> None:
    run = Run(HOME, body)
    assert not run.passed and run.response.status == 200


def test_a_refused_command_is_answered_with_the_refusal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.app")
    response = Run(HOME, command(OTHER)).response
    assert [r.getMessage() for r in caplog.records] == [
        f"refused a request from workspace {OTHER} (this bot serves {HOME})"
    ]
    assert response.body == json.dumps({"response_type": "ephemeral", "text": REFUSAL})


def test_a_refused_click_is_told_through_its_response_url_only() -> None:
    run = Run(HOME, click(team=OTHER))
    assert run.response.body == ""
    [(origin, message)] = run.told
    assert origin.response_url == RESPONSE_URL
    assert REFUSAL in json.dumps(message)
    assert Run(HOME, click(team=OTHER, url=False)).told == []  # nowhere to tell it


def test_a_refused_submission_shows_the_refusal_in_the_modal() -> None:
    run = Run(HOME, submission(OTHER))
    assert REFUSAL in str(run.response.body) and not run.told
    assert "application/json" in str(run.response.headers.get("content-type"))


def test_the_team_id_beats_the_users_team() -> None:
    """A click names its workspace in ``team.id``; ``user.team_id`` is only a fallback."""
    assert not Run(HOME, click(team=OTHER, user_team=HOME)).passed
    assert Run(HOME, click(team=HOME, user_team=OTHER)).passed


def test_a_request_naming_no_workspace_is_refused_unless_it_is_slacks_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.app")
    assert not Run(HOME, click()).passed
    assert not Run(HOME, {"type": "event_callback", "event": {}}).passed
    assert Run(HOME, {"type": "url_verification", "challenge": "c"}).passed
    assert Run(HOME, {"type": "ssl_check"}).passed
    limited = Run(HOME, {"type": "app_rate_limited", "minute_rate_limited": 1})
    assert not limited.passed and limited.response.body == ""
    assert any("rate-limiting" in r.getMessage() for r in caplog.records)
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert refused[0] == f"refused a request from workspace (none) (this bot serves {HOME})"


def test_with_no_workspace_configured_everything_is_served() -> None:
    assert Run(None, command(OTHER)).passed and Run(None, click()).passed
    assert Run("", event(OTHER)).passed
