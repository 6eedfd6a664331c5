"""`/cspm digest …` through the real Bolt app (signed requests, the Slack stand-in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.scheduling.jobs import stored_next_run_times
from bot.scheduling.ops import scheduling_ops
from tests.support.query import all_text
from tests.support.slackbot import CHANNEL, OPERATOR, READER, Bot, seed_connector, seed_project


def _reply(bot: Bot) -> dict:
    return bot.slack.last("response_url").body


def test_operator_subscribes_the_channel(bot: Bot) -> None:
    bot.driver.command("digest subscribe weekly mon 08:30 Europe/Berlin", OPERATOR)
    reply = _reply(bot)
    assert reply["response_type"] == "ephemeral"
    assert "Weekly on Monday at 08:30 (Europe/Berlin)" in all_text(reply)
    with scheduling_ops(bot.rt) as ops:
        [view] = ops.list_subscriptions()
    assert view.subscription.channel_id == CHANNEL
    [(job, when)] = stored_next_run_times(bot.rt.db.engine).items()
    assert job == f"digest:{view.subscription.id}" and when is not None
    assert when.weekday() == 0 and str(when.tzinfo) == "Europe/Berlin"


def test_readers_may_list_but_not_subscribe(bot: Bot) -> None:
    bot.driver.command("digest subscribe daily 09:00", READER)
    assert "operator" in all_text(_reply(bot)).lower()
    bot.driver.command("digest list", READER)
    assert "No channel gets the failure digest yet" in all_text(_reply(bot))


def test_now_posts_the_digest_in_the_channel(bot: Bot) -> None:
    seed_connector(bot.rt)
    pid = seed_project(bot.rt, "web")
    from tests.scheduling._support import add_scan

    add_scan(bot.rt, pid, "failed", datetime.now(UTC) - timedelta(hours=1), ["temporary"])
    bot.driver.command("digest now", OPERATOR)
    post = bot.slack.last("chat.postMessage")
    assert post.body["channel"] == CHANNEL
    assert "CSPM failure digest (on demand)" in post.text() and "web" in post.text()
