"""``/cspm projects [status]``: the projects accordion as a Slack message.

One row per project: status emoji, name, provider, connector and last scan; the status
message (the hover tooltip) in a context line; buttons Jobs (expand the row in place,
press again to collapse), History, and Run, or Stop with a confirm dialog while a scan is
active. Long lists are paged (a message holds at most 50 blocks and ~12k characters).
"""

from __future__ import annotations

from bot import ids
from bot.codec import FilterRef, PageKind, PageRef, ProjectRef, RowState, ScanRef, encode
from bot.codec import encode_option as encode_opt
from bot.domain import JobStatus, ScanStatus
from bot.records import JobRow, Page, ProjectRow
from bot.views.common import (
    MESSAGE_MAX_BLOCKS,
    TEXT_BUDGET,
    Block,
    Payload,
    actions,
    button,
    context,
    cut_mrkdwn,
    divider,
    header,
    job_badge,
    join_limited,
    md,
    message,
    option,
    paging_blocks,
    section,
    slack_date,
    static_select,
    status_badge,
    status_emoji,
    status_md,
    stop_button,
)

NAME_MAX = 100
"""Characters of a project name shown in a row."""
CONNECTOR_MAX = 60
STATUS_MESSAGE_MAX = 200
JOBS_TEXT_MAX = 500
JOB_MESSAGE_MAX = 120
NOTE_MAX = 200
"""Characters of the note under the row a click just acted on."""

# header, filter actions, summary context, divider, paging context + actions, one row's note
_FIXED_BLOCKS = 7
_ROW_MAX_BLOCKS = 4  # section, context, jobs (when expanded), actions
_FIXED_TEXT = 400 + NOTE_MAX  # header, filter options, summary, paging, one row's note
_ROW_TEXT_MAX = (
    NAME_MAX + CONNECTOR_MAX + 110  # the row's section: emoji, provider, date token
    + STATUS_MESSAGE_MAX + 20  # the context line
    + JOBS_TEXT_MAX
    + 30  # button texts
    + 160  # the Stop confirm dialog
)  # fmt: skip

PAGE_SIZE = min(
    (MESSAGE_MAX_BLOCKS - _FIXED_BLOCKS) // _ROW_MAX_BLOCKS,
    (TEXT_BUDGET - _FIXED_TEXT) // _ROW_TEXT_MAX,
)
"""Projects per page: as many worst-case rows (all expanded) as fit in one message."""

_JOB_ORDER = {
    JobStatus.FAILED: 0,
    JobStatus.INTERRUPTED: 1,
    JobStatus.CANCELLED: 2,
    JobStatus.RUNNING: 3,
    JobStatus.QUEUED: 4,
    JobStatus.SUCCEEDED: 5,
}


def _filter_options(current: ScanStatus | None) -> tuple[list[Block], Block]:
    options = [option("All statuses", encode_opt(FilterRef(None)))]
    options += [option(status_badge(s), encode_opt(FilterRef(s))) for s in ScanStatus]
    initial = options[0] if current is None else options[1 + list(ScanStatus).index(current)]
    return options, initial


def jobs_text(jobs: list[JobRow] | tuple[JobRow, ...], limit: int = JOBS_TEXT_MAX) -> str:
    """The jobs of a scan as mrkdwn lines, failed ones first, cut to `limit` with "…and N more"."""
    if not jobs:
        return "_No jobs were created for the latest scan._"
    failed = sum(1 for j in jobs if j.status in (JobStatus.FAILED, JobStatus.INTERRUPTED))
    ok = sum(1 for j in jobs if j.status is JobStatus.SUCCEEDED)
    head = f"*Jobs of the latest scan:* {ok} succeeded, {failed} failed, {len(jobs)} in all"
    lines = []
    for job in sorted(jobs, key=lambda j: _JOB_ORDER[j.status]):
        line = f"{job_badge(job.status)} `{md(job.unit, 60)}`"
        if job.message.strip():
            line += f" — {md(job.message, JOB_MESSAGE_MAX)}"
        lines.append(line)
    return head + "\n" + join_limited(lines, limit - len(head) - 1, "…and {n} more jobs")


