"""The findings view: counts by severity (muted findings left out), one page of failing
resources most severe first with their benchmark controls and Mute, Prev / Next."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import ids
from bot.codec import FindingRef, FindingsPageRef, ScanRef, decode
from bot.domain import SEVERITY_ORDER, ScanStatus, Severity
from bot.records import FindingItem, FindingsPage, Page
from bot.views.findings import PAGE_SIZE, build_findings, build_findings_modal
from tests.support import assert_valid_message, assert_valid_view, total_text
from tests.support.query import all_text, buttons_with
from tests.views.factories import LONG_NAME, NASTY, T0, scan_row


def item(i: int = 0, severity: Severity = Severity.HIGH, **kw: Any) -> FindingItem:
    values: dict[str, Any] = {
        "finding_id": 100 + i,
        "check_id": "aws.s3.bucket_public_access_block",
        "title": "S3 bucket blocks public access",
        "severity": severity,
        "passed": False,
        "resource": f"arn:aws:s3:::bucket-{i}",
        "region": "eu-west-1",
        "controls": {"cis-aws-3.0": ("2.1.4",)},
    }
    values.update(kw)
    return FindingItem(**values)


def data(items: list[FindingItem] | None = None, **kw: Any) -> FindingsPage:
    if items is None:
        items = [
            item(0, Severity.CRITICAL, check_id="aws.iam.root_mfa", title="Root has MFA",
                 resource="arn:aws:iam::123456789012:root", region="",
                 controls={"cis-aws-3.0": ("1.5",)}),
            item(1),
            item(2),
        ]  # fmt: skip
    values: dict[str, Any] = {
        "scan": scan_row(42, ScanStatus.COMPLETED, project_name="prod-aws", finished_at=T0),
        "failed_counts": {Severity.CRITICAL: 1, Severity.HIGH: 2},
        "muted": 0,
        "passed": 120,
        "findings": Page(items, 0, 1, len(items)),
    }
    values.update(kw)
    return FindingsPage(**values)


def both(d: FindingsPage) -> tuple[dict, dict]:
    m = build_findings(d)
    v = build_findings_modal(d)
    assert_valid_message(m)
    assert_valid_view(v)
    assert v["callback_id"] == ids.FindingsView.MODAL
    ref = decode(v["private_metadata"], FindingsPageRef)
    assert ref == FindingsPageRef(d.scan.scan_id, d.findings.page)
    return m, v


def test_counts_by_severity_and_failing_resources_with_controls_and_mute() -> None:
    m, v = both(data())
    text = all_text(m)
    assert "Findings · prod-aws" in text
    assert "*:bangbang: Critical*\n1 failing" in text
    assert "*:exclamation: High*\n2 failing" in text
    assert "*:warning: Medium*\n0 failing" in text
    assert "*:white_check_mark: Passed*\n120" in text
    assert "`aws.iam.root_mfa` Root has MFA\n`arn:aws:iam::123456789012:root`" in text
    assert "_cis-aws-3.0 1.5_" in text and "_cis-aws-3.0 2.1.4_" in text
    assert "`arn:aws:s3:::bucket-1` (eu-west-1)" in text
    assert text.index("Critical* (1 failing)") < text.index("High* (2 failing)")
    mutes = buttons_with(m, ids.MuteAction.MUTE)
    assert [decode(b.value, FindingRef) for b in mutes] == [
        FindingRef(100, 42, 0), FindingRef(101, 42, 0), FindingRef(102, 42, 0)
    ]  # fmt: skip
    assert len(buttons_with(v, ids.MuteAction.MUTE)) == 3
    assert not buttons_with(m, ids.FindingsAction.NEXT)  # a single page


def test_a_muted_finding_is_marked_with_its_expiry_and_has_no_mute_button() -> None:
    until = T0 + timedelta(days=7)
    d = data(
        [item(0, muted_until=until), item(1)],
        failed_counts={Severity.HIGH: 1},
        muted=1,
    )
    m, _ = both(d)
    text = all_text(m)
    assert ":zipper_mouth_face: Muted until <!date^" in text and ": not counted" in text
    assert "*:zipper_mouth_face: Muted*\n1 (not counted)" in text
    assert "*:exclamation: High*\n1 failing" in text
    assert [
        decode(b.value, FindingRef).finding_id for b in buttons_with(m, ids.MuteAction.MUTE)
    ] == [101]


def test_no_failing_findings() -> None:
    m, _ = both(data([], failed_counts={}))
    assert ":white_check_mark: No failing findings." in all_text(m)


def test_scans_with_errors_point_to_the_error_log() -> None:
    m, _ = both(data(scan=scan_row(42, ScanStatus.PARTIALLY_COMPLETED, project_name="p")))
    (button,) = buttons_with(m, ids.ErrorLogAction.OPEN)
    assert decode(button.value, ScanRef) == ScanRef(42)
    assert "not checked" in all_text(m)
    m, _ = both(data(scan=scan_row(42, ScanStatus.RUNNING, project_name="p")))
    assert "not final" in all_text(m)


def test_pages_carry_the_scan_and_the_page() -> None:
    items = [item(i, Severity.LOW) for i in range(PAGE_SIZE)]
    middle = data(items, failed_counts={Severity.LOW: 1000}, findings=Page(items, 3, 67, 1000))
    m, v = both(middle)
    (prev,) = buttons_with(m, ids.FindingsAction.PREV)
    (nxt,) = buttons_with(m, ids.FindingsAction.NEXT)
    assert decode(prev.value, FindingsPageRef) == FindingsPageRef(42, 2)
    assert decode(nxt.value, FindingsPageRef) == FindingsPageRef(42, 4)
    assert "Page 4 of 67 · 1000 failing findings" in all_text(m)
    assert {decode(b.value, FindingRef).page for b in buttons_with(v, ids.MuteAction.MUTE)} == {3}
    last = data(items, findings=Page(items, 66, 67, 1000))
    m, _ = both(last)
    assert buttons_with(m, ids.FindingsAction.PREV) and not buttons_with(m, ids.FindingsAction.NEXT)


def test_nasty_and_long_texts_stay_within_limits() -> None:
    items = [
        item(i, SEVERITY_ORDER[i % 4], title=NASTY, resource=LONG_NAME * 3, region=NASTY,
             check_id=NASTY, controls={"cis-aws-3.0": tuple(str(n) for n in range(60))},
             muted_until=T0 if i % 2 else None)
        for i in range(PAGE_SIZE)
    ]  # fmt: skip
    counts = dict.fromkeys(Severity, 10**6)
    scan = scan_row(42, ScanStatus.PARTIALLY_COMPLETED, project_name=LONG_NAME)
    m, v = both(data(items, scan=scan, failed_counts=counts, findings=Page(items, 5, 9, 10**6)))
    assert "<!channel>" not in all_text(m)
    assert total_text(m["blocks"]) <= 12_000 and total_text(v["blocks"]) <= 12_000
