"""The findings view of one scan: failing counts by severity, then its failing resources a
page at a time, most severe first, each with its benchmark control ids and *Mute* (or, when a
mute covers it, until when). Muted findings stay listed, marked, and are left out of the
counts. Prev / Next carry the scan and the page (`FindingsPageRef`).

A page holds at most `PAGE_SIZE` findings, one block each, so the whole surface stays within
Slack's limits whatever the number of findings.
"""

from __future__ import annotations

from bot import ids
from bot.codec import FindingRef, FindingsPageRef, ScanRef, encode, encode_metadata
from bot.domain import SEVERITY_ORDER, Severity
from bot.records import FindingItem, FindingsPage
from bot.views.common import (
    Block,
    Payload,
    actions,
    button,
    context,
    divider,
    fields_section,
    header,
    md,
    message,
    modal,
    section,
    severity_badge,
    slack_date,
    status_badge,
)

PAGE_SIZE = 15
"""Findings per page."""
TITLE_MAX = 80
RESOURCE_MAX = 150
CONTROLS_MAX = 120


def _finding_block(f: FindingItem, scan_id: int, page: int) -> Block:
    region = f" ({md(f.region, 30)})" if f.region else ""
    controls = ", ".join(f.control_ids)
    lines = [
        f"`{md(f.check_id, 60)}` {md(f.title, TITLE_MAX)}",
        f"`{md(f.resource, RESOURCE_MAX)}`{region}",
    ]
    if controls:
        lines.append(f"_{md(controls, CONTROLS_MAX)}_")
    if f.muted_until is not None:
        until = slack_date(f.muted_until, "{date_short_pretty}")
        lines.append(f":zipper_mouth_face: Muted until {until}: not counted")
        return section("\n".join(lines))
    mute = button("Mute", ids.MuteAction.MUTE, encode(FindingRef(f.finding_id, scan_id, page)))
    return section("\n".join(lines), accessory=mute)


def _paging(data: FindingsPage) -> list[Block]:
    page = data.findings
    if page.total_pages <= 1:
        return []
    scan_id = data.scan.scan_id
    buttons: list[Block] = []
    if page.has_prev:
        ref = FindingsPageRef(scan_id, page.page - 1)
        buttons.append(button("◀ Prev", ids.FindingsAction.PREV, encode(ref)))
    if page.has_next:
        ref = FindingsPageRef(scan_id, page.page + 1)
        buttons.append(button("Next ▶", ids.FindingsAction.NEXT, encode(ref)))
    noun = "failing finding" if page.total_items == 1 else "failing findings"
    return [
        context(f"Page {page.page + 1} of {page.total_pages} · {page.total_items} {noun}"),
        actions(*buttons),
    ]


def findings_blocks(data: FindingsPage) -> list[Block]:
    """The blocks shared by the findings message and modal."""
    scan = data.scan
    counts = {s: int(data.failed_counts.get(s, 0)) for s in SEVERITY_ORDER}
    summary = [f"*{severity_badge(s)}*\n{counts[s]} failing" for s in SEVERITY_ORDER]
    summary.append(f"*:white_check_mark: Passed*\n{data.passed}")
    if data.muted:
        summary.append(f"*:zipper_mouth_face: Muted*\n{data.muted} (not counted)")
    blocks: list[Block] = [
        context(
            f"Scan #{scan.scan_id} · {status_badge(scan.status)}"
            + (f" · finished {slack_date(scan.finished_at)}" if scan.finished_at else "")
        ),
        fields_section(summary),
    ]
    if scan.status.is_active:
        blocks.append(context("The scan is still running: these numbers are not final."))
    elif scan.status.has_errors:
        blocks.append(
            section(
                ":warning: Some jobs of this scan failed, so some resources were not checked.",
                accessory=button(
                    "Error log", ids.ErrorLogAction.OPEN, encode(ScanRef(scan.scan_id))
                ),
            )
        )
    blocks.append(divider())
    items = list(data.findings.items)
    if not items:
        blocks.append(section(":white_check_mark: No failing findings."))
        return blocks
    current: Severity | None = None
    for f in items:
        if f.severity is not current:
            current = f.severity
            blocks.append(section(f"*{severity_badge(current)}* ({counts[current]} failing)"))
        blocks.append(_finding_block(f, scan.scan_id, data.findings.page))
    blocks.extend(_paging(data))
    return blocks


def build_findings(data: FindingsPage) -> Payload:
    """The findings view as a message."""
    name = data.scan.project_name
    blocks = [header(f"Findings · {name}"), *findings_blocks(data)]
    total = sum(data.failed_counts.values())
    return message(f"Findings of {name}: {total} failing", blocks)


def build_findings_modal(data: FindingsPage) -> Payload:
    """The findings view as a modal (from a history row's menu or a project's *Findings*)."""
    blocks = [section(f"*{md(data.scan.project_name, 150)}*"), *findings_blocks(data)]
    ref = FindingsPageRef(data.scan.scan_id, data.findings.page)
    return modal(
        "Findings",
        blocks,
        callback_id=ids.FindingsView.MODAL,
        private_metadata=encode_metadata(ref),
    )
