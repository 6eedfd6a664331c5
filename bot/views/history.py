"""A project's scan history (the History tab).

One row per scan: date, status (emoji + label), trigger and who asked, jobs ok / failed, and
the status message. Each finished row has the three-dot menu as an overflow menu:
``Error`` (only for Partially Completed and Failed scans), ``Findings`` and ``Re-run``.
A queued or running row has a Stop button instead.
"""

from __future__ import annotations

from bot import ids
from bot.codec import (
    HistoryChoice,
    MenuChoice,
    PageKind,
    ProjectRef,
    ScanRef,
    encode,
    encode_option,
)
from bot.records import HistoryData, ScanRow
from bot.views.common import (
    MESSAGE_MAX_BLOCKS,
    TEXT_BUDGET,
    Block,
    Payload,
    actions,
    button,
    context,
    divider,
    duration,
    header,
    md,
    message,
    option,
    overflow,
    paging_blocks,
    section,
    slack_date,
    status_badge,
    status_md,
    stop_button,
    trigger_label,
    user_ref,
)

STATUS_MESSAGE_MAX = 200
_FIXED_BLOCKS = 6  # header, context, actions, divider, paging context + actions
_ROW_BLOCKS = 2  # section with menu, context
_FIXED_TEXT = 400
_ROW_TEXT_MAX = 260 + STATUS_MESSAGE_MAX + 60 + 160  # section, context, menu / Stop confirm

PAGE_SIZE = min(
    (MESSAGE_MAX_BLOCKS - _FIXED_BLOCKS) // _ROW_BLOCKS,
    (TEXT_BUDGET - _FIXED_TEXT) // _ROW_TEXT_MAX,
)
"""Scans per history page."""


def menu_choices(scan: ScanRow) -> list[MenuChoice]:
    """The overflow options of a finished scan's row; Error only when it has an error log."""
    choices = [MenuChoice.ERROR] if scan.status.has_errors else []
    return [*choices, MenuChoice.FINDINGS, MenuChoice.RERUN]


_CHOICE_TEXT = {
    MenuChoice.ERROR: "Error",
    MenuChoice.FINDINGS: "Findings",
    MenuChoice.RERUN: "Re-run",
}


def _accessory(scan: ScanRow) -> Block:
    if scan.status.is_active:
        return stop_button(encode(ScanRef(scan.scan_id)))
    options = [
        option(_CHOICE_TEXT[c], encode_option(HistoryChoice(c, scan.scan_id)))
        for c in menu_choices(scan)
    ]
    return overflow(ids.HistoryAction.MENU, options)


def scan_summary(scan: ScanRow) -> str:
    """Two mrkdwn lines about a scan: date and status; trigger, who, and job counts."""
    when = scan.started_at or scan.queued_at
    first = (
        f"*{slack_date(when)}* · {status_badge(scan.status)}" if when else status_badge(scan.status)
    )
    who = trigger_label(scan.trigger)
    if scan.requested_by and scan.trigger != "schedule":
        who += f" by {user_ref(scan.requested_by)}"
    jobs = f"jobs: {scan.jobs_ok} ok, {scan.jobs_failed} failed of {scan.jobs_total}"
    took = duration(scan.started_at, scan.finished_at)
    second = " · ".join(p for p in (who, jobs, f"took {took}" if took else "") if p)
    return f"{first}\n{second}"


def _row(scan: ScanRow) -> list[Block]:
    blocks = [section(scan_summary(scan), accessory=_accessory(scan))]
    note = status_md(scan.status_message, STATUS_MESSAGE_MAX) if scan.status_message.strip() else ""
    blocks.append(context(f"Scan #{scan.scan_id}" + (f" · {note}" if note else "")))
    return blocks


def build_history(data: HistoryData) -> Payload:
    """The history message of one project, one page of scans (newest first)."""
    project, page = data.project, data.scans
    latest_active = page.page == 0 and bool(page.items) and page.items[0].status.is_active
    ref = encode(ProjectRef(project.project_id))
    top: list[Block] = [] if latest_active else [button("Run scan", ids.ScanAction.RUN, ref)]
    top.append(button("Refresh", ids.HistoryAction.REFRESH, ref))
    blocks: list[Block] = [
        header(f"History · {project.name}"),
        context(
            f"{project.provider.upper()} · {md(project.connector_name or 'no connector', 60)}"
            f" · {page.total_items} scan{'s' * (page.total_items != 1)}"
        ),
        actions(*top),
        divider(),
    ]
    if not page.items:
        blocks.append(section("No scans yet. Press *Run scan* to start the first one."))
    for scan in page.items[:PAGE_SIZE]:
        blocks.extend(_row(scan))
    blocks.extend(
        paging_blocks(page, PageKind.HISTORY, noun="scans", project_id=project.project_id)
    )
    return message(f"Scan history of {project.name}", blocks)
