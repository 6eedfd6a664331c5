"""The message posted when a scan starts and updated (chat.update) while it runs.

Live form: status, a progress bar of jobs done / failed / total, and Stop (with a confirm
dialog). Final form: the end status and its message, how long it took, and the next steps:
History, Error (only for Partially Completed and Failed), Findings and Re-run.
"""

from __future__ import annotations

from bot import ids
from bot.codec import ProjectRef, ScanRef, encode
from bot.records import ScanRow
from bot.views.common import (
    Block,
    Payload,
    actions,
    button,
    context,
    duration,
    md,
    message,
    section,
    slack_date,
    status_badge,
    status_emoji,
    status_md,
    stop_button,
    user_ref,
)

BAR_CELLS = 10


def progress_bar(done: int, total: int, cells: int = BAR_CELLS) -> str:
    """A text progress bar such as "▰▰▰▱▱▱▱▱▱▱ 30%"."""
    if total <= 0:
        return "▱" * cells + " 0%"
    ratio = min(1.0, max(0.0, done / total))
    filled = round(ratio * cells)
    return "▰" * filled + "▱" * (cells - filled) + f" {round(ratio * 100)}%"


def build_scan_progress(scan: ScanRow) -> Payload:
    """The scan's message: live while queued/running, final afterwards."""
    p = scan
    scan_ref = encode(ScanRef(p.scan_id))
    by = p.requested_by if p.trigger != "schedule" else None
    who = f" by {user_ref(by)}" if by else " (scheduled)"
    started = f"started {slack_date(p.started_at)}" if p.started_at else "queued"
    blocks: list[Block] = [
        section(
            f"{status_emoji(p.status)} *Scan of {md(p.project_name, 100)}* · {p.status.label}\n"
            f"Scan #{p.scan_id} · {started}{who}"
        )
    ]
    counts = f"{p.jobs_done} of {p.jobs_total} jobs done · {p.jobs_failed} failed"
    note = status_md(p.status_message, 300) if p.status_message.strip() else ""
    if p.status.is_active:
        blocks.append(context(f"`{progress_bar(p.jobs_done, p.jobs_total)}` {counts}"))
        if note:
            blocks.append(context(note))
        blocks.append(actions(stop_button(scan_ref)))
        return message(f"Scan of {p.project_name}: {p.status.label} ({counts})", blocks)

    took = duration(p.started_at, p.finished_at)
    blocks.append(
        context(
            f"{status_badge(p.status)}" + (f" — {note}" if note else "") + f" · {counts}"
            + (f" · took {took}" if took else "")
        )
    )  # fmt: skip
    buttons = [button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(p.project_id)))]
    if p.status.has_errors:
        buttons.insert(0, button("Error", ids.ErrorLogAction.OPEN, scan_ref, style="primary"))
    buttons.append(button("Findings", ids.FindingsAction.OPEN, scan_ref))
    buttons.append(button("Re-run", ids.ScanAction.RERUN, scan_ref))
    blocks.append(actions(*buttons))
    return message(f"Scan of {p.project_name}: {p.status.label}", blocks)
