"""A project's scan history: the overflow menu on each row (Error only for Partially
Completed and Failed scans), Refresh and paging in place."""

from __future__ import annotations

from bot import ids
from bot.codec import HistoryChoice, MenuChoice, decode, encode_option
from bot.domain import ScanStatus
from tests.handlers.screens import history_of_every_status
from tests.support.query import all_text, overflows
from tests.support.slackbot import (
    READER,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)


def test_error_appears_only_for_partially_completed_and_failed(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    menus = {
        decode(options[0][1], HistoryChoice).scan_id: [text for text, _ in options]
        for options in overflows(history)
    }
    assert menus[scans["failed"]] == ["Error", "Findings", "Re-run"]
    assert menus[scans["partial"]] == ["Error", "Findings", "Re-run"]
    assert menus[scans["completed"]] == ["Findings", "Re-run"]
    assert menus[scans["stopped"]] == ["Findings", "Re-run"]
    text = all_text(history)
    assert ":red_circle: Failed" in text and ":white_circle: Stopped" in text


def test_findings_and_rerun_from_the_menu(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    value = encode_option(HistoryChoice(MenuChoice.FINDINGS, scans["completed"]))
    bot.driver.click_in_message(
        history,
        ids.HistoryAction.MENU,
        READER,
        option_value=value,
        match=lambda e: value in [o["value"] for o in e["options"]],
    )
    assert bot.slack.last("views.open").view["callback_id"] == ids.FindingsView.MODAL

    value = encode_option(HistoryChoice(MenuChoice.RERUN, scans["completed"]))
    bot.driver.click_in_message(
        history,
        ids.HistoryAction.MENU,
        READER,
        option_value=value,
        match=lambda e: value in [o["value"] for o in e["options"]],
    )
    assert "Only CSPM operators and admins may run scans" in all_text(
        bot.slack.last("response_url").body
    )
    assert bot.rt.scans.history("web").scans.total_items == 4  # nothing started


def test_history_refreshes_and_pages_in_place(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    ids_ = [seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")]) for _ in range(17)]
    bot.driver.command("history web", READER)
    first = bot.slack.last("response_url").body
    assert "Page 1 of 2 · 17 scans" in all_text(first)
    bot.driver.click_in_message(first, ids.HistoryAction.REFRESH, READER)
    assert bot.slack.last("response_url").body["replace_original"] is True
    bot.driver.click_in_message(first, ids.PageAction.NEXT, READER)
    second = bot.slack.last("response_url").body
    assert second["replace_original"] is True and "Page 2 of 2" in all_text(second)
    assert f"Scan #{ids_[0]}" in all_text(second)  # the oldest scan is on the last page
