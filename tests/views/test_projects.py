"""`/cspm projects`: rows, the in-place Jobs accordion, Run/Stop, filter and paging."""

from __future__ import annotations

import pytest

from bot import ids
from bot.codec import FilterRef, PageKind, PageRef, ProjectRef, RowState, ScanRef, decode
from bot.domain import JobStatus, ScanStatus
from bot.records import JobRow, Page
from bot.views.common import status_emoji
from bot.views.projects import PAGE_SIZE, build_projects
from tests.support import assert_valid_message, total_text
from tests.support.query import all_text, blocks_of, buttons, buttons_with, walk
from tests.views.factories import LONG_NAME, NASTY, jobs, project_row


def page_of(rows, page=0):
    return Page.of(rows, page, PAGE_SIZE)


def build(rows, page=0, status_filter=None):
    payload = build_projects(page_of(rows, page), status_filter)
    assert_valid_message(payload)
    return payload


def test_page_size_fits_a_message() -> None:
    assert 5 <= PAGE_SIZE <= 12


def test_each_row_shows_emoji_name_last_scan_and_status_message() -> None:
    payload = build(
        [
            project_row(1),
            project_row(2, status=ScanStatus.FAILED, status_message="17 of 17 jobs failed"),
        ]
    )
    text = all_text(payload)
    assert ":large_orange_circle: *prod-aws-1*" in text
    assert ":red_circle: *prod-aws-2*" in text
    assert "<!date^1714564800^" in text  # last scan, in the reader's time zone
    contexts = [
        e["text"] for b in blocks_of(payload) if b["type"] == "context" for e in b["elements"]
    ]
    assert "*Partially Completed*: 2 of 17 jobs failed: authentication failed" in contexts
    assert "*Failed*: 17 of 17 jobs failed" in contexts


def test_buttons_of_a_finished_project() -> None:
    payload = build([project_row(3)])
    assert [b.text for b in buttons(payload)] == ["Refresh", "Jobs", "History", "Run"]
    assert decode(
        buttons_with(payload, ids.ProjectAction.HISTORY)[0].value, ProjectRef
    ) == ProjectRef(3)
    run = decode(buttons_with(payload, ids.ProjectAction.RUN)[0].value, RowState)
    assert run.project_id == 3  # the list's page and filter travel along for the redraw
    assert not buttons_with(payload, ids.ScanAction.STOP)


@pytest.mark.parametrize("status", [ScanStatus.QUEUED, ScanStatus.RUNNING])
def test_stop_replaces_run_while_a_scan_is_active_and_asks_first(status: ScanStatus) -> None:
    payload = build([project_row(3, status=status, last_scan_id=77)])
    (stop,) = buttons_with(payload, ids.ScanAction.STOP)
    assert stop.style == "danger"
    assert stop.confirm is not None and stop.confirm["confirm"]["text"] == "Stop scan"
    assert decode(stop.value, ScanRef) == ScanRef(77)
    assert not buttons_with(payload, ids.ProjectAction.RUN)


@pytest.mark.parametrize("status", [s for s in ScanStatus if not s.is_active])
def test_no_stop_on_finished_scans(status: ScanStatus) -> None:
    payload = build([project_row(3, status=status)])
    assert not buttons_with(payload, ids.ScanAction.STOP)
    assert f"{status_emoji(status)} *prod-aws-3*" in all_text(payload)


def test_a_never_scanned_project_has_no_jobs_button() -> None:
    payload = build(
        [project_row(4, status=None, status_message="", last_scan_id=None, last_scan_at=None)]
    )
    assert [b.text for b in buttons(payload)] == ["Refresh", "History", "Run"]
    assert "never scanned" in all_text(payload)
    assert "No scan yet" in all_text(payload)


def test_jobs_button_expands_the_row_in_place() -> None:
    collapsed = build([project_row(1), project_row(2)], page=0, status_filter=None)
    jobs_buttons = buttons_with(collapsed, ids.ProjectAction.JOBS)
    assert [b.text for b in jobs_buttons] == ["Jobs", "Jobs"]
    state = decode(jobs_buttons[1].value, RowState)
    assert state == RowState(2, 0, None, frozenset())
    assert state.toggled() == {2}

    # the handler re-renders with the jobs of the toggled rows
    expanded = build([project_row(1), project_row(2, jobs=jobs(failed=2))])
    text = all_text(expanded)
    assert "*Jobs of the latest scan:* 15 succeeded, 2 failed, 17 in all" in text
    assert ":x: Failed `global` — The security token included in the request is invalid." in text
    assert ":white_check_mark: Succeeded `eu-west-1`" in text
    hide = [b for b in buttons_with(expanded, ids.ProjectAction.JOBS) if b.text == "Hide jobs"]
    assert len(hide) == 1
    state = decode(hide[0].value, RowState)
    assert state.expanded == {2} and state.toggled() == frozenset()  # pressed again: collapse
    # the other row's Jobs button remembers that row 2 is open
    other = decode(buttons_with(expanded, ids.ProjectAction.JOBS)[0].value, RowState)
    assert other.toggled() == {1, 2}


