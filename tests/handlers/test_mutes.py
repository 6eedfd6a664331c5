"""Muting a finding from Slack through the real Bolt app and the Slack stand-in: *Mute a
finding…* on a findings alert, the modal (reason required, expiry), the audit log, ``/cspm
mutes`` with Unmute, and the findings view showing it muted and leaving it out of counts."""

from __future__ import annotations

from bot import ids
from bot.domain import ScanStatus, Severity
from bot.views.findings_alert import FindingLine, FindingsAlertData, build_findings_alert
from storage.models import AuditEvent, Finding
from tests.support.query import all_text
from tests.support.slackbot import (
    OPERATOR,
    READER,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)


def _alert(bot: Bot, scan_id: int) -> tuple[dict, int]:
    """A findings alert of the scan (as the scheduler posts it) and its first finding's id."""
    with bot.rt.db.read() as s:
        rows = s.query(Finding).filter_by(scan_id=scan_id).order_by(Finding.id).all()
        lines = [
            FindingLine(f.check_id, f.resource, f.region, Severity(f.severity), "", f.id)
            for f in rows
        ]
    pid = bot.rt.projects.get("web").project_id
    data = FindingsAlertData(pid, "web", "aws", scan_id, None, Severity.HIGH, new=tuple(lines))
    return build_findings_alert(data)[0], lines[0].finding_id or 0


def test_an_operator_mutes_a_finding_from_its_alert_and_lifts_it(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    scan_id = seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")], findings=3)
    alert, finding_id = _alert(bot, scan_id)
    from bot.codec import FindingRef, encode_option

    choice = encode_option(FindingRef(finding_id))
    bot.driver.click_in_message(alert, ids.MuteAction.MUTE, READER, option_value=choice)
    assert "Only CSPM operators" in all_text(bot.slack.last("response_url").body)

    bot.driver.click_in_message(alert, ids.MuteAction.MUTE, OPERATOR, option_value=choice)
    opened = bot.slack.last("views.open")
    view_id = opened.result["view"]["id"]
    assert opened.view["callback_id"] == ids.MuteView.SUBMIT and "root-0" in all_text(opened.view)

    result = bot.driver.submit(view_id, {ids.MuteInput.REASON: "  "}, OPERATOR)
    assert result.json()["response_action"] == "errors"  # the reason is required
    bot.driver.submit(
        view_id, {ids.MuteInput.REASON: "break-glass account", ids.MuteInput.DAYS: "30"}, OPERATOR
    )
    done = all_text(bot.slack.views[view_id])
    assert "Muted in *web* until" in done and "break-glass account" in done

    bot.driver.command("findings web", READER)
    view = all_text(bot.slack.last("response_url").body)
    assert ":zipper_mouth_face: Muted* (1, not counted above)" in view and "root-0" in view
    assert "Critical*\n2 failing" in view  # 3 failing, 1 muted

    bot.driver.command("mutes", READER)
    listing = bot.slack.last("response_url").body
    assert "break-glass account" in all_text(listing) and "root-0" in all_text(listing)
    bot.driver.click_in_message(listing, ids.MuteAction.UNMUTE, OPERATOR)
    assert "No finding is muted" in all_text(bot.slack.last("response_url").body)
    with bot.rt.db.read() as s:
        actions = [
            e.action for e in s.query(AuditEvent).filter(AuditEvent.action.like("finding.%"))
        ]
    assert actions == ["finding.mute", "finding.unmute"]


def test_mute_views_stay_within_limits() -> None:
    from datetime import UTC, datetime

    from bot.playground.blockkit import assert_valid_blocks, assert_valid_message
    from bot.views.mutes import MuteInfo, build_mute_modal, build_muted_modal, build_mutes

    long = "arn:aws:s3:::" + "b" * 480
    info = MuteInfo(1, "p" * 80, "c" * 80, long, "eu-west-1", Severity.LOW, "r" * 300,
                    datetime(2030, 1, 1, tzinfo=UTC), "slack:U1")  # fmt: skip
    payload = build_mutes([info] * 300)
    assert_valid_message(payload)
    assert "more" in all_text(payload)
    for view in (build_mute_modal(1, "p" * 80, "c" * 80, long, ""), build_muted_modal(info)):
        assert_valid_blocks(view["blocks"], "modal")
