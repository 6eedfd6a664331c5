"""Findings alerts and channel subscriptions: what a subscribed channel gets after a scan.

`build_findings_alert` turns the new failing findings of one scan (since the project's
previous completed scan, at or above the subscription's severity) into one top message and,
past Slack's limits, continuation replies for its thread; `build_resolved_reply` lists the
findings that passed again. `build_subscribe_reply` / `build_subscriptions` answer
``/cspm subscribe`` and ``/cspm subscriptions``. Pure: data in, payloads out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import ids
from bot.codec import FindingRef, ProjectRef, ScanRef, SubscriptionRef, encode, encode_option
from bot.domain import SEVERITY_ORDER, Provider, Severity
from bot.views.common import (
    TEXT_BUDGET,
    Block,
    Payload,
    actions,
    button,
    context,
    md,
    message,
    option,
    section,
    severity_badge,
    static_select,
)

SECTION_CHARS = 2800
"""Characters of finding lines per section (Slack: 3000)."""
MESSAGE_SECTIONS = 3
"""Sections of finding lines per message (3 × 2800 stays within the ~12k text budget)."""
RESOURCE_MAX = 150
MUTE_OPTIONS = 50
"""New findings offered in the "Mute a finding…" select (their texts count in the budget)."""
MUTE_OPTION_TEXT = 40
TOP_SECTIONS = 2
"""Sections of finding lines in the top message (the rest of its budget: the Mute select)."""


@dataclass(frozen=True)
class FindingLine:
    """One failing (or resolved) finding: check, resource, region, severity, detail."""

    check_id: str
    resource: str
    region: str
    severity: Severity
    detail: str = ""
    finding_id: int | None = None


@dataclass(frozen=True)
class FindingsAlertData:
    """New failing findings of one scan for one subscription.

    previous_scan_id: the project's previous completed scan they are new against (None: the
    project had none, every failing finding is new); min_severity: the subscription's
    threshold; resolved: findings failing in the previous scan that passed in this one;
    muted: new failing findings left out because they are muted.
    """

    project_id: int
    project_name: str
    provider: Provider
    scan_id: int
    previous_scan_id: int | None
    min_severity: Severity
    new: Sequence[FindingLine] = ()
    resolved: Sequence[FindingLine] = ()
    muted: int = 0


@dataclass(frozen=True)
class SubscriptionInfo:
    """A channel subscription as listed: id, channel, kind and filters."""

    subscription_id: int
    channel_id: str
    kind: str
    project_pattern: str
    provider: Provider | None
    min_severity: Severity

    @property
    def label(self) -> str:
        """E.g. "findings · projects `web-*` · AWS · high and above"."""
        parts = [self.kind]
        if self.project_pattern != "*":
            parts.append(f"projects `{md(self.project_pattern, 100)}`")
        else:
            parts.append("all projects")
        parts.append(self.provider.upper() if self.provider else "every provider")
        if self.kind == "findings":
            at_least = "" if self.min_severity is Severity.LOW else " and above"
            parts.append(f"{self.min_severity.value}{at_least}")
        return " · ".join(parts)


def _line(f: FindingLine) -> str:
    region = f" ({md(f.region, 30)})" if f.region else ""
    resource = md(f.resource, RESOURCE_MAX)
    return f"{severity_badge(f.severity)} `{md(f.check_id, 50)}` — `{resource}`{region}"


def _option_text(check_id: str, resource: str) -> str:
    """A short label of a finding for the Mute select: the resource's end matters most."""
    text = f"{check_id.rsplit('.', 1)[-1]} {resource}"
    if len(text) <= MUTE_OPTION_TEXT:
        return text
    return "…" + text[-(MUTE_OPTION_TEXT - 1) :]


def _sorted(lines: Sequence[FindingLine]) -> list[FindingLine]:
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(lines, key=lambda f: (rank[f.severity], f.check_id, f.resource, f.region))


