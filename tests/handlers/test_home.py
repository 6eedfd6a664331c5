"""App Home: the dashboard, its Refresh and Help buttons, and the Messages tab."""

from __future__ import annotations

from bot import ids
from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus
from tests.support.query import all_text
from tests.support.slackbot import (
    AUTH_ERROR,
    READER,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)


def test_app_home_shows_the_dashboard_and_refreshes(bot: Bot) -> None:
    bad_key = CloudError(ErrorCategory.INVALID_CREDENTIALS, "Invalid", "bad key", "Replace it.")
    seed_connector(bot.rt, "broken", ok=False, error=bad_key)
    seed_project(bot.rt, "web", "broken")
    seed_project(bot.rt, "db", "broken")
    seed_scan(bot.rt, "web", ScanStatus.FAILED, [JobSpec("global", JobStatus.FAILED, AUTH_ERROR)])
    bot.driver.event({"type": "app_home_opened", "user": READER, "tab": "home"})
    home = bot.slack.last("views.publish")
    assert home.body["user_id"] == READER
    text = all_text(home.view)
    assert "2 projects" in text and "*web*" in text and "*broken*" in text
    assert "Fix credentials" in text

    bot.driver.click_in_view(READER, ids.HomeAction.REFRESH, READER)
    assert len(bot.slack.calls_to("views.publish")) == 2
    bot.driver.click_in_view(READER, ids.HomeAction.HELP, READER)
    help_dm = bot.slack.last("chat.postMessage")
    assert help_dm.body["channel"] == READER and "/cspm projects" in help_dm.text()


def test_messages_tab_does_not_publish(bot: Bot) -> None:
    bot.driver.event({"type": "app_home_opened", "user": READER, "tab": "messages"})
    assert not bot.slack.calls_to("views.publish")
