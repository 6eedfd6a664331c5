"""Run, Stop (with confirm) and Re-run through Slack, with real scans against AWS on loopback
(moto with auth on): the progress message is posted, updated as jobs finish (throttled) and
ends with the final status; failures alert the project's channel."""

from __future__ import annotations

import itertools
import time
from typing import Any

from bot import ids
from bot.codec import ProjectRef, ScanRef, decode, encode
from bot.domain import ScanStatus
from storage.models import AuditEvent
from tests.support.query import all_text, button_texts, buttons_with
from tests.support.slackbot import (
    CHANNEL,
    GROUP_MEMBER,
    OPERATOR,
    READER,
    Bot,
)
from tests.support.slackdriver import HttpResult

INTERVAL = 0.3


def _setup(make_bot: Any, aws: Any, *, admin: bool = True, url: str | None = None) -> Bot:
    bot = make_bot(aws_endpoint_url=url or aws.url, progress_interval=INTERVAL)
    key_id, secret = aws.create_user("scanner", admin=admin)
    bot.rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    bot.rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1"])
    return bot


def _wait_status(bot: Bot, scan_id: int, timeout: float = 30) -> ScanStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = bot.rt.scans.get(scan_id).status
        if not status.is_active:
            return status
        time.sleep(0.05)
    raise AssertionError(f"scan {scan_id} did not finish")


def _final_message(bot: Bot, channel: str, ts: str, label: str) -> dict:
    bot.slack.wait_for(
        "chat.update",
        lambda c: c.body["ts"] == ts and f"· {label}" in c.text(),
        timeout=15,
    )
    return bot.slack.message(channel, ts)


def _run_from_list(bot: Bot, user: str) -> HttpResult:
    bot.driver.command("projects", user)
    listing = bot.slack.last("response_url").body
    return bot.driver.click_in_message(listing, ids.ProjectAction.RUN, user)


def test_run_posts_progress_that_updates_until_completed(make_bot: Any, aws: Any) -> None:
    bot = _setup(make_bot, aws)
    _run_from_list(bot, OPERATOR)
    posted = bot.slack.last("chat.postMessage")
    assert posted.body["channel"] == CHANNEL
    assert "Scan of web" in posted.text()
    scan_id = bot.rt.projects.get("web").last_scan_id
    assert scan_id is not None
    redrawn = bot.slack.last("response_url").body  # the list, redrawn in place
    notice = all_text(redrawn)
    assert redrawn["replace_original"] is True
    assert f"Scan #{scan_id} queued by you; progress in <#{CHANNEL}>" in notice

    assert _wait_status(bot, scan_id) is ScanStatus.COMPLETED
    ts = posted.result["ts"]
    final = _final_message(bot, CHANNEL, ts, "Completed")
    assert "All 4 jobs succeeded" in all_text(final)
    assert button_texts(final) == ["History", "Findings", "Re-run"]

    updates = [c for c in bot.slack.calls_to("chat.update") if c.body["ts"] == ts]
    gaps = [b.at - a.at for a, b in itertools.pairwise(updates)]
    # throttled per message (arrival times at the stand-in jitter under load: half the interval)
    assert all(gap >= INTERVAL * 0.5 for gap in gaps), gaps
    # job events coalesced: 4 jobs give 8 start/finish events (plus the scan's own), and an
    # update per event would be at least that many; how many intervals a scan spans depends on
    # the machine's load, so the bound is the events, not a fixed count
    assert 1 <= len(updates) < 2 * 4, len(updates)
    with bot.rt.db.read() as s:
        assert s.query(AuditEvent).filter_by(actor=f"slack:{OPERATOR}", action="scan.run").count()


def test_run_redraws_the_row_with_stop_and_a_second_click_starts_nothing(
    make_bot: Any, aws: Any, aws_proxy: Any
) -> None:
    bot = _setup(make_bot, aws, url=aws_proxy.url)
    aws_proxy.delay(1.0, service="iam")  # keeps the scan active while we click
    bot.driver.command("projects", OPERATOR)
    stale = bot.slack.last("response_url").body
    bot.driver.click_in_message(stale, ids.ProjectAction.RUN, OPERATOR)
    scan_id = bot.rt.projects.get("web").last_scan_id
    redrawn = bot.slack.last("response_url").body
    text = all_text(redrawn)
    assert "*Queued*" in text or "*Running*" in text
    assert "Stop" in button_texts(redrawn) and "Run" not in button_texts(redrawn)
    assert decode(buttons_with(redrawn, ids.ScanAction.STOP)[0].value, ScanRef).scan_id == scan_id

    bot.driver.click_in_message(stale, ids.ProjectAction.RUN, OPERATOR)  # the old list's Run
    again = bot.slack.last("response_url").body
    assert f"Not started: Project 'web' already has scan #{scan_id}" in all_text(again)
    assert "Stop" in button_texts(again)
    assert [s.scan_id for s in bot.rt.scans.history("web").scans.items] == [scan_id]
    assert len([c for c in bot.slack.calls_to("chat.postMessage")]) == 1  # one progress message
    _wait_status(bot, scan_id)


