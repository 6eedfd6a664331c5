"""Screens several handler tests start from: a history with a scan of every status, and
its error log modal."""

from __future__ import annotations

from bot import ids
from bot.codec import HistoryChoice, MenuChoice, encode_option
from bot.domain import JobStatus, ScanStatus
from tests.support.slackbot import (
    AUTH_ERROR,
    READER,
    THROTTLED,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)


def history_of_every_status(bot: Bot) -> tuple[dict, dict[str, int]]:
    """Project "web" with a completed, a stopped, a partial and a failed scan; returns its
    history message and the scan ids by status."""
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


def open_error_log(bot: Bot, history: dict, scan_id: int, user: str = READER) -> str:
    """Choose Error in the menu of scan `scan_id`'s history row; returns the modal's id."""
    value = encode_option(HistoryChoice(MenuChoice.ERROR, scan_id))
    bot.driver.click_in_message(
        history,
        ids.HistoryAction.MENU,
        user,
        option_value=value,
        match=lambda e: value in [o["value"] for o in e["options"]],
    )
    return bot.slack.last("views.open").view_id
