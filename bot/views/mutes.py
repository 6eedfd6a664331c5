"""Muting findings: the mute modal, its confirmation and ``/cspm mutes``. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import ids
from bot.codec import FindingRef, MuteRef, encode, encode_metadata
from bot.domain import Severity
from bot.views.common import (
    TEXT_BUDGET,
    Block,
    Payload,
    button,
    context,
    md,
    message,
    modal,
    option,
    plain,
    section,
    severity_badge,
    slack_date,
)

MUTE_DAYS = (1, 7, 30, 90)
"""The expiries offered (days)."""
REASON_MAX = 300


@dataclass(frozen=True)
class MuteInfo:
    """An active mute: which finding of which project, why, by whom, until when."""

    mute_id: int
    project_name: str
    check_id: str
    resource: str
    region: str
    severity: Severity
    reason: str
    expires_at: datetime
    created_by: str


def _what(check_id: str, resource: str, region: str) -> str:
    where = f" ({md(region, 30)})" if region else ""
    return f"`{md(check_id, 60)}` — `{md(resource, 150)}`{where}"


def build_mute_modal(
    finding_id: int,
    project_name: str,
    check_id: str,
    resource: str,
    region: str,
    ref: FindingRef | None = None,
) -> Payload:
    """The mute modal: the finding, a reason (required) and an expiry. `ref` (the finding
    and where the findings view it came from is) becomes its metadata."""
    days = [option(f"{d} day{'s' if d != 1 else ''}", str(d)) for d in MUTE_DAYS]
    blocks: list[Block] = [
        section(f"Mute in *{md(project_name, 80)}*: {_what(check_id, resource, region)}"),
        context("Until it expires, the finding is left out of findings alerts and counts."),
        {
            "type": "input",
            "block_id": str(ids.MuteInput.REASON),
            "label": plain("Why is it acceptable for now?"),
            "element": {
                "type": "plain_text_input",
                "action_id": str(ids.MuteInput.REASON),
                "max_length": REASON_MAX,
                "placeholder": plain("E.g. public on purpose: static website, ticket SEC-42"),
            },
        },
        {
            "type": "input",
            "block_id": str(ids.MuteInput.DAYS),
            "label": plain("Mute for"),
            "element": {
                "type": "static_select",
                "action_id": str(ids.MuteInput.DAYS),
                "options": days,
                "initial_option": days[1],
            },
        },
    ]
    return modal(
        "Mute finding",
        blocks,
        callback_id=ids.MuteView.SUBMIT,
        submit="Mute",
        private_metadata=encode_metadata(ref or FindingRef(finding_id)),
    )


def build_muting_modal() -> Payload:
    """The view that replaces the mute modal while the mute is written."""
    return modal(
        "Mute finding",
        [section(":hourglass_flowing_sand: Muting…")],
        callback_id=ids.MuteView.SUBMIT,
    )


def build_muted_modal(info: MuteInfo) -> Payload:
    """The confirmation that replaces the mute modal."""
    text = (
        f":zipper_mouth_face: Muted in *{md(info.project_name, 80)}* until "
        f"{slack_date(info.expires_at)}: {_what(info.check_id, info.resource, info.region)}"
    )
    return modal(
        "Finding muted",
        [section(text), context(f"Reason: {md(info.reason, REASON_MAX)} · `/cspm mutes` lists it")],
        callback_id=ids.MuteView.SUBMIT,
    )


def build_mutes(rows: Sequence[MuteInfo]) -> Payload:
    """``/cspm mutes``: the active mutes with Unmute."""
    if not rows:
        return message("No muted findings", [section("No finding is muted.")])
    blocks: list[Block] = [section(f"*Muted findings* ({len(rows)})")]
    used = 0
    shown = 0
    for m in rows:
        text = (
            f"{severity_badge(m.severity)} *{md(m.project_name, 80)}* "
            f"{_what(m.check_id, m.resource, m.region)}\nUntil {slack_date(m.expires_at)} · "
            f"by {md(m.created_by, 60)} · {md(m.reason, 200)}"
        )
        if len(blocks) >= 45 or used + len(text) > TEXT_BUDGET - 1000:
            break
        blocks.append(
            section(
                text,
                accessory=button("Unmute", ids.MuteAction.UNMUTE, encode(MuteRef(m.mute_id))),
            )
        )
        used += len(text) + 10
        shown += 1
    if shown < len(rows):
        blocks.append(context(f"…and {len(rows) - shown} more"))
    return message(f"{len(rows)} muted finding(s)", blocks)
