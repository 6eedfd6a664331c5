"""`/cspm subscribe` and `/cspm subscriptions` through the real Bolt app and the Slack
stand-in: slices per channel, clear answers to mistakes, Remove, operators only."""

from __future__ import annotations

from bot import ids
from bot.domain import Severity
from bot.playground.blockkit import assert_valid_message
from bot.views.findings_alert import SubscriptionInfo, build_subscriptions
from tests.support.query import all_text, button_texts
from tests.support.slackbot import OPERATOR, READER, Bot


def _reply(bot: Bot) -> dict:
    return bot.slack.last("response_url").body


def test_channels_subscribe_to_slices_list_and_remove_them(bot: Bot) -> None:
    bot.driver.command(
        "subscribe findings project=web-* severity=critical", OPERATOR, channel="C0SEC"
    )
    assert "<#C0SEC> now gets *findings · projects `web-*` · every provider · critical" in all_text(
        _reply(bot)
    )
    bot.driver.command("subscribe findings provider=gcp", OPERATOR, channel="C0OPS")
    bot.driver.command("subscribe findings provider=gcp", OPERATOR, channel="C0OPS")
    assert "already gets" in all_text(_reply(bot))

    bot.driver.command("subscriptions", READER, channel="C0OPS")
    listing = _reply(bot)
    text = all_text(listing)
    assert text.index("<#C0OPS> _(this channel)_") < text.index("<#C0SEC>")
    assert "GCP · high and above" in text and button_texts(listing).count("Remove") == 2

    bot.driver.click_in_message(listing, ids.SubscriptionAction.REMOVE, READER)
    assert "Only CSPM operators" in all_text(_reply(bot))
    bot.driver.click_in_message(listing, ids.SubscriptionAction.REMOVE, OPERATOR)
    after = _reply(bot)
    assert after["replace_original"] is True
    assert "C0OPS" not in all_text(after) and "C0SEC" in all_text(after)


def test_failures_slices_are_listed_without_severity_and_removed(bot: Bot) -> None:
    bot.driver.command("subscribe failures provider=aws", OPERATOR, channel="C0AWS")
    reply = _reply(bot)
    assert_valid_message(reply)
    assert "<#C0AWS> now gets *failures · all projects · AWS*" in all_text(reply)
    assert "nobody is mentioned here" in all_text(reply)
    bot.driver.command("sub failures project=Prod-*", OPERATOR, channel="C0PROD")
    assert "failures · projects `prod-*` · every provider*" in all_text(_reply(bot))
    bot.driver.command("subscribe findings", OPERATOR, channel="C0PROD")

    bot.driver.command("subscriptions", READER, channel="C0PROD")
    listing = _reply(bot)
    assert_valid_message(listing)
    text = all_text(listing)
    assert "failures · projects `prod-*` · every provider" in text
    assert "failures · all projects · AWS" in text and "findings · all projects" in text
    assert button_texts(listing).count("Remove") == 3
    bot.driver.click_in_message(listing, ids.SubscriptionAction.REMOVE, OPERATOR)  # C0PROD's
    after = all_text(_reply(bot))
    assert "failures · projects `prod-*`" not in after and "failures · all projects · AWS" in after


def test_mistakes_get_usage_and_readers_are_refused(bot: Bot) -> None:
    bot.driver.command("subscribe failures severity=high", OPERATOR)
    assert "`failures` takes no severity" in all_text(_reply(bot))
    bot.driver.command("subscribe outages", OPERATOR)
    assert "Unknown subscription kind 'outages'" in all_text(_reply(bot))
    bot.driver.command("subscribe failures project=prod/*", OPERATOR)
    assert "A project pattern uses letters" in all_text(_reply(bot))
    bot.driver.command("subscribe findings severity=urgent", OPERATOR)
    assert "Unknown severity 'urgent'" in all_text(_reply(bot))
    bot.driver.command("subscribe findings provider=oracle", OPERATOR)
    assert "Unknown provider 'oracle'" in all_text(_reply(bot))
    bot.driver.command("subscribe findings colour=red", OPERATOR)
    assert "Cannot read 'colour=red'" in all_text(_reply(bot))
    bot.driver.command("subscribe findings", READER)
    assert "Only CSPM operators" in all_text(_reply(bot))
    bot.driver.command("subscriptions", READER)
    assert "No channel subscribes" in all_text(_reply(bot))


def test_a_long_subscription_list_stays_within_limits() -> None:
    rows = [
        SubscriptionInfo(i, f"C{i:08d}", "findings", "web-*" * 20, "aws", Severity.LOW)
        for i in range(300)
    ]
    payload = build_subscriptions(rows, "C00000003")
    assert_valid_message(payload)
    assert "more" in all_text(payload)