def test_readers_are_refused_and_group_members_are_operators(make_bot: Any, aws: Any) -> None:
    bot = _setup(make_bot, aws)
    ack = _run_from_list(bot, READER)
    assert (ack.status, ack.body) == (200, b"")  # acked at once, told after the ack
    refusal = all_text(bot.slack.last("response_url").body)
    assert "Only CSPM operators and admins may run scans" in refusal
    assert bot.rt.projects.get("web").last_scan_id is None
    assert not bot.slack.calls_to("chat.postMessage")

    _run_from_list(bot, GROUP_MEMBER)  # a member of the S… group listed in CSPM_OPERATORS
    assert bot.slack.calls_to("usergroups.users.list")
    scan_id = bot.rt.projects.get("web").last_scan_id
    assert scan_id is not None
    _wait_status(bot, scan_id)


def test_stop_button_asks_first_then_stops_the_scan(
    make_bot: Any, aws: Any, aws_proxy: Any
) -> None:
    bot = _setup(make_bot, aws, url=aws_proxy.url)
    aws_proxy.delay(1.0, service="iam")
    bot.driver.command("scan web", OPERATOR)
    posted = bot.slack.last("chat.postMessage")
    stop = buttons_with(posted.body, ids.ScanAction.STOP)
    assert stop and stop[0].confirm is not None and stop[0].style == "danger"
    scan_id = bot.rt.projects.get("web").last_scan_id
    bot.driver.click_in_message(posted.body, ids.ScanAction.STOP, OPERATOR, ts=posted.result["ts"])
    notice = all_text(bot.slack.last("response_url").body)
    assert f"Stop requested for scan #{scan_id} of web" in notice
    assert _wait_status(bot, scan_id) is ScanStatus.STOPPED
    final = _final_message(bot, CHANNEL, posted.result["ts"], "Stopped")
    assert "Stopped" in all_text(final)
    assert bot.rt.scans.get(scan_id).stopped_by == f"slack:{OPERATOR}"


def test_failed_scan_alerts_the_project_channel_and_reruns(make_bot: Any, aws: Any) -> None:
    from bot.scheduling import start_scheduling

    bot = _setup(make_bot, aws, admin=False)  # valid key, no permissions: jobs fail
    bot.rt.projects.add(
        "alerting", "prod-aws", actor="test", scope=["us-east-1"], alert_channel="C0ALERTS"
    )
    scheduling = start_scheduling(bot.rt, bot.ctx.client)  # alerts come from it, as in serve
    try:
        bot.driver.command("scan alerting", OPERATOR)
        scan_id = bot.rt.projects.get("alerting").last_scan_id
        status = _wait_status(bot, scan_id)
        assert status.has_errors
        alert = bot.slack.wait_for(
            "chat.postMessage", lambda c: c.body["channel"] == "C0ALERTS", timeout=30
        )[0]
    finally:
        scheduling.stop()
    assert "Permission denied" in alert.text() or "permission" in alert.text().lower()
    assert buttons_with(alert.body, ids.ErrorLogAction.OPEN)

    # Re-run from the alert (a posted message): a new scan with its own progress message
    bot.driver.click_in_message(
        alert.body, ids.ScanAction.RERUN, OPERATOR, channel="C0ALERTS", ts=alert.result["ts"]
    )
    rerun_id = bot.rt.projects.get("alerting").last_scan_id
    assert rerun_id != scan_id and bot.rt.scans.get(rerun_id).trigger == "rerun"
    _wait_status(bot, rerun_id)


def test_progress_goes_to_the_dm_when_the_bot_cannot_post_in_the_channel(
    make_bot: Any, aws: Any
) -> None:
    bot = _setup(make_bot, aws)
    bot.slack.not_in_channel.add("C0PRIVATE")
    bot.driver.command("scan web", OPERATOR, channel="C0PRIVATE")
    posted = bot.slack.last("chat.postMessage")
    assert posted.body["channel"] == OPERATOR  # the app's DM with the user
    assert "your direct messages" in all_text(bot.slack.last("response_url").body)
    _wait_status(bot, bot.rt.projects.get("web").last_scan_id)


def test_run_value_for_a_vanished_project_is_answered(make_bot: Any, aws: Any) -> None:
    bot = _setup(make_bot, aws)
    message = {
        "text": "x",
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.ScanAction.RUN,
                        "text": {"type": "plain_text", "text": "Run"},
                        "value": encode(ProjectRef(9999)),
                    },
                    {
                        "type": "button",
                        "action_id": ids.ScanAction.STOP,
                        "text": {"type": "plain_text", "text": "Stop"},
                        "value": encode(ScanRef(9999)),
                    },
                ],
            }
        ],
    }
    bot.driver.click_in_message(message, ids.ScanAction.RUN, OPERATOR)
    assert "No project named 9999" in all_text(bot.slack.last("response_url").body)
    bot.driver.click_in_message(message, ids.ScanAction.STOP, OPERATOR)
    assert "No scan #9999" in all_text(bot.slack.last("response_url").body)
