"""The HTTP endpoint and the app around the listeners: signature checks, the workspace
guard, the one error handler, 429 retries, the health check and the Events API handshake."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bot import ids
from tests.support.query import all_text
from tests.support.slackbot import (
    ADMIN,
    CHANNEL,
    OPERATOR,
    READER,
    Bot,
    seed_connector,
    seed_project,
)
from tests.support.slackdriver import SIGNING_SECRET

ACCESS_KEY_ID = ids.connector_field("access_key_id")
SECRET_ACCESS_KEY = ids.connector_field("secret_access_key")


def _sign(body: bytes, ts: str, secret: str = SIGNING_SECRET) -> str:
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def test_a_correctly_signed_command_is_accepted(bot: Bot) -> None:
    body = bot.driver.command_body("help", READER)
    ts = str(int(time.time()))
    result = bot.driver.signed_post(
        body, "application/x-www-form-urlencoded", timestamp=int(ts), signature=_sign(body, ts)
    )
    bot.settle()
    assert result.status == 200
    reply = all_text(bot.slack.last("response_url").body)
    assert "CSPM bot" in reply and "/cspm projects [status]" in reply  # the help was served


@pytest.mark.parametrize("attack", ["tampered", "wrong_secret", "stale", "missing"])
def test_bad_signatures_are_rejected_before_any_handler_runs(bot: Bot, attack: str) -> None:
    body = bot.driver.command_body("scan web", ADMIN)
    ts = int(time.time())
    signature = _sign(body, str(ts))
    if attack == "tampered":
        body = body.replace(b"scan+web", b"stop+web")
    elif attack == "wrong_secret":
        signature = _sign(body, str(ts), "not-the-secret")
    elif attack == "stale":
        ts -= 6 * 60  # outside Slack's 5-minute window
        signature = _sign(body, str(ts))
    if attack == "missing":
        result = bot.driver.request("POST", "/slack/events", body)
    else:
        result = bot.driver.signed_post(
            body, "application/x-www-form-urlencoded", timestamp=ts, signature=signature
        )
    bot.settle()
    assert result.status == 401
    assert [c.method for c in bot.slack.requests if c.method != "auth.test"] == []


REFUSAL = "This CSPM bot serves another Slack workspace; it cannot act for yours."
OTHER_TEAM = "T0OTHERS0"
SERVED_TEAM = "T0STANDIN"  # the workspace the stand-in's requests come from by default


def _web_api_calls(bot: Bot) -> list[str]:
    """Web API methods the bot called (auth.test, made at start-up, left out)."""
    return [c.method for c in bot.slack.requests if c.method not in ("auth.test", "response_url")]


def test_requests_from_another_workspace_are_refused(make_bot: Any) -> None:
    bot = make_bot(slack_team_id="T0THEIRS0")  # the stand-in's requests come from T0STANDIN
    result = bot.driver.command("projects", ADMIN)
    assert result.status == 200
    assert result.json()["text"] == REFUSAL
    message = {"blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": ids.ConnectorAction.CREATE,
         "text": {"type": "plain_text", "text": "New connector"}}]}]}  # fmt: skip
    result = bot.driver.click_in_message(message, ids.ConnectorAction.CREATE, ADMIN)
    assert result.status == 200 and result.body == b""
    # The refusal goes back through the interaction's response_url; no Web API call is made.
    assert [c.method for c in bot.slack.requests if c.method != "auth.test"] == ["response_url"]
    assert REFUSAL in all_text(bot.slack.last("response_url").body)


def _served_workspace(make_bot: Any) -> Bot:
    """A bot that serves the stand-in's workspace, with one project that has a scan."""
    bot = make_bot(slack_team_id=SERVED_TEAM)
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    return bot


