"""The error log modal: opened from a history row, entries expanded and collapsed in place
(views.update with the view's hash), Fix credentials and Re-run from inside it."""

from __future__ import annotations

from bot import ids
from bot.codec import ReplaceFlowState, decode
from bot.domain import ErrorCategory, JobStatus, ScanStatus
from tests.handlers.screens import history_of_every_status, open_error_log
from tests.support.query import all_text, button_texts
from tests.support.slackbot import (
    ADMIN,
    OPERATOR,
    READER,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)

ASSUME_ROLE_ERROR = (
    ErrorCategory.ASSUME_ROLE_FAILED,
    "AccessDenied",
    "The connector's identity could not assume arn:aws:iam::210987654321:role/CspmAudit.",
)


def test_error_menu_opens_the_log_and_entries_expand_in_place(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    view_id = open_error_log(bot, history, scans["failed"])
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
    history, scans = history_of_every_status(bot)
    view_id = open_error_log(bot, history, scans["failed"])
    stale = dict(bot.slack.views[view_id])
    newer = bot.slack.replace_view(view_id, stale)  # the view changed since: new hash
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER, view=stale)
    assert bot.slack.last("views.update").body["hash"] == stale["hash"]
    assert bot.slack.views[view_id]["hash"] == newer["hash"]  # Slack refused: hash_conflict
    assert not bot.slack.calls_to("views.push")  # a benign race, not an error for the user


def test_fix_credentials_starts_the_guided_replacement_over_the_log(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    view_id = open_error_log(bot, history, scans["failed"], user=ADMIN)
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, ADMIN)
    bot.driver.click_in_view(view_id, ids.ConnectorAction.REPLACE, ADMIN)
    pushed = bot.slack.last("views.push").view
    assert pushed["callback_id"] == ids.ConnectorView.REPLACE_EXPLAIN
    text = all_text(pushed)
    assert "Saved credentials cannot be edited" in text and "web" in text
    state = decode(pushed["private_metadata"], ReplaceFlowState)
    assert state.scan_id == scans["failed"]


def test_readers_cannot_start_the_replacement(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    view_id = open_error_log(bot, history, scans["failed"])
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER)
    bot.driver.click_in_view(view_id, ids.ConnectorAction.REPLACE, READER)
    refusal = bot.slack.last("views.push").view
    assert refusal["callback_id"] == ids.NoticeView.NOT_ALLOWED
    assert refusal["title"]["text"] == "Not allowed"
    assert "Something went wrong" not in all_text(refusal)
    assert "Only CSPM admins may manage connectors" in all_text(refusal)


def test_rerun_from_the_error_log_reports_in_the_dm(bot: Bot) -> None:
    history, scans = history_of_every_status(bot)
    view_id = open_error_log(bot, history, scans["partial"], user=OPERATOR)
    bot.driver.click_in_view(
        view_id, ids.ScanAction.RERUN, OPERATOR, match=lambda e: e["text"]["text"] == "Re-run scan"
    )
    notice = bot.slack.last("views.push").view
    assert "Scan queued" in all_text(notice) and "direct messages" in all_text(notice)
    progress = bot.slack.last("chat.postMessage")
    assert progress.body["channel"] == OPERATOR and "Scan of web" in progress.text()
    assert bot.rt.scans.history("web").scans.items[0].trigger == "rerun"


def test_a_failed_role_assumption_says_to_fix_the_trust_policy_not_the_connector(
    bot: Bot,
) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "acme-prod")
    failed = seed_scan(
        bot.rt,
        "acme-prod",
        ScanStatus.FAILED,
        [JobSpec("global", JobStatus.FAILED, ASSUME_ROLE_ERROR)],
    )
    bot.driver.command("history acme-prod", READER)
    view_id = open_error_log(bot, bot.slack.last("response_url").body, failed)
    assert "Role assumption failed" in all_text(bot.slack.views[view_id])
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, READER)
    expanded = bot.slack.views[view_id]
    text = all_text(expanded)
    assert "role/CspmAudit" in text
    assert "trust policy" in text and "external ID" in text
    assert "Replacing the connector does not help" in text
    assert "Re-run scan" in button_texts(expanded)
    assert "Fix credentials" not in button_texts(expanded)


def test_a_collapsed_line_keeps_the_error_code_and_what_went_wrong(bot: Bot) -> None:
    throttled = (
        "An error occurred (RequestLimitExceeded) when calling the DescribeSecurityGroups "
        "operation (reached max retries: 4): Request limit exceeded for this account in "
        "eu-west-1, slow down"
    )
    seed_connector(bot.rt)
    seed_project(bot.rt, "acme-prod")
    partial = seed_scan(
        bot.rt,
        "acme-prod",
        ScanStatus.PARTIALLY_COMPLETED,
        [
            JobSpec("us-east-1"),
            JobSpec(
                "eu-west-1",
                JobStatus.FAILED,
                (ErrorCategory.TEMPORARY, "RequestLimitExceeded", throttled),
            ),
        ],
    )
    bot.driver.command("history acme-prod", READER)
    view_id = open_error_log(bot, bot.slack.last("response_url").body, partial)
    text = all_text(bot.slack.views[view_id])
    assert "(RequestLimitExceeded)" in text and "eu-west-1, slow down" in text
    assert "Provider code" not in text  # still the collapsed line, shortened in the middle
