"""Findings of one scan: failing counts by severity and the failing resources.

Long lists are cut per severity with "…and N more"; the whole surface stays within Slack's
limits whatever the number of findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot import ids
from bot.codec import ScanRef, encode, encode_metadata
from bot.domain import SEVERITY_ORDER, Severity
from bot.records import FailingFinding, FindingsSummary
from bot.views.common import (
    Block,
    Payload,
    button,
    context,
    divider,
    fields_section,
    header,
    join_limited,
    md,
    message,
    modal,
    section,
    severity_badge,
    slack_date,
    status_badge,
)

SEVERITY_TEXT_MAX = 1800
"""Characters of failing findings listed per severity."""
TITLE_MAX = 80
RESOURCE_MAX = 120


Muted = Mapping[tuple[str, str, str], datetime]
"""Muted findings of the project: (check id, resource, region) → when the mute expires."""


def _key(f: FailingFinding) -> tuple[str, str, str]:
    return (f.check_id, f.resource, f.region or "")


def _finding_line(f: FailingFinding) -> str:
    region = f" ({md(f.region, 30)})" if f.region else ""
    return (
        f"`{md(f.check_id, 40)}` {md(f.title, TITLE_MAX)} — `{md(f.resource, RESOURCE_MAX)}`"
        f"{region}"
    )


def _muted_block(items: list[FailingFinding], muted: Muted) -> Block:
    lines = [
        f"{_finding_line(f)} · until {slack_date(muted[_key(f)], '{date_short_pretty}')}"
        for f in items
    ]
    text = join_limited(lines, SEVERITY_TEXT_MAX - 60, "…and {n} more")
    return section(f"*:zipper_mouth_face: Muted* ({len(items)}, not counted above)\n{text}")


def findings_blocks(summary: FindingsSummary, muted: Muted | None = None) -> list[Block]:
    """The blocks shared by the findings message and modal; `muted` findings are listed
    apart and left out of the counts."""
    muted = muted or {}
    silenced = [f for f in summary.failing if _key(f) in muted]
    counts = {s: int(summary.failed_counts.get(s, 0)) for s in SEVERITY_ORDER}
    for f in silenced:
        counts[f.severity] = max(0, counts[f.severity] - 1)
    failing_total = sum(counts.values())
    blocks: list[Block] = [
        context(
            f"Scan #{summary.scan_id} · {status_badge(summary.status)}"
            + (f" · finished {slack_date(summary.finished_at)}" if summary.finished_at else "")
        ),
        fields_section(
            [f"*{severity_badge(s)}*\n{counts[s]} failing" for s in SEVERITY_ORDER]
            + [f"*:white_check_mark: Passed*\n{summary.passed}"]
        ),
    ]
    if summary.status.is_active:
        blocks.append(context("The scan is still running: these numbers are not final."))
    elif summary.status.has_errors:
        blocks.append(
            section(
                ":warning: Some jobs of this scan failed, so some resources were not checked.",
                accessory=button(
                    "Error log", ids.ErrorLogAction.OPEN, encode(ScanRef(summary.scan_id))
                ),
            )
        )
    blocks.append(divider())
    shown = [f for f in summary.failing if _key(f) not in muted]
    if failing_total == 0 and not shown:
        blocks.append(section(":white_check_mark: No failing findings."))
        if silenced:
            blocks.append(_muted_block(silenced, muted))
        return blocks
    by_severity: dict[Severity, list[FailingFinding]] = {s: [] for s in SEVERITY_ORDER}
    for f in shown:
        by_severity[f.severity].append(f)
    for severity in SEVERITY_ORDER:
        items = by_severity[severity]
        if not items:
            continue
        # the counts may exceed the rows the service passed in: say how many are not listed
        unlisted = max(0, counts[severity] - len(items))
        lines = [_finding_line(f) for f in items]
        text = join_limited(lines, SEVERITY_TEXT_MAX - 40, "…and {n} more")
        if unlisted:
            text += f"\n…and {unlisted} more not listed"
        count = max(counts[severity], len(items))
        blocks.append(section(f"*{severity_badge(severity)}* ({count})\n{text}"))
    if silenced:
        blocks.append(_muted_block(silenced, muted))
    return blocks


def build_findings(summary: FindingsSummary, muted: Muted | None = None) -> Payload:
    """The findings summary as a message (`muted` findings apart, not counted)."""
    blocks = [header(f"Findings · {summary.project_name}"), *findings_blocks(summary, muted)]
    silenced = sum(1 for f in summary.failing if _key(f) in (muted or {}))
    total = max(0, sum(summary.failed_counts.values()) - silenced)
    return message(f"Findings of {summary.project_name}: {total} failing", blocks)


def build_findings_modal(summary: FindingsSummary, muted: Muted | None = None) -> Payload:
    """The findings summary as a modal (from a history row's menu)."""
    blocks = [
        section(f"*{md(summary.project_name, 150)}*"),
        *findings_blocks(summary, muted),
    ]
    return modal(
        "Findings",
        blocks,
        callback_id=ids.FindingsView.MODAL,
        private_metadata=encode_metadata(ScanRef(summary.scan_id)),
    )