def test_clicks_and_submissions_from_the_right_workspace_are_served(make_bot: Any) -> None:
    bot = _served_workspace(make_bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    assert "web" in all_text(listing)

    bot.driver.click_in_message(listing, ids.ProjectAction.HISTORY, READER)
    assert "History · web" in all_text(bot.slack.last("response_url").body)

    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    F = ids.ConnectorInput
    ack = bot.driver.submit(view_id, {F.NAME: "prod-aws", F.PROVIDER: "aws"}, ADMIN).json()
    assert ack["response_action"] == "errors"  # the form's own checks answered
    assert "already exists" in ack["errors"][F.NAME]


def test_clicks_and_submissions_from_a_wrong_workspace_are_refused(make_bot: Any) -> None:
    bot = _served_workspace(make_bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    served_calls = _web_api_calls(bot)

    bot.driver.team_id = OTHER_TEAM  # the same screens, used from another workspace
    result = bot.driver.click_in_message(listing, ids.ProjectAction.HISTORY, READER)
    assert result.status == 200 and result.body == b""
    reply = all_text(bot.slack.last("response_url").body)
    assert REFUSAL in reply and "History ·" not in reply

    F = ids.ConnectorInput
    ack = bot.driver.submit(
        view_id,
        {F.NAME: "new-one", F.PROVIDER: "aws", ACCESS_KEY_ID: "AKIA" + "Q" * 16,
         SECRET_ACCESS_KEY: "s" * 40},
        ADMIN,
    ).json()  # fmt: skip
    assert ack["response_action"] == "update"
    assert REFUSAL in all_text(ack["view"])
    assert _web_api_calls(bot) == served_calls  # nothing was done for the other workspace
    assert [c.name for c in bot.rt.connectors.list()] == ["prod-aws"]


def test_requests_that_name_no_workspace_are_refused(make_bot: Any) -> None:
    bot = _served_workspace(make_bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    before = _web_api_calls(bot)

    bot.driver.team_id = ""  # no team_id, team.id or user.team_id at all
    assert bot.driver.command("projects", READER).json()["text"] == REFUSAL
    bot.driver.click_in_message(listing, ids.ProjectAction.HISTORY, READER)
    assert REFUSAL in all_text(bot.slack.last("response_url").body)
    bot.driver.event({"type": "app_home_opened", "user": READER, "tab": "home"})
    assert _web_api_calls(bot) == before  # no Home published, nothing else done


def test_slack_protocol_messages_pass_without_a_workspace(
    make_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(slack_team_id=SERVED_TEAM)
    body = json.dumps({"token": "t", "challenge": "c0ffee", "type": "url_verification"}).encode()
    result = bot.driver.signed_post(body, "application/json")
    assert result.status == 200 and result.json()["challenge"] == "c0ffee"
    body = json.dumps(
        {"token": "t", "type": "app_rate_limited", "minute_rate_limited": 1518467820,
         "api_app_id": "A0CSPM"}
    ).encode()  # fmt: skip
    with caplog.at_level(logging.WARNING):
        result = bot.driver.signed_post(body, "application/json")
    assert result.status == 200
    assert _web_api_calls(bot) == []
    # the operator learns from the log that events are being dropped, and since which minute
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        m.startswith("Slack is rate-limiting the events sent to this app") and "1518467820" in m
        for m in warned
    ), warned


def test_the_right_workspace_is_served(make_bot: Any) -> None:
    bot = make_bot(slack_team_id=SERVED_TEAM)
    bot.driver.command("help", READER)
    reply = all_text(bot.slack.last("response_url").body)
    assert "CSPM bot" in reply and "/cspm projects [status]" in reply
    assert "serves another Slack workspace" not in reply


def test_unexpected_errors_give_a_reference_and_are_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    with bot.rt.db.unit_of_work() as s:  # a real fault: the table is gone
        s.execute(text("DROP TABLE projects"))
    with caplog.at_level(logging.ERROR):
        bot.driver.command("projects", READER)
    reply = all_text(bot.slack.last("response_url").body)
    found = re.search(r"Reference: `([0-9a-f]{8})`", reply)
    assert found and "Something went wrong" in reply
    assert "Traceback" not in reply and "sqlite" not in reply.lower()
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_a_view_submission_failing_unexpectedly_shows_an_error_view(bot: Bot) -> None:
    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    with bot.rt.db.unit_of_work() as s:
        s.execute(text("DROP TABLE connectors"))
    F = ids.ConnectorInput
    result = bot.driver.submit(
        view_id,
        {F.NAME: "x", F.PROVIDER: "aws", ACCESS_KEY_ID: "AKIA" + "A" * 16,
         SECRET_ACCESS_KEY: "b" * 40},
        ADMIN,
    )  # fmt: skip
    ack = result.json()
    assert ack["response_action"] == "update"
    assert "Reference:" in all_text(ack["view"])


def test_rate_limited_calls_are_retried_after_retry_after(bot: Bot) -> None:
    # 2 s: more than the 1-2 s the client would wait on a 429 that named no delay
    bot.slack.rate_limit("chat.postMessage", times=1, retry_after=2)
    bot.driver.event({"type": "app_home_opened", "user": READER, "tab": "home"})
    bot.driver.click_in_view(READER, ids.HomeAction.HELP, READER)
    posts = [c for c in bot.slack.calls if c.path == "/api/chat.postMessage"]
    assert [c.status for c in posts] == [429, 200]  # a 429, then the retry
    assert posts[1].at - posts[0].at >= 2.0  # the stand-in saw the retry after Retry-After
    reply = bot.slack.last("chat.postMessage")
    assert reply.body["channel"] == READER and "/cspm projects" in reply.text()


def test_healthz_checks_the_database(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    result = bot.driver.request("GET", "/healthz")
    assert result.status == 200 and result.json() == {"status": "ok", "database": "ok"}
    broken = create_engine("sqlite:////proc/no/such/dir/cspm.db")
    monkeypatch.setattr(bot.rt.db, "_read_sessions", sessionmaker(broken))
    result = bot.driver.request("GET", "/healthz")
    assert result.status == 503 and result.json()["database"] == "unreachable"


def test_other_paths_and_methods(bot: Bot) -> None:
    assert bot.driver.request("GET", "/").status == 404
    assert bot.driver.request("GET", "/slack/events").status == 405
    assert bot.driver.request("POST", "/healthz").status == 405


def test_events_url_verification_handshake(bot: Bot) -> None:
    body = json.dumps({"token": "t", "challenge": "c0ffee", "type": "url_verification"}).encode()
    result = bot.driver.signed_post(body, "application/json")
    assert result.status == 200 and result.json()["challenge"] == "c0ffee"


def test_the_ack_is_not_held_up_by_slow_work(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    bot.slack.hang(2.0, times=1, path_prefix="/api/chat.postMessage")  # a slow Slack
    result = bot.driver.command("scan web", OPERATOR, channel=CHANNEL, settle=False)
    assert result.status == 200 and result.body == b""
    assert bot.driver.background is not None and bot.driver.background.pending() == 1
    bot.settle()
    progress = bot.slack.calls_to("chat.postMessage")[0]  # the progress message went out after
    assert progress.body["channel"] == CHANNEL and "Scan of web" in progress.text()


BROKEN = "U0BROKEN1"


def _fail_for_broken_user(body: dict[str, Any], next: Any) -> Any:
    """A fault before any listener runs (as a failing middleware would raise)."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    if user == BROKEN:
        raise RuntimeError("a fault before the ack")
    return next()


def test_an_error_before_the_ack_is_answered_and_nothing_else_runs(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    bot.app.use(_fail_for_broken_user)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body

    result = bot.driver.click_in_message(listing, ids.ProjectAction.HISTORY, BROKEN)
    assert result.status == 200 and result.body == b""
    reply = all_text(bot.slack.last("response_url").body)
    assert "Something went wrong" in reply and "Reference:" in reply
    assert len(bot.slack.calls_to("response_url")) == 2  # the listing, then only the error

    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    ack = bot.driver.submit(view_id, {}, BROKEN).json()
    assert ack["response_action"] == "update" and "Reference:" in all_text(ack["view"])
    assert not bot.slack.calls_to("views.update")
