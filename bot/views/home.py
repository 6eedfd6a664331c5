"""The App Home dashboard: projects by status, failing projects, connectors that need
attention, and quick actions."""

from __future__ import annotations

from bot import ids
from bot.codec import ConnectorRef, PageKind, PageRef, ScanRef, encode
from bot.domain import ScanStatus
from bot.records import ConnectorInfo, HomeData, ProjectRow
from bot.views.common import (
    NEVER_SCANNED,
    Block,
    Payload,
    actions,
    button,
    context,
    divider,
    error_line,
    fields_section,
    header,
    md,
    section,
    slack_date,
    status_badge,
    status_emoji,
    status_md,
)

FAILING_MAX = 10
"""Failing projects listed (the rest are summarised)."""
ATTENTION_MAX = 8
"""Connectors needing attention listed."""

_COUNT_ORDER: tuple[ScanStatus | None, ...] = (
    ScanStatus.FAILED,
    ScanStatus.PARTIALLY_COMPLETED,
    ScanStatus.COMPLETED,
    ScanStatus.STOPPED,
    ScanStatus.RUNNING,
    ScanStatus.QUEUED,
    None,
)


def _count_field(status: ScanStatus | None, count: int) -> str:
    label = NEVER_SCANNED if status is None else status_badge(status)
    return f"*{label}*\n{count}"


def _failing_row(row: ProjectRow) -> list[Block]:
    accessory = None
    if row.last_scan_id is not None and row.status is not None and row.status.has_errors:
        accessory = button("Error log", ids.ErrorLogAction.OPEN, encode(ScanRef(row.last_scan_id)))
    note = f" — {status_md(row.status_message, 150)}" if row.status_message.strip() else ""
    emoji = status_emoji(row.status)
    return [
        section(f"{emoji} *{md(row.name, 80)}*{note}", accessory=accessory),
        context(
            f"{row.provider.upper()} · {md(row.connector_name or 'no connector', 60)}"
            f" · last scan {slack_date(row.last_scan_at)}"
        ),
    ]


def _attention_row(c: ConnectorInfo) -> Block:
    error = f"\n{error_line(c.last_error, 180)}" if c.last_error is not None else ""
    used = c.projects_total
    return section(
        f":warning: *{md(c.name, 60)}* ({c.provider.upper()}, used by {used} "
        f"project{'s' * (used != 1)}) failed validation {slack_date(c.last_validated_at)}"
        f"{error}",
        accessory=button(
            "Fix credentials",
            ids.ConnectorAction.REPLACE,
            encode(ConnectorRef(c.connector_id)),
            style="primary",
        ),
    )


def build_home(data: HomeData) -> Payload:
    """The App Home view (views.publish)."""
    counts = data.status_counts
    blocks: list[Block] = [header("Cloud security posture")]
    summary = f"{data.total_projects} project{'s' * (data.total_projects != 1)}"
    if data.running:
        summary += f" · {data.running} scan{'s' * (data.running != 1)} running now"
    if data.as_of is not None:
        summary += f" · as of {slack_date(data.as_of)}"
    blocks.append(context(summary))
    shown = [s for s in _COUNT_ORDER if counts.get(s, 0) or s is not None]
    blocks.append(fields_section([_count_field(s, counts.get(s, 0)) for s in shown]))
    blocks.append(
        actions(
            button(
                "Projects",
                ids.ProjectAction.SHOW,
                encode(PageRef(PageKind.PROJECTS)),
                style="primary",
            ),
            button("Connectors", ids.ConnectorAction.LIST),
            button("New connector", ids.ConnectorAction.CREATE),
            button("Refresh", ids.HomeAction.REFRESH),
            button("Help", ids.HomeAction.HELP),
        )
    )
    blocks += [divider(), header("Failing projects")]
    if data.failing:
        blocks.append(
            section(
                f"{len(data.failing)} project{'s' * (len(data.failing) != 1)} whose latest scan "
                "failed or partially failed.",
                accessory=button(
                    "List failed",
                    ids.ProjectAction.SHOW,
                    encode(PageRef(PageKind.PROJECTS, 0, ScanStatus.FAILED)),
                ),
            )
        )
    if not data.failing:
        blocks.append(section(":white_check_mark: No project's latest scan failed."))
    for row in data.failing[:FAILING_MAX]:
        blocks.extend(_failing_row(row))
    if len(data.failing) > FAILING_MAX:
        blocks.append(context(f"…and {len(data.failing) - FAILING_MAX} more failing projects."))
    blocks += [divider(), header("Connectors that need attention")]
    if not data.attention:
        blocks.append(section(":white_check_mark: Every connector passed its last validation."))
    for c in data.attention[:ATTENTION_MAX]:
        blocks.append(_attention_row(c))
    attention = len(data.attention) if data.attention_total is None else data.attention_total
    listed = min(len(data.attention), ATTENTION_MAX)
    if attention > listed:
        blocks.append(context(f"…and {attention - listed} more connectors."))
    return {"type": "home", "blocks": blocks}
