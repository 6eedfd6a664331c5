"""The immediate failure alert posted to a project's channel when a scan fails or partially
fails. (The scheduled digest lives in `bot.views.digest`.)"""

from __future__ import annotations

from bot import ids
from bot.codec import ConnectorRef, ProjectRef, ScanRef, encode
from bot.domain import ErrorCategory
from bot.views.common import (
    Block,
    Payload,
    actions,
    button,
    category_emoji,
    category_title,
    context,
    md,
    message,
    section,
    slack_date,
)
from bot.views.models import FailureAlert


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
