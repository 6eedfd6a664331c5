"""Messages the bot posts on its own: an immediate failure alert to a project's channel and
the scheduled failure digest."""

from __future__ import annotations

from bot import ids
from bot.codec import ConnectorRef, PageKind, PageRef, ProjectRef, ScanRef, encode
from bot.domain import ErrorCategory, ScanStatus
from bot.views.common import (
    Block,
    Payload,
    actions,
    button,
    category_emoji,
    category_title,
    context,
    divider,
    header,
    md,
    message,
    section,
    slack_date,
)
from bot.views.models import DigestData, FailureAlert, ProjectRow

DIGEST_PROJECTS_MAX = 15
DIGEST_CONNECTORS_MAX = 8


def build_failure_alert(alert: FailureAlert) -> Payload:
    """A scan failed or partially failed: what happened and the next step, in one message."""
    scan, project = alert.scan, alert.project
    title = (
        f"{scan.status.emoji} *{md(project.name, 100)}*: scan #{scan.scan_id} {scan.status.label}"
    )
    blocks: list[Block] = [
        section(
            f"{title}\n"
            + (md(scan.status_message, 300) + "\n" if scan.status_message.strip() else "")
            + f"jobs: {scan.jobs_ok} ok, {scan.jobs_failed} failed of {scan.jobs_total} · "
            f"{slack_date(scan.finished_at or scan.started_at)}"
        )
    ]
    scan_ref = encode(ScanRef(scan.scan_id))
    buttons = []
    if scan.status.has_errors:
        buttons.append(button("Error log", ids.ErrorLogAction.OPEN, scan_ref, style="primary"))
    top = alert.top_error
    if top is not None:
        blocks.append(
            context(
                f"{category_emoji(top.category)} *{category_title(top.category)}* in "
                f"`{md(top.job_unit, 60)}` · `{md(top.code or 'none', 80)}` — "
                f"{md(top.message, 300)}"
            )
        )
        if top.category is ErrorCategory.INVALID_CREDENTIALS and top.connector_id is not None:
            buttons.append(
                button(
                    "Fix credentials",
                    ids.ConnectorAction.REPLACE,
                    encode(ConnectorRef(top.connector_id)),
                )
            )
    buttons.append(button("Re-run", ids.ScanAction.RERUN, scan_ref))
    buttons.append(
        button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(project.project_id)))
    )
    blocks.append(actions(*buttons))
    return message(f"{project.name}: scan {scan.status.label}", blocks)


def _digest_row(row: ProjectRow) -> Block:
    note = f" — {md(row.status_message, 140)}" if row.status_message.strip() else ""
    emoji = row.status.emoji if row.status else ":heavy_minus_sign:"
    accessory = None
    if row.last_scan_id is not None and row.status is not None and row.status.has_errors:
        accessory = button("Error log", ids.ErrorLogAction.OPEN, encode(ScanRef(row.last_scan_id)))
    return section(
        f"{emoji} *{md(row.name, 80)}*{note}\n{slack_date(row.last_scan_at)}", accessory=accessory
    )


def build_digest(digest: DigestData) -> Payload:
    """The scheduled digest: failing projects and connectors that need attention."""
    blocks: list[Block] = [
        header("CSPM failure digest"),
        context(
            f"{slack_date(digest.period_start)} – {slack_date(digest.period_end)} · "
            f"{digest.scans_total} scans, {digest.scans_failed} failed or partially failed"
        ),
    ]
    if not digest.failing and not digest.attention:
        blocks.append(section(":white_check_mark: Nothing failed in this period."))
        return message("CSPM failure digest: nothing failed", blocks)
    if digest.failing:
        blocks += [divider(), section(f"*Failing projects ({len(digest.failing)})*")]
        blocks += [_digest_row(r) for r in digest.failing[:DIGEST_PROJECTS_MAX]]
        if len(digest.failing) > DIGEST_PROJECTS_MAX:
            blocks.append(context(f"…and {len(digest.failing) - DIGEST_PROJECTS_MAX} more."))
    if digest.attention:
        blocks += [
            divider(),
            section(f"*Connectors that need attention ({len(digest.attention)})*"),
        ]
        for c in digest.attention[:DIGEST_CONNECTORS_MAX]:
            blocks.append(
                section(
                    f":warning: *{md(c.name, 60)}* ({c.provider.value.upper()})"
                    + (f" — {md(c.last_error, 140)}" if c.last_error else ""),
                    accessory=button(
                        "Fix credentials",
                        ids.ConnectorAction.REPLACE,
                        encode(ConnectorRef(c.connector_id)),
                    ),
                )
            )
        if len(digest.attention) > DIGEST_CONNECTORS_MAX:
            blocks.append(context(f"…and {len(digest.attention) - DIGEST_CONNECTORS_MAX} more."))
    blocks.append(
        actions(
            button(
                "Show failed projects",
                ids.ProjectAction.SHOW,
                encode(PageRef(PageKind.PROJECTS, 0, ScanStatus.FAILED)),
            ),
            button("Connectors", ids.ConnectorAction.LIST),
        )
    )
    fallback = f"CSPM failure digest: {len(digest.failing)} failing projects"
    return message(fallback, blocks)