def _chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into texts of at most `limit` characters (a too-long line is cut)."""
    out: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and used + 1 + len(line) > limit:
            out.append("\n".join(current))
            current, used = [], 0
        used += len(line) + (1 if current else 0)
        current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def _counts(lines: Sequence[FindingLine]) -> str:
    counted = {s: sum(1 for f in lines if f.severity is s) for s in SEVERITY_ORDER}
    return ", ".join(f"{n} {s.value}" for s, n in counted.items() if n)


def build_findings_alert(data: FindingsAlertData) -> list[Payload]:
    """The top message (headline, the first resources, buttons) and, when the resources do
    not fit one message, the continuation replies for its thread (each within limits)."""
    name = md(data.project_name, 80)
    new = _sorted(data.new)
    since = (
        f"since scan #{data.previous_scan_id}"
        if data.previous_scan_id is not None
        else "(no earlier completed scan)"
    )
    headline = (
        f":rotating_light: *{len(new)} new failing finding{'s' if len(new) != 1 else ''}* "
        f"in *{name}* ({data.provider.upper()}) — scan #{data.scan_id}, {since}"
    )
    texts = _chunks([_line(f) for f in new], SECTION_CHARS)
    first = texts[:TOP_SECTIONS]
    rest = texts[TOP_SECTIONS:]
    pages = [first] + [
        rest[i : i + MESSAGE_SECTIONS] for i in range(0, len(rest), MESSAGE_SECTIONS)
    ]
    blocks: list[Block] = [section(headline)]
    notes = [f"{_counts(new) or 'none'} · {data.min_severity.value} and above"]
    if len(pages) > 1:
        notes.append(f"continued in the thread ({len(pages) - 1} more message(s))")
    if data.resolved:
        notes.append(f"{len(data.resolved)} resolved: see the thread")
    if data.muted:
        notes.append(f":zipper_mouth_face: {data.muted} muted left out")
    blocks.append(context(*notes))
    blocks += [section(t) for t in first]
    elements: list[Block] = [
        button("Findings", ids.FindingsAction.OPEN, encode(ScanRef(data.scan_id))),
        button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(data.project_id))),
    ]
    mutable = [f for f in new if f.finding_id is not None][:MUTE_OPTIONS]
    if mutable:
        elements.append(
            static_select(
                ids.MuteAction.MUTE,
                "Mute a finding…",
                [
                    option(
                        _option_text(f.check_id, f.resource),
                        encode_option(FindingRef(f.finding_id)),
                    )
                    for f in mutable
                    if f.finding_id is not None
                ],
            )
        )
    blocks.append(actions(*elements))
    fallback = f"{len(new)} new failing findings in {data.project_name} (scan #{data.scan_id})"
    out = [message(fallback, blocks)]
    for number, page in enumerate(pages[1:], start=2):
        cont = [context(f"{name}, scan #{data.scan_id}: new failing findings, part {number}")]
        cont += [section(t) for t in page]
        out.append(message(f"{data.project_name}: new failing findings, part {number}", cont))
    return out


def build_resolved_reply(data: FindingsAlertData) -> list[Payload]:
    """Thread replies listing the findings that passed again (empty list: none)."""
    if not data.resolved:
        return []
    texts = _chunks([_line(f) for f in _sorted(data.resolved)], SECTION_CHARS)
    pages = [texts[i : i + MESSAGE_SECTIONS] for i in range(0, len(texts), MESSAGE_SECTIONS)]
    out = []
    for number, page in enumerate(pages, start=1):
        head = (
            f":white_check_mark: *{len(data.resolved)} resolved* since scan "
            f"#{data.previous_scan_id}: passing again in scan #{data.scan_id}"
        )
        if len(pages) > 1:
            head += f" (part {number} of {len(pages)})"
        out.append(
            message(
                f"{len(data.resolved)} findings resolved in {data.project_name}",
                [section(head), *(section(t) for t in page)],
            )
        )
    return out


_WHAT = {
    "findings": "New failing findings of these projects after each scan",
    "failures": (
        "The failure alerts of these projects, updated in place and in their thread; "
        "nobody is mentioned here (owners are paged in the project's alert channel)"
    ),
}


def build_subscribe_reply(info: SubscriptionInfo, created: bool, note: str = "") -> Payload:
    """Ephemeral confirmation of ``/cspm subscribe`` (`note`: e.g. the digest's schedule)."""
    verb = "now gets" if created else "already gets"
    text = f":satellite_antenna: <#{md(info.channel_id, 40)}> {verb} *{info.label}*."
    notes = [_WHAT.get(info.kind, "")]
    if note:
        notes.append(md(note, 300))
    notes.append("`/cspm subscriptions` lists and removes this channel's slices")
    return message(f"Subscribed: {info.kind}", [section(text), context(*notes)])


def build_subscriptions(rows: Sequence[SubscriptionInfo], channel_id: str) -> Payload:
    """Ephemeral list of subscriptions, this channel's first, each with Remove."""
    if not rows:
        return message(
            "No subscriptions",
            [section("No channel subscribes to alerts or digests yet.\n" + SUBSCRIBE_USAGE)],
        )
    ordered = sorted(
        rows, key=lambda r: (r.channel_id != channel_id, r.channel_id, r.subscription_id)
    )
    blocks: list[Block] = [section(f"*Subscriptions* ({len(rows)})")]
    used = 0
    shown = 0
    for r in ordered:
        here = " _(this channel)_" if r.channel_id == channel_id else ""
        text = f"<#{md(r.channel_id, 40)}>{here}: {r.label}"
        if len(blocks) >= 45 or used + len(text) > TEXT_BUDGET - 1500:
            break
        blocks.append(
            section(
                text,
                accessory=button(
                    "Remove",
                    ids.SubscriptionAction.REMOVE,
                    encode(SubscriptionRef(r.subscription_id)),
                ),
            )
        )
        used += len(text) + 10
        shown += 1
    if shown < len(rows):
        blocks.append(context(f"…and {len(rows) - shown} more"))
    return message(f"{len(rows)} subscription(s)", blocks)


SUBSCRIBE_USAGE = (
    "`/cspm subscribe findings [project=web-*] [provider=aws] [severity=high]` — new failing "
    "findings of the matching projects, after each scan, in this channel\n"
    "`/cspm subscribe failures [project=prod-*] [provider=aws]` — the failure alerts of the "
    "matching projects in this channel too (no mention here)\n"
    "`/cspm subscriptions` — every channel's slices, with *Remove*"
)


def build_subscribe_help(problem: str | None = None) -> Payload:
    """Usage of ``/cspm subscribe``, optionally after what was wrong."""
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {md(problem, 500)}"))
    blocks.append(section(SUBSCRIBE_USAGE))
    return message(problem or "/cspm subscribe help", blocks)
