"""The error log modal: one line per entry, expand in place, next step by category."""

from __future__ import annotations

import pytest

from bot import ids
from bot.codec import ConnectorRef, EntryRef, ErrorLogState, ScanRef, SupportRef, decode
from bot.domain import ErrorCategory, ScanStatus
from bot.records import ErrorLogData
from bot.views.common import status_emoji
from bot.views.errorlog import build_error_log
from tests.support import assert_valid_view, total_text
from tests.support.query import all_text, blocks_of, buttons, buttons_with
from tests.views.factories import LONG_NAME, NASTY, entry, project, scan_row


def build(entries, expanded=(), status=ScanStatus.FAILED, scan_id=42):
    data = ErrorLogData(project(), scan_row(scan_id, status), entries)
    view = build_error_log(data, ErrorLogState(scan_id, frozenset(expanded)))
    assert_valid_view(view)
    assert view["callback_id"] == ids.ErrorLogView.MODAL
    assert view["title"]["text"] == "Error log"
    return view


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (ScanStatus.COMPLETED, "Every job of this scan succeeded"),
        (ScanStatus.STOPPED, "stopped by a user"),
        (ScanStatus.RUNNING, "still running"),
        (ScanStatus.QUEUED, "not started yet"),
    ],
)
def test_scans_without_errors_get_an_explanation(status: ScanStatus, words: str) -> None:
    view = build([], status=status)
    assert words in all_text(view)
    assert f"{status_emoji(status)} {status.label}" in all_text(view)
    assert not buttons_with(view, ids.ErrorLogAction.EXPAND)


@pytest.mark.parametrize("status", [ScanStatus.PARTIALLY_COMPLETED, ScanStatus.FAILED])
def test_a_failed_scan_without_entries_offers_support(status: ScanStatus) -> None:
    view = build([], status=status)
    assert "No error entries were recorded" in all_text(view)
    assert decode(buttons_with(view, ids.SupportAction.OPEN)[0].value, SupportRef) == SupportRef(42)


def test_entries_start_collapsed_to_one_line() -> None:
    entries = [
        entry(1),
        entry(2, ErrorCategory.TEMPORARY, job_unit="eu-west-1", message="Rate exceeded"),
    ]
    view = build(entries)
    expand = buttons_with(view, ids.ErrorLogAction.EXPAND)
    assert [decode(b.value, EntryRef) for b in expand] == [EntryRef(1), EntryRef(2)]
    lines = [
        b["text"]["text"] for b in blocks_of(view) if b["type"] == "section" and "accessory" in b
    ]
    assert lines == [
        ":key: `us-east-1` *Authentication failed* — "
        "The security token included in the request is invalid.",
        ":repeat: `eu-west-1` *Temporary cloud error* — Rate exceeded",
    ]
    assert "\n" not in lines[0]
    assert "Provider code" not in all_text(view)  # details hidden until expanded
    assert decode(view["private_metadata"], ErrorLogState) == ErrorLogState(42)


def test_an_expanded_entry_shows_everything_and_collapses_again() -> None:
    view = build([entry(1), entry(2)], expanded={2})
    text = all_text(view)
    assert "*Category*\nAuthentication failed" in text
    assert "*Provider code*\n`InvalidClientTokenId`" in text
    assert "*Job*\n`us-east-1`" in text
    assert "```An error occurred (InvalidClientTokenId)" in text
    assert "Replace the connector with valid credentials." in text
    (collapse,) = buttons_with(view, ids.ErrorLogAction.COLLAPSE)
    assert decode(collapse.value, EntryRef) == EntryRef(2)
    assert len(buttons_with(view, ids.ErrorLogAction.EXPAND)) == 1
    assert decode(view["private_metadata"], ErrorLogState) == ErrorLogState(42, frozenset({2}))


def test_fix_credentials_starts_the_replacement_flow() -> None:
    view = build([entry(1, connector_id=7)], expanded={1})
    (fix,) = buttons_with(view, ids.ConnectorAction.REPLACE)
    assert fix.text == "Fix credentials" and decode(fix.value, ConnectorRef) == ConnectorRef(7)
    assert "cannot be edited" in all_text(view)


def test_fix_credentials_needs_a_connector() -> None:
    view = build([entry(1, connector_id=None)], expanded={1})
    assert not buttons_with(view, ids.ConnectorAction.REPLACE)
    assert "no longer exists" in all_text(view)


