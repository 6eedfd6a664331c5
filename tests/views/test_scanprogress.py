"""The scan's live message and its final form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import ids
from bot.codec import ProjectRef, ScanRef, decode
from bot.domain import ScanStatus
from bot.records import ScanRow
from bot.views.common import status_emoji
from bot.views.scanprogress import build_scan_progress, progress_bar
from tests.support import assert_valid_message
from tests.support.query import all_text, button_texts, buttons_with
from tests.views.factories import LONG_NAME, NASTY, T0


def progress(status: ScanStatus, **kw) -> ScanRow:
    values = {
        "scan_id": 42, "project_id": 1, "project_name": "prod-aws", "status": status,
        "jobs_total": 17, "jobs_ok": 10, "jobs_failed": 2, "started_at": T0,
        "finished_at": None if status.is_active else T0 + timedelta(minutes=4),
        "requested_by": "U024BE7LH", "status_message": "",
    }  # fmt: skip
    values.update(kw)
    return ScanRow(**values)


def test_progress_bar() -> None:
    assert progress_bar(0, 0) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(5, 10) == "▰▰▰▰▰▱▱▱▱▱ 50%"
    assert progress_bar(17, 17) == "▰▰▰▰▰▰▰▰▰▰ 100%"
    assert progress_bar(30, 17).endswith("100%")


@pytest.mark.parametrize("status", [ScanStatus.QUEUED, ScanStatus.RUNNING])
def test_live_message_counts_jobs_and_can_stop(status: ScanStatus) -> None:
    m = build_scan_progress(progress(status))
    assert_valid_message(m)
    text = all_text(m)
    assert f"{status_emoji(status)} *Scan of prod-aws* · {status.label}" in text
    assert "12 of 17 jobs done · 2 failed" in text
    assert "by <@U024BE7LH>" in text
    (stop,) = buttons_with(m, ids.ScanAction.STOP)
    assert stop.confirm is not None and decode(stop.value, ScanRef) == ScanRef(42)
    assert button_texts(m) == ["Stop"]


@pytest.mark.parametrize("status", [s for s in ScanStatus if not s.is_active])
def test_final_message(status: ScanStatus) -> None:
    m = build_scan_progress(progress(status, status_message="2 of 17 jobs failed"))
    assert_valid_message(m)
    text = all_text(m)
    assert f"{status_emoji(status)} {status.label} — 2 of 17 jobs failed" in text
    assert "took 4m 0s" in text
    assert not buttons_with(m, ids.ScanAction.STOP)
    expected = ["History", "Findings", "Re-run"]
    if status.has_errors:
        expected.insert(0, "Error")
    assert button_texts(m) == expected
    history = buttons_with(m, ids.ProjectAction.HISTORY)[0]
    assert decode(history.value, ProjectRef) == ProjectRef(1)


def test_scheduled_and_queued_without_times() -> None:
    m = build_scan_progress(
        progress(
            ScanStatus.QUEUED,
            requested_by=None,
            started_at=None,
            jobs_total=0,
            jobs_ok=0,
            jobs_failed=0,
        )
    )
    assert_valid_message(m)
    assert "queued (scheduled)" in all_text(m)


def test_long_texts() -> None:
    for status in ScanStatus:
        m = build_scan_progress(
            progress(status, project_name=LONG_NAME, status_message=NASTY * 100)
        )
        assert_valid_message(m)
        assert "<!channel>" not in all_text(m)
