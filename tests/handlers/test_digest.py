"""`/cspm digest …` through the real Bolt app: the shared parser, the operator role for
changes (aliases included), ephemeral replies and the digest posted in the channel."""

from __future__ import annotations

import pytest

from tests.support.query import all_text
from tests.support.slackbot import CHANNEL, OPERATOR, READER, Bot


def _reply(bot: Bot) -> str:
    return all_text(bot.slack.last("response_url").body)


def test_an_operator_subscribes_lists_and_unsubscribes(bot: Bot) -> None:
    bot.driver.command("digest subscribe daily 09:00 Europe/Berlin", OPERATOR, channel=CHANNEL)
    reply = bot.slack.last("response_url").body
    assert reply["response_type"] == "ephemeral"
    assert "Daily at 09:00 (Europe/Berlin)" in all_text(reply)

    bot.driver.command("digests ls", READER, channel=CHANNEL)  # reading needs no role
    assert "Daily at 09:00 (Europe/Berlin)" in _reply(bot) and "(this channel)" in _reply(bot)

    bot.driver.command("digest off", OPERATOR, channel=CHANNEL)
    assert "no longer gets" in _reply(bot)


@pytest.mark.parametrize("words", ["subscribe daily 09:00", "unsubscribe", "stop", "off", "now"])
def test_changes_need_an_operator_whatever_the_alias(bot: Bot, words: str) -> None:
    bot.driver.command(f"digest {words}", READER, channel=CHANNEL)
    assert "Only CSPM operators and admins may manage failure digests" in _reply(bot)
    assert not bot.slack.calls_to("chat.postMessage")


def test_now_posts_the_digest_in_the_channel(bot: Bot) -> None:
    bot.driver.command("digest now", OPERATOR, channel=CHANNEL)
    posted = bot.slack.last("chat.postMessage")
    assert posted.body["channel"] == CHANNEL
    assert "digest" in posted.text().lower()


def test_mistakes_get_the_digest_usage(bot: Bot) -> None:
    bot.driver.command("digest frobnicate", OPERATOR, channel=CHANNEL)
    reply = _reply(bot)
    assert "Unknown digest command 'frobnicate'" in reply
    assert "/cspm digest subscribe daily 09:00" in reply