def test_failed_jobs_come_first_and_long_job_lists_are_cut() -> None:
    many = [JobRow(f"sub-{i:04d}", JobStatus.SUCCEEDED) for i in range(300)]
    many.append(JobRow("sub-broken", JobStatus.FAILED, "AuthorizationFailed"))
    payload = build([project_row(1, jobs=many)])
    jobs_text = next(
        b["text"]["text"]
        for b in blocks_of(payload)
        if b["type"] == "section" and "Jobs of the latest scan" in b["text"]["text"]
    )
    lines = jobs_text.splitlines()
    assert "sub-broken" in lines[1]
    assert lines[-1].startswith("…and ") and lines[-1].endswith(" more jobs")
    assert "1 failed, 301 in all" in lines[0]


def test_an_expanded_row_without_jobs_says_so() -> None:
    assert "No jobs were created" in all_text(build([project_row(1, jobs=[])]))


def test_empty_state() -> None:
    payload = build([])
    assert "No scan projects yet" in all_text(payload)
    assert [b.text for b in buttons(payload)] == ["Refresh"]


def test_empty_filtered_state_offers_to_show_all() -> None:
    payload = build([], status_filter=ScanStatus.STOPPED)
    assert "No project's latest scan is *Stopped*" in all_text(payload)
    show_all = next(b for b in buttons(payload) if b.text == "Show all")
    assert decode(show_all.value, PageRef) == PageRef(PageKind.PROJECTS, 0, None)


def test_status_filter_select() -> None:
    payload = build([project_row(1)], status_filter=ScanStatus.FAILED)
    select = next(n for n in walk(blocks_of(payload)) if n.get("type") == "static_select")
    assert select["action_id"] == ids.ProjectAction.FILTER
    values = [decode(o["value"], FilterRef) for o in select["options"]]
    assert values == [FilterRef(None), *(FilterRef(s) for s in ScanStatus)]
    assert decode(select["initial_option"]["value"], FilterRef) == FilterRef(ScanStatus.FAILED)
    assert "showing Failed" in all_text(payload)


def test_five_hundred_projects_are_paged() -> None:
    rows = [project_row(i) for i in range(1, 501)]
    pages = -(-500 // PAGE_SIZE)
    first = build(rows, 0, ScanStatus.PARTIALLY_COMPLETED)
    assert f"Page 1 of {pages} · 500 projects" in all_text(first)
    assert [b.text for b in buttons_with(first, ids.PageAction.NEXT)] == ["Next ▶"]
    assert not buttons_with(first, ids.PageAction.PREV)
    nxt = decode(buttons_with(first, ids.PageAction.NEXT)[0].value, PageRef)
    assert nxt == PageRef(PageKind.PROJECTS, 1, ScanStatus.PARTIALLY_COMPLETED)

    middle = build(rows, 3)
    assert buttons_with(middle, ids.PageAction.PREV) and buttons_with(middle, ids.PageAction.NEXT)
    assert decode(buttons_with(middle, ids.PageAction.PREV)[0].value, PageRef).page == 2
    assert f"*prod-aws-{3 * PAGE_SIZE + 1}*" in all_text(middle)

    last = build(rows, pages - 1)
    assert not buttons_with(last, ids.PageAction.NEXT)
    assert "*prod-aws-500*" in all_text(last)
    # jobs buttons on a later page remember the page
    assert decode(buttons_with(last, ids.ProjectAction.JOBS)[0].value, RowState).page == pages - 1


def test_a_single_page_has_no_paging() -> None:
    payload = build([project_row(i) for i in range(1, PAGE_SIZE + 1)])
    assert not buttons_with(payload, ids.PageAction.NEXT)
    assert "Page 1" not in all_text(payload)


def test_worst_case_page_stays_within_slack_limits() -> None:
    huge_jobs = [JobRow("r" * 120, JobStatus.FAILED, NASTY * 20) for _ in range(60)]
    rows = [
        project_row(
            i,
            name=LONG_NAME,
            connector_name=LONG_NAME,
            status=ScanStatus.RUNNING,
            status_message=NASTY * 50,
            last_scan_id=10**15,
            jobs=huge_jobs,
        )
        for i in range(PAGE_SIZE)
    ]
    payload = build(rows * 3, page=1)
    assert len(payload["blocks"]) <= 50
    assert total_text(payload["blocks"]) <= 12_000


def test_user_text_is_escaped_and_cut() -> None:
    payload = build([project_row(1, name=NASTY, status_message=NASTY, connector_name=LONG_NAME)])
    text = all_text(payload)
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in text
    assert LONG_NAME not in text  # cut, with an ellipsis
    assert "prod-xxxx" in text and "…" in text


def test_a_note_under_the_row_just_run_fits_a_full_expanded_page() -> None:
    rows = [
        project_row(
            i,
            name=LONG_NAME,
            status=ScanStatus.RUNNING,
            status_message=NASTY * 20,
            jobs=jobs(40),
        )
        for i in range(PAGE_SIZE)
    ]
    note = "Scan #12 queued by you; progress in <#C0GENERAL>. " + "x" * 400
    payload = build_projects(page_of(rows), None, (3, note))
    assert_valid_message(payload)
    assert total_text(payload["blocks"]) <= 11_000
    texts = all_text(payload)
    assert texts.count("Scan #12 queued by you; progress in <#C0GENERAL>.") == 1
