"""The error log modal (the three-dot menu → Error, then the expand arrows).

A header with the scan and its status, then every entry collapsed to one line with an Expand
button. Expanding re-renders the view (views.update) with that entry's id in
`ErrorLogState.expanded`: category, provider code, message, detail (a code block, cut safely),
remediation and the next step for its category:

- invalid_credentials → ``Fix credentials`` (starts the guided connector replacement)
- temporary → ``Re-run scan``
- permission_denied → names the missing permission, then ``Re-run scan``
- assume_role_failed → fix the role's trust policy or the external ID, then ``Re-run scan``
- unknown → ``Contact support``

Only Partially Completed and Failed scans have entries; other scans get an explanation.
"""

from __future__ import annotations

from bot import ids
from bot.codec import (
    ConnectorRef,
    EntryRef,
    ErrorLogState,
    ScanRef,
    SupportRef,
    encode,
    encode_metadata,
)
from bot.domain import ErrorCategory, ScanStatus
from bot.records import ErrorEntryView, ErrorLogData
from bot.views.common import (
    TEXT_BUDGET,
    VIEW_MAX_BLOCKS,
    Block,
    Payload,
    actions,
    button,
    category_emoji,
    category_title,
    code_block,
    context,
    cut_middle,
    divider,
    fields_section,
    md,
    modal,
    section,
    slack_date,
    status_badge,
    status_md,
    text_length,
)

LINE_MAX = 160
"""A collapsed entry's one line."""
MESSAGE_MAX = 600
REMEDIATION_MAX = 400
DETAIL_MAX = 2000
DETAIL_MIN = 200
_EXPANDED_BASE_TEXT = 1400  # an expanded entry without its detail
_RESERVED_BLOCKS = 2  # the "more entries" note and the footer actions
_RESERVED_TEXT = 600

_NO_LOG = {
    ScanStatus.QUEUED: "This scan has not started yet. If any of its jobs fail, their errors "
    "will be listed here.",
    ScanStatus.RUNNING: "This scan is still running. If any of its jobs fail, their errors "
    "will be listed here once it finishes.",
    ScanStatus.COMPLETED: "Every job of this scan succeeded, so it has no error log.",
    ScanStatus.STOPPED: "This scan was stopped by a user. Only Partially Completed and Failed "
    "scans have an error log; run it again to get a complete result.",
}


GROUPING_NOTE = (
    "A job can record more than one entry: each check that failed in it gets its own line, "
    "after the job's region or unit and the check's id."
)


def _line(entry: ErrorEntryView) -> str:
    """One collapsed line: category, job (and check), and the message with its middle cut, so
    the provider's code near the start and what went wrong at the end both stay readable."""
    where = f"`{md(entry.job_unit, 40)}`"
    if entry.check_id:
        where += f" · `{md(entry.check_id, 40)}`"
    head = f"{category_emoji(entry.category)} {where} *{category_title(entry.category)}*"
    message = md(entry.message, len(entry.message) * 5 + 1)  # escaped, one line, not cut
    return f"{head} — {cut_middle(message, max(20, LINE_MAX - len(head) - 3))}"


def _next_step(entry: ErrorEntryView, scan_id: int) -> tuple[str, list[Block]]:
    """The category's next step: a sentence and its buttons."""
    rerun = button("Re-run scan", ids.ScanAction.RERUN, encode(ScanRef(scan_id)), style="primary")
    support = button(
        "Contact support",
        ids.SupportAction.OPEN,
        encode(SupportRef(scan_id, entry.connector_id, entry.entry_id)),
    )
    if entry.category is ErrorCategory.INVALID_CREDENTIALS:
        if entry.connector_id is None:
            return "The connector used by this scan no longer exists.", []
        fix = button(
            "Fix credentials",
            ids.ConnectorAction.REPLACE,
            encode(ConnectorRef(entry.connector_id)),
            style="primary",
        )
        return (
            "Saved credentials cannot be edited: *Fix credentials* walks you through replacing "
            "the connector without losing its projects.",
            [fix],
        )
    if entry.category is ErrorCategory.PERMISSION_DENIED:
        if entry.missing_permission:
            permission = md(entry.missing_permission, 100)
            what = f"The credentials work but lack the permission `{permission}`."
        else:
            what = "The credentials work but lack a permission this check needs."
        return f"{what} Grant it to the connector's identity, then re-run the scan.", [rerun]
    if entry.category is ErrorCategory.ASSUME_ROLE_FAILED:
        return (
            "The connector's identity works, but it may not assume this project's role. Fix "
            "the role's trust policy (it must trust the connector's identity) or the external "
            "ID, then re-run the scan. Replacing the connector does not help.",
            [rerun],
        )
    if entry.category is ErrorCategory.TEMPORARY:
        return (
            "A temporary cloud error (throttling, an outage or a timeout). The bot already "
            "retried it; re-run the scan, and contact support if it keeps failing.",
            [rerun, support],
        )
    return (
        "An unknown processing error. Contact support: the request is pre-filled with these "
        "redacted details.",
        [support],
    )


