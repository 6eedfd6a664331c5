"""The front end's short notices: valid Block Kit, escaped text, registered ids."""

from __future__ import annotations

from bot import ids
from bot.views.notices import (
    build_error_modal,
    build_notice,
    build_notice_modal,
    build_rerun_header,
    build_rerun_skipped,
    build_rerun_started_modal,
    build_scan_started,
    build_stop_requested,
)
from tests.support import assert_valid_message, assert_valid_view
from tests.support.query import all_text
from tests.views.factories import LONG_NAME, NASTY


def test_notices_are_valid_and_escaped() -> None:
    for payload in (
        build_notice(NASTY, NASTY),
        build_scan_started(7, NASTY, "C0GENERAL"),
        build_scan_started(7, LONG_NAME, None),
        build_stop_requested(7, NASTY),
        build_rerun_header(NASTY, [NASTY, LONG_NAME] * 200, "U0ADMIN01"),
        build_rerun_skipped([NASTY * 20] * 200),
    ):
        assert_valid_message(payload)
        assert "<!channel>" not in all_text(payload)


def test_scan_started_says_where_progress_goes() -> None:
    assert "<#C0GENERAL>" in all_text(build_scan_started(7, "web", "C0GENERAL"))
    assert "direct messages" in all_text(build_scan_started(7, "web", None))


def test_modals_are_valid() -> None:
    error = build_error_modal(NASTY * 100, "abc12345", callback_id=ids.ErrorLogView.MODAL)
    assert_valid_view(error)
    assert "`abc12345`" in all_text(error) and "<!channel>" not in all_text(error)
    notice = build_notice_modal("Scan queued", NASTY, NASTY, callback_id=ids.ConnectorView.RESULT)
    assert_valid_view(notice)


def test_rerun_header_mentions_the_user_and_lists_projects() -> None:
    text = all_text(build_rerun_header("prod-aws", ["web", "db"], "U0ADMIN01"))
    assert "<@U0ADMIN01>" in text and "• web" in text and "2 projects" in text


def test_rerun_started_modal_links_the_channel() -> None:
    view = build_rerun_started_modal(2, 3, NASTY, "C0GENERAL", callback_id=ids.ConnectorView.RESULT)
    assert_valid_view(view)
    assert "a thread in <#C0GENERAL>" in all_text(view) and "2 of 3 projects" in all_text(view)
    dm = build_rerun_started_modal(1, 1, "x", None, callback_id=ids.ConnectorView.RESULT)
    assert "direct messages" in all_text(dm) and "is re-running" in all_text(dm)
