"""Guide steps 2 and 3: History (overflow menu per row) and the error log modal whose entries
expand and collapse in place (views.update with the view's hash)."""

from __future__ import annotations

from bot import ids
from bot.codec import HistoryChoice, MenuChoice, ReplaceFlowState, decode, encode_option
from bot.domain import JobStatus, ScanStatus
from tests.support.query import all_text, button_texts, overflows
from tests.support.slackbot import (
    ADMIN,
    AUTH_ERROR,
    OPERATOR,
    READER,
    THROTTLED,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)


def _history(bot: Bot) -> tuple[dict, dict[str, int]]:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    scans = {
        "completed": seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")]),
        "stopped": seed_scan(bot.rt, "web", ScanStatus.STOPPED, [JobSpec("global")]),
        "partial": seed_scan(
            bot.rt,
            "web",
            ScanStatus.PARTIALLY_COMPLETED,
            [JobSpec("global"), JobSpec("us-east-1", JobStatus.FAILED, THROTTLED)],
        ),
        "failed": seed_scan(
            bot.rt,
            "web",
            ScanStatus.FAILED,
            [
                JobSpec("global", JobStatus.FAILED, AUTH_ERROR),
                JobSpec("us-east-1", JobStatus.FAILED, AUTH_ERROR),
            ],
        ),
    }
    bot.driver.command("history web", READER)
    return bot.slack.last("response_url").body, scans


def test_error_appears_only_for_partially_completed_and_failed(bot: Bot) -> None:
    history, scans = _history(bot)
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


def _open_error_log(bot: Bot, history: dict, scan_id: int, user: str = READER) -> str:
    value = encode_option(HistoryChoice(MenuChoice.ERROR, scan_id))
    bot.driver.click_in_message(
        history,
        ids.HistoryAction.MENU,
        user,
        option_value=value,
        match=lambda e: value in [o["value"] for o in e["options"]],
    )
    return bot.slack.last("views.open").view_id


def test_error_menu_opens_the_log_and_entries_expand_in_place(bot: Bot) -> None:
    history, scans = _history(bot)
    view_id = _open_error_log(bot, history, scans["failed"])
    log = bot.slack.views[view_id]
    assert log["callback_id"] == ids.ErrorLogView.MODAL
    assert all_text(log).count("Authentication failed") == 2
    assert "Provider code" not in all_text(log)  # collapsed: one line per entry

    hash_before = log["hash"]
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER)
    update = bot.slack.last("views.update")
    assert update.body["view_id"] == view_id and update.body["hash"] == hash_before
    expanded = bot.slack.views[view_id]
    text = all_text(expanded)
    assert "Provider code" in text and "InvalidClientTokenId" in text
    assert "Fix credentials" in button_texts(expanded)

    bot.driver.click_in_view(view_id, ids.ErrorLogAction.COLLAPSE, READER)
    assert "Provider code" not in all_text(bot.slack.views[view_id])


def test_a_stale_click_does_not_overwrite_a_newer_view(bot: Bot) -> None:
    history, scans = _history(bot)
    view_id = _open_error_log(bot, history, scans["failed"])
    stale = dict(bot.slack.views[view_id])
    newer = bot.slack.replace_view(view_id, stale)  # the view changed since: new hash
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER, view=stale)
    assert bot.slack.last("views.update").body["hash"] == stale["hash"]
    assert bot.slack.views[view_id]["hash"] == newer["hash"]  # Slack refused: hash_conflict
    assert not bot.slack.calls_to("views.push")  # a benign race, not an error for the user


def test_findings_and_rerun_from_the_menu(bot: Bot) -> None:
    history, scans = _history(bot)
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


def test_fix_credentials_starts_the_guided_replacement_over_the_log(bot: Bot) -> None:
    history, scans = _history(bot)
    view_id = _open_error_log(bot, history, scans["failed"], user=ADMIN)
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, ADMIN)
    bot.driver.click_in_view(view_id, ids.ConnectorAction.REPLACE, ADMIN)
    pushed = bot.slack.last("views.push").view
    assert pushed["callback_id"] == ids.ConnectorView.REPLACE_EXPLAIN
    text = all_text(pushed)
    assert "Saved credentials cannot be edited" in text and "web" in text
    state = decode(pushed["private_metadata"], ReplaceFlowState)
    assert state.scan_id == scans["failed"]


def test_readers_cannot_start_the_replacement(bot: Bot) -> None:
    history, scans = _history(bot)
    view_id = _open_error_log(bot, history, scans["failed"])
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER)
    bot.driver.click_in_view(view_id, ids.ConnectorAction.REPLACE, READER)
    refusal = bot.slack.last("views.push").view
    assert refusal["callback_id"] == ids.ErrorLogView.MODAL
    assert "Only CSPM admins may manage connectors" in all_text(refusal)


def test_history_refreshes_and_pages_in_place(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    ids_ = [seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")]) for _ in range(17)]
    bot.driver.command("history web", READER)
    first = bot.slack.last("response_url").body
    assert "Page 1 of 2 · 17 scans" in all_text(first)
    bot.driver.click_in_message(
        first, ids.ProjectAction.HISTORY, READER, match=lambda e: e["text"]["text"] == "Refresh"
    )
    assert bot.slack.last("response_url").body["replace_original"] is True
    bot.driver.click_in_message(first, ids.PageAction.NEXT, READER)
    second = bot.slack.last("response_url").body
    assert second["replace_original"] is True and "Page 2 of 2" in all_text(second)
    assert f"Scan #{ids_[0]}" in all_text(second)  # the oldest scan is on the last page


def test_rerun_from_the_error_log_reports_in_the_dm(bot: Bot) -> None:
    history, scans = _history(bot)
    view_id = _open_error_log(bot, history, scans["partial"], user=OPERATOR)
    bot.driver.click_in_view(
        view_id, ids.ScanAction.RERUN, OPERATOR, match=lambda e: e["text"]["text"] == "Re-run scan"
    )
    notice = bot.slack.last("views.push").view
    assert "Scan queued" in all_text(notice) and "direct messages" in all_text(notice)
    progress = bot.slack.last("chat.postMessage")
    assert progress.body["channel"] == OPERATOR and "Scan of web" in progress.text()
    assert bot.rt.scans.history("web").scans.items[0].trigger == "rerun"