def test_temporary_errors_offer_a_rerun() -> None:
    view = build([entry(1, ErrorCategory.TEMPORARY)], expanded={1})
    rerun = [b for b in buttons_with(view, ids.ScanAction.RERUN) if b.style == "primary"]
    assert rerun[0].text == "Re-run scan" and decode(rerun[0].value, ScanRef) == ScanRef(42)
    assert "retried" in all_text(view)


def test_permission_denied_names_the_permission() -> None:
    view = build([entry(1, ErrorCategory.PERMISSION_DENIED)], expanded={1})
    assert "lack the permission `ec2:DescribeRegions`" in all_text(view)
    unnamed = build(
        [entry(1, ErrorCategory.PERMISSION_DENIED, missing_permission=None)], expanded={1}
    )
    assert "lack a permission" in all_text(unnamed)


def test_unknown_errors_lead_to_support_with_the_entry() -> None:
    view = build([entry(5, ErrorCategory.UNKNOWN)], expanded={5})
    refs = [decode(b.value, SupportRef) for b in buttons_with(view, ids.SupportAction.OPEN)]
    assert SupportRef(42, 7, 5) in refs
    assert not buttons_with(view, ids.ConnectorAction.REPLACE)


@pytest.mark.parametrize("category", list(ErrorCategory))
def test_every_category_expanded_is_valid(category: ErrorCategory) -> None:
    view = build([entry(1, category)], expanded={1})
    assert any(
        b.text in ("Fix credentials", "Re-run scan", "Contact support") for b in buttons(view)
    )


def test_huge_details_are_cut_safely() -> None:
    detail = ("```" + NASTY + "\n") * 2000
    view = build(
        [entry(i, detail=detail, message=NASTY * 100) for i in range(1, 6)],
        expanded={1, 2, 3, 4, 5},
    )
    text = all_text(view)
    assert "<!channel>" not in text
    details = [
        b["text"]["text"]
        for b in blocks_of(view)
        if b["type"] == "section" and b.get("text", {}).get("text", "").startswith("*Detail*")
    ]
    assert len(details) == 5
    for d in details:
        body = d.removeprefix("*Detail*\n")
        assert body.startswith("```") and body.endswith("…```")
        assert body.count("```") == 2  # the detail's own fences cannot close the block
    assert total_text(view["blocks"]) <= 12_000


def test_many_entries_are_summarised() -> None:
    entries = [entry(i, list(ErrorCategory)[i % 4], job_unit=LONG_NAME) for i in range(200)]
    for expanded in (set(), set(range(200))):
        view = build(entries, expanded=expanded)
        assert len(view["blocks"]) <= 100
        assert "more entries not shown" in all_text(view)


def test_stale_expanded_ids_are_dropped() -> None:
    view = build([entry(1)], expanded={1, 99})
    assert decode(view["private_metadata"], ErrorLogState).expanded == {1}


def _collapsed_lines(view: dict) -> list[str]:
    return [
        b["text"]["text"] for b in blocks_of(view) if b["type"] == "section" and "accessory" in b
    ]


def test_a_long_message_keeps_the_code_and_its_end() -> None:
    message = (
        "An error occurred (RequestLimitExceeded) when calling the DescribeSecurityGroups "
        "operation (reached max retries: 4): Rate exceeded for this account & region <x>; "
        "try again later"
    )
    view = build([entry(1, ErrorCategory.TEMPORARY, message=message)])
    [line] = _collapsed_lines(view)
    assert "(RequestLimitExceeded)" in line
    assert line.endswith("try again later")  # what went wrong, not "Rate exce…"
    assert "…" in line and len(line) <= 160
    assert "&amp" not in line.split("…")[0][-4:] and "<x>" not in line


def test_several_entries_of_one_job_are_explained_and_name_their_check() -> None:
    view = build(
        [
            entry(1, ErrorCategory.PERMISSION_DENIED, job_unit="global:s3", check_id="s3.public"),
            entry(2, ErrorCategory.PERMISSION_DENIED, job_unit="global:s3", check_id="s3.tls"),
            entry(3, ErrorCategory.TEMPORARY, job_unit="eu-west-1", message="Rate exceeded"),
        ]
    )
    lines = _collapsed_lines(view)
    assert lines[0].startswith(":no_entry: `global:s3` · `s3.public` *Permission denied*")
    assert "`global:s3` · `s3.tls`" in lines[1]
    assert "each check that failed in it gets its own line" in all_text(view)


def test_one_entry_per_job_needs_no_explanation() -> None:
    view = build([entry(1), entry(2, ErrorCategory.TEMPORARY, job_unit="eu-west-1")])
    assert "each check that failed" not in all_text(view)