def _entry_blocks(
    entry: ErrorEntryView, expanded: bool, scan_id: int, detail_limit: int
) -> list[Block]:
    toggle = button(
        "Collapse" if expanded else "Expand",
        ids.ErrorLogAction.COLLAPSE if expanded else ids.ErrorLogAction.EXPAND,
        encode(EntryRef(entry.entry_id)),
    )
    blocks = [section(_line(entry), accessory=toggle)]
    if not expanded:
        return blocks
    blocks.append(
        fields_section(
            [
                f"*Category*\n{category_title(entry.category)}",
                f"*Provider code*\n`{md(entry.code or 'none', 120)}`",
                f"*Job*\n`{md(entry.job_unit, 120)}`",
                f"*When*\n{slack_date(entry.at)}",
            ]
        )
    )
    blocks.append(section(f"*Message*\n{md(entry.message, MESSAGE_MAX, single_line=False)}"))
    if entry.detail.strip():
        blocks.append(section("*Detail*\n" + code_block(entry.detail, detail_limit)))
    sentence, buttons = _next_step(entry, scan_id)
    remediation = md(entry.remediation, REMEDIATION_MAX) if entry.remediation.strip() else ""
    blocks.append(
        section("*What to do*\n" + (f"{remediation}\n" if remediation else "") + sentence)
    )
    if buttons:
        blocks.append(actions(*buttons))
    return blocks


def build_error_log(data: ErrorLogData, state: ErrorLogState) -> Payload:
    """The error log modal of one scan with the entries in `state.expanded` opened.

    Entries that would not fit the modal (100 blocks, ~12k characters) are summarised in a
    "N more entries" note; an expanded entry's detail shrinks to share the space.
    """
    scan, project = data.scan, data.project
    shown_ids = {e.entry_id for e in data.entries}
    state = ErrorLogState(scan.scan_id, frozenset(state.expanded & shown_ids))
    when = scan.started_at or scan.queued_at
    blocks: list[Block] = [
        section(
            f"*{md(project.name, 100)}* · scan #{scan.scan_id}\n"
            f"{status_badge(scan.status)} · {slack_date(when)}"
        ),
        context(
            (status_md(scan.status_message, 300) + " · " if scan.status_message.strip() else "")
            + f"jobs: {scan.jobs_ok} ok, {scan.jobs_failed} failed of {scan.jobs_total}"
        ),
        divider(),
    ]
    footer: list[Block] = []
    if not scan.status.has_errors:
        blocks.append(section(_NO_LOG[scan.status]))
    elif not data.entries:
        blocks.append(
            section(
                "No error entries were recorded for this scan. If it keeps failing, contact "
                "support."
            )
        )
        footer.append(
            button("Contact support", ids.SupportAction.OPEN, encode(SupportRef(scan.scan_id)))
        )
    else:
        units = [e.job_unit for e in data.entries]
        if len(set(units)) < len(units):
            blocks.append(context(GROUPING_NOTE))
        n_expanded = len(state.expanded)
        collapsed_text = LINE_MAX * (len(data.entries) - n_expanded) + 10 * len(data.entries)
        spare = TEXT_BUDGET - _RESERVED_TEXT - 400 - collapsed_text
        spare -= _EXPANDED_BASE_TEXT * n_expanded
        detail_limit = max(DETAIL_MIN, min(DETAIL_MAX, spare // max(1, n_expanded)))
        used_blocks, used_text = len(blocks), text_length(blocks)
        block_limit = VIEW_MAX_BLOCKS - _RESERVED_BLOCKS
        shown = 0
        for entry in data.entries:
            entry_blocks = _entry_blocks(
                entry, entry.entry_id in state.expanded, scan.scan_id, detail_limit
            )
            cost = text_length(entry_blocks)
            if (
                used_blocks + len(entry_blocks) > block_limit
                or used_text + cost > TEXT_BUDGET - _RESERVED_TEXT
            ):
                break
            blocks.extend(entry_blocks)
            used_blocks += len(entry_blocks)
            used_text += cost
            shown += 1
        hidden = len(data.entries) - shown
        if hidden:
            blocks.append(
                context(
                    f"…and {hidden} more entr{'ies' if hidden != 1 else 'y'} not shown here. "
                    "Collapse the open entries to see more, or contact support for the full log."
                )
            )
        if not scan.status.is_active:
            footer.append(
                button("Re-run scan", ids.ScanAction.RERUN, encode(ScanRef(scan.scan_id)))
            )
        footer.append(
            button("Contact support", ids.SupportAction.OPEN, encode(SupportRef(scan.scan_id)))
        )
    if footer:
        blocks.append(actions(*footer))
    return modal(
        "Error log",
        blocks,
        callback_id=ids.ErrorLogView.MODAL,
        private_metadata=encode_metadata(state),
    )
