"""Findings summary by severity, with failing resources cut to "…and N more"."""

from __future__ import annotations

from bot import ids
from bot.codec import ScanRef, decode
from bot.domain import ScanStatus, Severity
from bot.records import FindingsSummary
from bot.views.findings import build_findings, build_findings_modal
from tests.support import assert_valid_message, assert_valid_view, total_text
from tests.support.query import all_text, buttons_with
from tests.views.factories import LONG_NAME, NASTY, T0, finding


def summary(**kw) -> FindingsSummary:
    values = {
        "scan_id": 42,
        "project_name": "prod-aws",
        "status": ScanStatus.COMPLETED,
        "finished_at": T0,
        "failed_counts": {Severity.CRITICAL: 1, Severity.HIGH: 2},
        "passed": 120,
        "failing": [
            finding(
                0,
                Severity.CRITICAL,
                check_id="aws.iam.root_mfa",
                title="Root has MFA",
                resource="arn:aws:iam::123456789012:root",
                region="",
            ),
            finding(1, Severity.HIGH),
            finding(2, Severity.HIGH),
        ],
    }
    values.update(kw)
    return FindingsSummary(**values)


def both(s: FindingsSummary):
    m = build_findings(s)
    v = build_findings_modal(s)
    assert_valid_message(m)
    assert_valid_view(v)
    assert v["callback_id"] == ids.FindingsView.MODAL
    assert decode(v["private_metadata"], ScanRef) == ScanRef(s.scan_id)
    return m, v


def test_counts_by_severity_and_failing_resources() -> None:
    m, v = both(summary())
    text = all_text(m)
    assert "Findings · prod-aws" in text
    assert "*:bangbang: Critical*\n1 failing" in text
    assert "*:exclamation: High*\n2 failing" in text
    assert "*:warning: Medium*\n0 failing" in text
    assert "*:white_check_mark: Passed*\n120" in text
    assert "`aws.iam.root_mfa` Root has MFA — `arn:aws:iam::123456789012:root`" in text
    assert "`arn:aws:s3:::bucket-1` (eu-west-1)" in text
    assert all_text(v).count("bucket-") == 2


def test_no_failing_findings() -> None:
    m, _ = both(summary(failed_counts={}, failing=[]))
    assert ":white_check_mark: No failing findings." in all_text(m)


def test_scans_with_errors_point_to_the_error_log() -> None:
    m, _ = both(summary(status=ScanStatus.PARTIALLY_COMPLETED))
    (button,) = buttons_with(m, ids.ErrorLogAction.OPEN)
    assert decode(button.value, ScanRef) == ScanRef(42)
    assert "not checked" in all_text(m)
    m, _ = both(summary(status=ScanStatus.RUNNING))
    assert "not final" in all_text(m)


def test_thousands_of_findings_are_cut() -> None:
    failing = [
        finding(i, list(Severity)[i % 4], title=NASTY, resource=LONG_NAME) for i in range(4000)
    ]
    counts = dict.fromkeys(Severity, 1000)
    m, v = both(summary(project_name=LONG_NAME, failed_counts=counts, failing=failing))
    assert "…and " in all_text(m)
    assert "<!channel>" not in all_text(m)
    assert total_text(m["blocks"]) <= 12_000 and total_text(v["blocks"]) <= 12_000


def test_counts_beyond_the_listed_rows_are_mentioned() -> None:
    m, _ = both(summary(failed_counts={Severity.HIGH: 500}, failing=[finding(1)]))
    assert "…and 499 more not listed" in all_text(m)
