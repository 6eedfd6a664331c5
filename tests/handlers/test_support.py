"""Contact support: pre-filled, redacted, posted to the support channel with a reference."""

from __future__ import annotations

import re

from bot import ids
from bot.domain import ErrorCategory, JobStatus, ScanStatus
from tests.support.query import all_text
from tests.support.slackbot import (
    ADMIN,
    CHANNEL,
    READER,
    SUPPORT_CHANNEL,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)

LEAKY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
UNKNOWN = (ErrorCategory.UNKNOWN, "InternalFailure", f"boom secret_access_key={LEAKY_SECRET}")


def _failed_scan(bot: Bot) -> int:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    return seed_scan(
        bot.rt,
        "web",
        ScanStatus.FAILED,
        [JobSpec("global", JobStatus.FAILED, UNKNOWN), JobSpec("us-east-1", JobStatus.FAILED)],
    )


def test_support_from_the_error_log_is_prefilled_redacted_and_posted(bot: Bot) -> None:
    scan_id = _failed_scan(bot)
    bot.driver.command(f"errors #{scan_id}", ADMIN)
    log_id = bot.slack.last("views.open").view_id
    bot.driver.click_in_view(log_id, ids.ErrorLogAction.EXPAND, ADMIN)
    bot.driver.click_in_view(log_id, ids.SupportAction.OPEN, ADMIN)
    modal_id = bot.slack.last("views.push").view_id
    modal = bot.slack.views[modal_id]
    assert modal["callback_id"] == ids.SupportView.SUBMIT
    details = next(
        b["element"]["initial_value"]
        for b in modal["blocks"]
        if b.get("block_id") == ids.SupportInput.DETAILS
    )
    assert f"Scan: #{scan_id}" in details and "InternalFailure" in details
    assert LEAKY_SECRET not in details and "[REDACTED]" in details

    result = bot.driver.submit(
        modal_id,
        {ids.SupportInput.DESCRIPTION: "Re-ran twice.", ids.SupportInput.DETAILS: details},
        ADMIN,
    )
    assert result.status == 200 and result.body == b""  # closes the modal
    post = bot.slack.last("chat.postMessage")
    posted_to_support = [
        c for c in bot.slack.calls_to("chat.postMessage") if c.body["channel"] == SUPPORT_CHANNEL
    ]
    assert len(posted_to_support) == 1
    text = posted_to_support[0].text()
    reference = re.search(r"SUP-[0-9A-F]{6}", text)
    assert reference and "Re-ran twice." in text and LEAKY_SECRET not in text
    # the requester gets the reference (in the app's DM: a modal has no channel)
    assert post.body["channel"] == ADMIN and reference.group(0) in post.text()


def test_support_command_confirms_in_the_channel(bot: Bot) -> None:
    _failed_scan(bot)
    bot.driver.command("support web", ADMIN)
    modal_id = bot.slack.last("views.open").view_id
    bot.driver.submit(modal_id, {ids.SupportInput.DESCRIPTION: "help"}, ADMIN)
    confirmation = bot.slack.last("chat.postEphemeral")
    assert confirmation.body["channel"] == CHANNEL and confirmation.body["user"] == ADMIN
    assert "Reference: `SUP-" in confirmation.text()


def test_readers_cannot_contact_support(bot: Bot) -> None:
    scan_id = _failed_scan(bot)
    bot.driver.command(f"errors #{scan_id}", READER)
    log_id = bot.slack.last("views.open").view_id
    bot.driver.click_in_view(log_id, ids.SupportAction.OPEN, READER)
    refusal = bot.slack.last("views.push").view
    assert "Only CSPM admins may contact support" in all_text(refusal)
    assert not [
        c for c in bot.slack.calls_to("chat.postMessage") if c.body["channel"] == SUPPORT_CHANNEL
    ]
