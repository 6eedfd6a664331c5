"""A project's scan history: rows, the three-dot menu (Error only when there is a log), paging."""

from __future__ import annotations

import pytest

from bot import ids
from bot.codec import HistoryChoice, MenuChoice, PageKind, PageRef, ProjectRef, ScanRef, decode
from bot.domain import DB_ID_MAX, ScanStatus
from bot.records import HistoryData, Page
from bot.views.history import PAGE_SIZE, build_history
from tests.support import assert_valid_message, total_text
from tests.support.query import all_text, buttons, buttons_with, overflows
from tests.views.factories import LONG_NAME, NASTY, project, scan_row


def build(scans, page=0, **project_kw):
    payload = build_history(HistoryData(project(**project_kw), Page.of(scans, page, PAGE_SIZE)))
    assert_valid_message(payload)
    return payload


def test_rows_show_date_status_trigger_and_job_counts() -> None:
    payload = build(
        [
            scan_row(42, ScanStatus.FAILED),
            scan_row(41, ScanStatus.COMPLETED, trigger="schedule", jobs_ok=17, jobs_failed=0),
        ]
    )
    text = all_text(payload)
    assert "History · prod-aws" in text
    assert (
        "*<!date^1714564800^{date_short_pretty} {time}|2024-05-01 12:00 UTC>* · "
        ":red_circle: Failed" in text
    )
    assert "Manual by <@U024BE7LH> · jobs: 15 ok, 2 failed of 17 · took 3m 12s" in text
    assert ":large_green_circle: Completed" in text
    assert "Scheduled · jobs: 17 ok, 0 failed of 17" in text
    assert "Scan #42 · 2 of 17 jobs failed: authentication failed" in text


@pytest.mark.parametrize("status", list(ScanStatus))
def test_error_appears_only_for_partially_completed_and_failed(status: ScanStatus) -> None:
    payload = build([scan_row(42, status)])
    menus = overflows(payload)
    if status.is_active:
        assert menus == []
        (stop,) = buttons_with(payload, ids.ScanAction.STOP)
        assert stop.confirm is not None and decode(stop.value, ScanRef) == ScanRef(42)
        return
    (menu,) = menus
    labels = [text for text, _ in menu]
    if status in (ScanStatus.PARTIALLY_COMPLETED, ScanStatus.FAILED):
        assert labels == ["Error", "Findings", "Re-run"]
    else:
        assert labels == ["Findings", "Re-run"]
    choices = [decode(value, HistoryChoice) for _, value in menu]
    assert all(c.scan_id == 42 for c in choices)
    assert [c.choice for c in choices][-2:] == [MenuChoice.FINDINGS, MenuChoice.RERUN]


def test_menu_action_id_and_values() -> None:
    payload = build([scan_row(DB_ID_MAX, ScanStatus.FAILED)])  # the longest id there can be
    (menu,) = overflows(payload)
    assert decode(menu[0][1], HistoryChoice) == HistoryChoice(MenuChoice.ERROR, DB_ID_MAX)


def test_run_is_offered_unless_the_latest_scan_is_active() -> None:
    idle = build([scan_row(2, ScanStatus.FAILED)])
    assert [b.text for b in buttons(idle)][:2] == ["Run scan", "Refresh"]
    assert decode(buttons_with(idle, ids.ScanAction.RUN)[0].value, ProjectRef) == ProjectRef(1)
    busy = build([scan_row(3, ScanStatus.RUNNING), scan_row(2, ScanStatus.FAILED)])
    assert not buttons_with(busy, ids.ScanAction.RUN)


def test_empty_history() -> None:
    payload = build([])
    assert "No scans yet" in all_text(payload)
    assert "0 scans" in all_text(payload)


def test_a_queued_scan_without_start_time() -> None:
    payload = build(
        [
            scan_row(
                5,
                ScanStatus.QUEUED,
                started_at=None,
                finished_at=None,
                jobs_ok=0,
                jobs_failed=0,
                jobs_total=0,
            )
        ]
    )
    assert ":hourglass_flowing_sand: Queued" in all_text(payload)


def test_long_history_is_paged_and_stays_within_limits() -> None:
    scans = [
        scan_row(
            1000 - i,
            list(ScanStatus)[i % 6],
            status_message=NASTY * 30,
            requested_by="someone-" + "y" * 90,
        )
        for i in range(300)
    ]
    pages = -(-300 // PAGE_SIZE)
    first = build(scans, 0, name=LONG_NAME, connector_name=LONG_NAME)
    assert f"Page 1 of {pages} · 300 scans" in all_text(first)
    nxt = decode(buttons_with(first, ids.PageAction.NEXT)[0].value, PageRef)
    assert nxt == PageRef(PageKind.HISTORY, 1, None, 1)
    for page in range(pages):
        payload = build(scans, page, name=LONG_NAME)
        assert len(payload["blocks"]) <= 50
        assert total_text(payload["blocks"]) <= 12_000
    assert "<!channel>" not in all_text(first)


def test_who_stopped_a_scan_is_a_mention_and_nothing_else_is() -> None:
    payload = build(
        [
            scan_row(
                43,
                ScanStatus.STOPPED,
                status_message="Stopped by <@U0STOPPER> after 1 of 3 jobs finished",
            ),
            scan_row(42, ScanStatus.FAILED, status_message="<!channel> <@U0X|spoof> <https://x>"),
        ]
    )
    text = all_text(payload)
    assert "Stopped by <@U0STOPPER> after 1 of 3 jobs finished" in text
    assert "&lt;!channel&gt; &lt;@U0X|spoof&gt; &lt;https://x&gt;" in text


def test_a_mention_elsewhere_in_a_status_message_stays_escaped() -> None:
    text = all_text(
        build([scan_row(43, ScanStatus.FAILED, status_message="1 of 1 jobs failed (<@U0X>)")])
    )
    assert "(&lt;@U0X&gt;)" in text
