"""Muting a finding from Slack through the real Bolt app and the Slack stand-in: *Mute a
finding…* on a findings alert or *Mute* in the findings view (message and modal), the modal
(reason required, expiry), the audit log, ``/cspm mutes`` with Unmute, and the findings view
redrawn showing it muted and leaving it out of counts."""

from __future__ import annotations

from bot import ids
from bot.codec import HistoryChoice, MenuChoice, encode_option
from bot.domain import ScanStatus, Severity
from bot.slack.origin import Origin
from bot.views.findings import PAGE_SIZE, build_findings
from bot.views.findings_alert import FindingLine, FindingsAlertData, build_findings_alert
from storage.models import AuditEvent, Finding
from tests.support.findings import FAILING_TOTAL, seed_many_findings
from tests.support.query import all_text, buttons_with
from tests.support.slackbot import (
    CHANNEL,
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

    # a form opened by an operator, submitted by someone without the role (say, their role
    # was taken away meanwhile): the refusal replaces the form at once, and nothing is muted
    bot.driver.click_in_message(alert, ids.MuteAction.MUTE, OPERATOR, option_value=choice)
    form = bot.slack.last("views.open").result["view"]["id"]
    refused = bot.driver.submit(
        form, {ids.MuteInput.REASON: "sneaky", ids.MuteInput.DAYS: "30"}, READER
    ).json()
    assert refused["response_action"] == "update"
    assert refused["view"]["callback_id"] == ids.NoticeView.NOT_ALLOWED
    assert refused["view"]["title"]["text"] == "Not allowed"
    assert "Only CSPM operators and admins may mute findings" in all_text(refused["view"])

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
    assert "*:zipper_mouth_face: Muted*\n1 (not counted)" in view and "root-0" in view
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


def _mute_first_finding(bot: Bot, where: dict, view_id: str | None = None) -> dict:
    """Press Mute on the view's first finding as the operator and submit the mute modal;
    returns the mute modal as Slack shows it afterwards."""
    first = buttons_with(where, ids.MuteAction.MUTE)[0].value
    match = lambda e: e.get("value") == first  # noqa: E731
    if view_id is None:
        bot.driver.click_in_message(where, ids.MuteAction.MUTE, OPERATOR, match=match)
    else:
        bot.driver.click_in_view(view_id, ids.MuteAction.MUTE, OPERATOR, match=match)
    modal = bot.slack.last("views.push" if view_id else "views.open")
    assert modal.view["callback_id"] == ids.MuteView.SUBMIT
    bot.driver.submit(
        modal.view_id,
        {ids.MuteInput.REASON: "accepted until the migration", ids.MuteInput.DAYS: "7"},
        OPERATOR,
    )
    return bot.slack.views[modal.view_id]


def test_mute_from_the_findings_message_redraws_it(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")], findings=3)
    bot.driver.command("findings web", OPERATOR)
    reply = bot.slack.last("response_url")
    assert "Critical*\n3 failing" in all_text(reply.body)
    assert len(buttons_with(reply.body, ids.MuteAction.MUTE)) == 3

    done = _mute_first_finding(bot, reply.body)
    assert "Muted in *web* until" in all_text(done)
    redrawn = bot.slack.last("response_url")
    assert redrawn.body.get("replace_original") is True  # the same message, redrawn
    text = all_text(redrawn.body)
    assert "Critical*\n2 failing" in text and "*:zipper_mouth_face: Muted*\n1 (not counted)" in text
    assert ":zipper_mouth_face: Muted until" in text
    assert len(buttons_with(redrawn.body, ids.MuteAction.MUTE)) == 2

    bot.driver.command("mutes", READER)
    listing = all_text(bot.slack.last("response_url").body)
    assert "accepted until the migration" in listing and "root-0" in listing


def test_mute_from_the_findings_modal_pages_and_redraws_it(bot: Bot) -> None:
    scan_id = seed_many_findings(bot.rt)
    bot.driver.command("history web", OPERATOR)
    bot.driver.click_in_message(
        bot.slack.last("response_url").body,
        ids.HistoryAction.MENU,
        OPERATOR,
        option_value=encode_option(HistoryChoice(MenuChoice.FINDINGS, scan_id)),
        match=lambda e: any('"findings"' in o["value"] for o in e.get("options", [])),
    )
    view_id = bot.slack.last("views.open").view_id
    first = all_text(bot.slack.views[view_id])
    pages = -(-FAILING_TOTAL // PAGE_SIZE)
    assert f"Page 1 of {pages} · {FAILING_TOTAL} failing findings" in first
    assert "Critical*\n10 failing" in first and "_cis-aws-3.0 1.5_" in first

    # Next, Next, Prev: page 2, with the scan and page carried by the buttons
    bot.driver.click_in_view(view_id, ids.FindingsAction.NEXT, READER)
    bot.driver.click_in_view(view_id, ids.FindingsAction.NEXT, READER)
    bot.driver.click_in_view(view_id, ids.FindingsAction.PREV, READER)
    second = bot.slack.views[view_id]
    assert f"Page 2 of {pages}" in all_text(second)
    assert "High* (60 failing)" in all_text(second)  # critical ones are all on page 1

    done = _mute_first_finding(bot, second, view_id)
    assert "Muted in *web* until" in all_text(done)
    redrawn = all_text(bot.slack.views[view_id])  # the findings modal under the mute modal
    assert f"Page 2 of {pages}" in redrawn
    assert "High*\n59 failing" in redrawn and ":zipper_mouth_face: Muted until" in redrawn
    assert len(buttons_with(bot.slack.views[view_id], ids.MuteAction.MUTE)) == PAGE_SIZE - 1

    bot.driver.command("mutes", READER)
    assert "accepted until the migration" in all_text(bot.slack.last("response_url").body)


def test_only_operators_mute_from_the_findings_view(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")], findings=1)
    bot.driver.command("findings web", READER)
    bot.driver.click_in_message(bot.slack.last("response_url").body, ids.MuteAction.MUTE, READER)
    assert "Only CSPM operators" in all_text(bot.slack.last("response_url").body)
    assert not bot.slack.calls_to("views.open")


def test_mute_from_a_posted_findings_message_updates_that_message(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    scan_id = seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")], findings=2)
    payload = build_findings(bot.ctx.queries.findings_page(scan_id))
    channel, ts = bot.ctx.replier(Origin(kind="block_actions", user_id=OPERATOR)).post(
        CHANNEL, payload
    )
    posted = bot.slack.message(channel, ts)
    first = buttons_with(posted, ids.MuteAction.MUTE)[0].value
    bot.driver.click_in_message(
        posted, ids.MuteAction.MUTE, OPERATOR, channel=channel, ts=ts,
        match=lambda e: e.get("value") == first,
    )  # fmt: skip
    modal = bot.slack.last("views.open")
    bot.driver.submit(
        modal.view_id, {ids.MuteInput.REASON: "known", ids.MuteInput.DAYS: "1"}, OPERATOR
    )
    assert bot.slack.last("chat.update").body["ts"] == ts
    text = all_text(bot.slack.message(channel, ts))
    assert "Critical*\n1 failing" in text and ":zipper_mouth_face: Muted until" in text