def _row(row: ProjectRow, state: RowState, note: str | None = None) -> list[Block]:
    status = row.status
    emoji = status_emoji(status)
    meta = [row.provider.upper(), md(row.connector_name or "no connector", CONNECTOR_MAX)]
    if row.last_scan_at is not None and status is not None:
        meta.append(f"last scan {slack_date(row.last_scan_at)}")
    elif status is None:
        meta.append("never scanned")
    blocks = [section(f"{emoji} *{md(row.name, NAME_MAX)}*\n" + " · ".join(meta))]

    if status is None:
        blocks.append(context("No scan yet: press *Run* to start the first one."))
    else:
        said = (
            status_md(row.status_message, STATUS_MESSAGE_MAX) if row.status_message.strip() else ""
        )
        blocks.append(context(f"*{status.label}*" + (f": {said}" if said else "")))

    if note:
        blocks.append(context(cut_mrkdwn(note, NOTE_MAX)))

    if row.jobs is not None:
        blocks.append(section(jobs_text(list(row.jobs))))

    buttons: list[Block] = []
    if row.last_scan_id is not None:
        value = encode(RowState(row.project_id, state.page, state.status_filter, state.expanded))
        buttons.append(
            button("Hide jobs" if row.expanded else "Jobs", ids.ProjectAction.JOBS, value)
        )
    buttons.append(button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(row.project_id))))
    if status is not None and status.is_active and row.last_scan_id is not None:
        buttons.append(stop_button(encode(ScanRef(row.last_scan_id))))
    else:
        value = encode(RowState(row.project_id, state.page, state.status_filter, state.expanded))
        buttons.append(button("Run", ids.ProjectAction.RUN, value))
    blocks.append(actions(*buttons))
    return blocks


def build_projects(
    page: Page[ProjectRow],
    status_filter: ScanStatus | None = None,
    note: tuple[int, str] | None = None,
) -> Payload:
    """The projects list message for one page (`PAGE_SIZE` rows at most).

    `note`: (project id, mrkdwn already escaped) shown under that row's status: what the
    user's click on the row just did, e.g. "Scan #12 queued by you; progress in <#C…>".

    Rows whose `jobs` is not None are shown expanded. The status filter select, the Jobs
    buttons and the paging buttons carry the filter and page so a handler can re-render the
    same view in place (chat.update / response_url replace_original).
    """
    expanded = frozenset(r.project_id for r in page.items if r.expanded)
    state = RowState(0, page.page, status_filter, expanded)
    options, initial = _filter_options(status_filter)
    showing = "all statuses" if status_filter is None else status_filter.label
    refresh = encode(PageRef(PageKind.PROJECTS, page.page, status_filter))
    blocks: list[Block] = [
        header("Scan projects"),
        actions(
            static_select(ids.ProjectAction.FILTER, "Filter by status", options, initial),
            button("Refresh", ids.ProjectAction.REFRESH, refresh),
        ),
        context(f"{page.total_items} project{'s' * (page.total_items != 1)} · showing {showing}"),
        divider(),
    ]
    if not page.items:
        if status_filter is None:
            blocks.append(
                section(
                    "No scan projects yet. A project is a scan configuration on a connector; "
                    "connect a cloud with `/cspm connectors`, then create a project."
                )
            )
        else:
            show_all = encode(PageRef(PageKind.PROJECTS, 0, None))
            blocks.append(
                section(
                    f"No project's latest scan is *{status_filter.label}*.",
                    accessory=button("Show all", ids.ProjectAction.REFRESH, show_all),
                )
            )
    for row in page.items[:PAGE_SIZE]:
        text = note[1] if note is not None and note[0] == row.project_id else None
        blocks.extend(_row(row, state, text))
    blocks.extend(
        paging_blocks(page, PageKind.PROJECTS, noun="projects", status_filter=status_filter)
    )
    fallback = f"Scan projects ({showing}): {page.total_items}"
    if page.total_pages > 1:
        fallback += f", page {page.page + 1} of {page.total_pages}"
    return message(fallback, blocks)
