"""Slack calls that get no answer in time: sent again (bounded), then logged as what they are,
and the user told where Slack still lets the bot, never "Something went wrong".

The stand-in holds the calls longer than the client's timeout (`CSPM_SLACK_TIMEOUT_SECONDS`,
1 s here), then refuses them, so a call the bot gave up on is not also carried out late.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from bot import ids
from bot.slack.failures import SLACK_UNREACHABLE
from tests.support.query import all_text
from tests.support.slackbot import (
    ADMIN,
    CHANNEL,
    GROUP_MEMBER,
    READER,
    Bot,
    seed_connector,
    seed_project,
)

TIMEOUT = 1
HOLD = TIMEOUT + 0.5


def _late(bot: Bot, path: str, times: int | None) -> None:
    """Answer the next `times` calls under `path` only after the client gave up (then 503)."""
    bot.slack.hang(HOLD, times=times, path_prefix=path)
    bot.slack.fail(503, times=times, path_prefix=path)


def _texts(bot: Bot, method: str) -> list[str]:
    return [all_text(c.body) for c in bot.slack.calls_to(method)]


@pytest.fixture
def slow_bot(make_bot: Callable[..., Bot]) -> Bot:
    bot = make_bot(slack_timeout_seconds=TIMEOUT)
    assert bot.ctx.client.timeout == TIMEOUT  # the setting is the client's timeout
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    return bot


def test_a_reply_slack_answers_late_is_sent_again_and_arrives_once(slow_bot: Bot) -> None:
    _late(slow_bot, "/response/", times=1)
    slow_bot.driver.command("projects", READER)
    replies = _texts(slow_bot, "response_url")
    assert len(replies) == 1 and "web" in replies[0]
    assert slow_bot.slack.count("/response/") == 2  # the timed-out attempt, then the retry
    assert not any("Something went wrong" in t for t in replies)


def test_a_reply_that_never_gets_an_answer_is_logged_and_given_another_way(
    slow_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    _late(slow_bot, "/response/", times=3)  # every attempt of the one response_url post
    with caplog.at_level(logging.WARNING):
        slow_bot.driver.command("projects", READER, channel=CHANNEL)
    assert slow_bot.slack.count("/response/") == 3  # bounded: the first try and 2 retries
    assert _texts(slow_bot, "response_url") == []
    ephemeral = slow_bot.slack.last("chat.postEphemeral").body
    assert ephemeral["user"] == READER and ephemeral["channel"] == CHANNEL
    assert "web" in all_text(ephemeral)  # the answer itself, through the Web API
    logged = [r.getMessage() for r in caplog.records]
    assert any(
        f"Slack did not answer response_url (no answer within {TIMEOUT} s, 3 attempts)" in m
        for m in logged
    ), logged


def test_a_web_api_call_without_answer_is_logged_and_told_to_the_user(
    slow_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    _late(slow_bot, "/api/views.open", times=3)
    with caplog.at_level(logging.ERROR):
        slow_bot.driver.command("connect", ADMIN)
    assert slow_bot.slack.count("/api/views.open") == 3
    reply = _texts(slow_bot, "response_url")
    assert len(reply) == 1 and SLACK_UNREACHABLE in reply[0] and "Reference:" in reply[0]
    assert "Something went wrong" not in reply[0]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "bot.slack"]
    reference = re.search(r"Reference: `(\w+)`", reply[0])
    assert reference is not None
    assert [r.getMessage() for r in errors] == [
        f"Slack did not answer views.open (no answer within {TIMEOUT} s, 3 attempts) "
        f"(reference {reference.group(1)})"
    ]
    assert all(r.exc_info is None for r in errors)  # one clear line, no traceback


def test_a_role_check_slack_does_not_answer_before_the_ack_says_so(
    slow_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    slow_bot.driver.command("projects", ADMIN)
    listing = slow_bot.slack.last("response_url").body
    _late(slow_bot, "/api/usergroups.users.list", times=3)
    with caplog.at_level(logging.ERROR):
        result = slow_bot.driver.click_in_message(listing, ids.ProjectAction.RUN, GROUP_MEMBER)
    assert result.status == 200 and result.body == b""
    reply = _texts(slow_bot, "response_url")[-1]
    assert SLACK_UNREACHABLE in reply and "not allowed" not in reply.lower()
    assert not slow_bot.slack.calls_to("chat.postMessage")  # no scan started, no progress
    assert any(
        "Slack did not answer usergroups.users.list" in r.getMessage() for r in caplog.records
    )
