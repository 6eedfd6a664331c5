"""The scheduled failure digest (and the replies of `/cspm digest`).

A digest covers the period since the previous one: the counts and their change against the
period before, the failing scans grouped by cause, connectors whose credentials are rejected
(with Fix credentials), projects that need support (with Contact support), and the failing
projects with buttons into their history and error log. An empty period gives a short
all-clear. Pure: data in, a message payload (``text`` + ``blocks``) out.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import ids
from bot.codec import ConnectorRef, ProjectRef, ScanRef, SupportRef, encode
from bot.domain import ErrorCategory
from bot.views.common import (
    MESSAGE_MAX_BLOCKS,
    Block,
    Payload,
    actions,
    button,
    category_emoji,
    category_title,
    context,
    divider,
    fields_section,
    header,
    join_limited,
    md,
    message,
    section,
    slack_date,
    status_badge,
    status_md,
)
from bot.views.digest_models import (
    CredentialProblem,
    DigestData,
    DigestProject,
    PeriodCounts,
    SupportCase,
    SupportReason,
)

MAX_CREDENTIALS = 5
MAX_SUPPORT = 5
MAX_PROJECTS = 10
CAUSE_NAMES = 6
_SUPPORT_LABEL = {
    SupportReason.NEW_CONNECTOR_AUTH: "new connector still fails authentication",
    SupportReason.REPEATED_FAILURES: "repeated failures",
    SupportReason.UNKNOWN_ERRORS: "unknown processing errors",
}


def _delta(current: int, previous: int | None) -> str:
    """ "▲ 4", "▼ 1" or "no change" against the previous period ("" when unknown)."""
    if previous is None:
        return ""
    diff = current - previous
    if diff > 0:
        return f"▲ {diff} vs previous"
    if diff < 0:
        return f"▼ {-diff} vs previous"
    return "no change"


def _count_field(title: str, current: int, previous: int | None) -> str:
    change = _delta(current, previous)
    return f"*{title}*\n{current}" + (f"  _{change}_" if change else "")


def _period_line(data: DigestData) -> str:
    parts = [f"{slack_date(data.period_start)} → {slack_date(data.period_end)}"]
    if data.schedule_label:
        parts.append(md(data.schedule_label, 120))
    if data.on_demand:
        parts.append("on demand")
    return " · ".join(parts)


def _counts_block(current: PeriodCounts, previous: PeriodCounts | None) -> Block:
    return fields_section(
        [
            _count_field("Failed scans", current.failed, previous.failed if previous else None),
            _count_field(
                "Partially completed", current.partial, previous.partial if previous else None
            ),
            _count_field(
                "Failing projects",
                current.failing_projects,
                previous.failing_projects if previous else None,
            ),
            _count_field("Scans finished", current.scans, previous.scans if previous else None),
        ]
    )


def _names(names: Sequence[str], limit: int = CAUSE_NAMES) -> str:
    shown = ", ".join(f"`{md(n, 60)}`" for n in names[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _causes_block(data: DigestData) -> Block | None:
    if not data.causes:
        return None
    lines = []
    for group in data.causes:
        scans = f"{group.scans} scan{'s' if group.scans != 1 else ''}"
        line = f"{category_emoji(group.category)} *{category_title(group.category)}* — {scans}"
        if group.project_names:
            line += f": {_names(group.project_names)}"
        lines.append(line)
    return section("*By cause*\n" + join_limited(lines, 2800, "…and {n} more causes"))


def _credential_block(problem: CredentialProblem) -> Block:
    projects = len(problem.projects)
    text = (
        f":key: *{md(problem.name, 80)}* ({problem.provider.upper()}) — "
        f"{projects} project{'s' if projects != 1 else ''}"
    )
    if problem.projects:
        text += f": {_names(problem.projects, 4)}"
    if problem.failing_scans:
        text += f" · {problem.failing_scans} scan(s) failed to authenticate"
    if problem.recently_created and problem.created_at is not None:
        text += f"\n:new: Created {slack_date(problem.created_at)} and already rejected"
    return section(
        text,
        accessory=button(
            "Fix credentials",
            ids.ConnectorAction.REPLACE,
            encode(ConnectorRef(problem.connector_id)),
            style="primary",
        ),
    )


def _support_block(case: SupportCase) -> Block:
    text = (
        f":sos: *{md(case.project_name, 80)}* — {_SUPPORT_LABEL[case.reason]}: "
        f"{md(case.detail, 200)}"
    )
    return section(
        text,
        accessory=button(
            "Contact support",
            ids.SupportAction.OPEN,
            encode(SupportRef(scan_id=case.scan_id, connector_id=case.connector_id)),
        ),
    )


def _project_blocks(project: DigestProject) -> list[Block]:
    failures = f"{project.failures} failing scan{'s' if project.failures != 1 else ''}"
    details = [failures]
    if project.streak > 1:
        details.append(f"{project.streak} in a row")
    details.append(f"latest #{project.latest_scan_id}")
    if project.recovered:
        details.append(":white_check_mark: recovered since")
    text = f"{status_badge(project.latest_status)} *{md(project.name, 80)}* — " + " · ".join(
        details
    )
    if project.status_message:
        text += f"\n{status_md(project.status_message, 300)}"
    buttons = [
        button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(project.project_id))),
        button("Errors", ids.ErrorLogAction.OPEN, encode(ScanRef(project.latest_scan_id))),
    ]
    if ErrorCategory.INVALID_CREDENTIALS in project.categories and not project.recovered:
        buttons.append(
            button(
                "Fix credentials",
                ids.ConnectorAction.REPLACE,
                encode(ConnectorRef(project.connector_id)),
            )
        )
    return [section(text), actions(*buttons)]


def _more(shown: int, total: int, noun: str, hint: str = "") -> list[Block]:
    if total <= shown:
        return []
    return [context(f"…and {total - shown} more {noun}{hint}")]


def build_all_clear(data: DigestData) -> Payload:
    """The short digest of a period without failures."""
    ran = data.current.scans
    text = (
        ":white_check_mark: *All clear* — no failed or partially completed scans "
        f"between {slack_date(data.period_start)} and {slack_date(data.period_end)}."
    )
    notes = [f"{ran} scan{'s' if ran != 1 else ''} finished"]
    if data.previous is not None and data.previous.failing_projects:
        notes.append(f"previous period: {data.previous.failing_projects} failing project(s)")
    if data.schedule_label:
        notes.append(md(data.schedule_label, 120))
    if data.on_demand:
        notes.append("on demand")
    return message("CSPM digest: all clear", [section(text), context(" · ".join(notes))])


def build_digest(data: DigestData) -> Payload:
    """The digest message: counts and change, causes, credentials, support, failing projects."""
    if data.is_empty:
        return build_all_clear(data)
    title = "CSPM failure digest" + (" (on demand)" if data.on_demand else "")
    blocks: list[Block] = [
        header(title),
        context(_period_line(data)),
        _counts_block(data.current, data.previous),
    ]
    causes = _causes_block(data)
    if causes is not None:
        blocks.append(causes)
    if data.credentials:
        blocks += [divider(), section("*Connectors with invalid credentials*")]
        blocks += [_credential_block(c) for c in data.credentials[:MAX_CREDENTIALS]]
        blocks += _more(
            MAX_CREDENTIALS, len(data.credentials), "connectors", ": `/cspm connectors`"
        )
    if data.support:
        blocks += [divider(), section("*Needs support*")]
        blocks += [_support_block(c) for c in data.support[:MAX_SUPPORT]]
        blocks += _more(MAX_SUPPORT, len(data.support), "support cases")
    if data.projects:
        blocks += [divider(), section("*Failing projects*")]
        room = (MESSAGE_MAX_BLOCKS - len(blocks) - 1) // 2
        shown = max(0, min(MAX_PROJECTS, room, len(data.projects)))
        for project in data.projects[:shown]:
            blocks += _project_blocks(project)
        blocks += _more(shown, len(data.projects), "failing projects", ": `/cspm projects failed`")
    failing = data.current.failing_projects or len(data.projects)
    fallback = (
        f"CSPM digest: {failing} failing project(s), {data.current.failed} failed and "
        f"{data.current.partial} partially completed scan(s)"
    )
    return message(fallback, blocks)


# --------------------------------------------------------------------------------------------
# `/cspm digest` replies
# --------------------------------------------------------------------------------------------


def build_subscription_reply(
    channel_id: str, label: str, all_clear: bool, next_run: str | None, replaced: bool
) -> Payload:
    """Ephemeral confirmation of `/cspm digest subscribe`."""
    verb = "now gets" if not replaced else "now gets (schedule replaced)"
    text = f":calendar: <#{md(channel_id, 40)}> {verb} the failure digest: *{md(label, 120)}*."
    notes = ["Empty periods: " + ("a short all-clear" if all_clear else "no message")]
    if next_run:
        notes.append(f"next: {next_run}")
    notes.append("`/cspm digest unsubscribe` to stop")
    return message(f"Digest subscribed: {label}", [section(text), context(" · ".join(notes))])


def build_unsubscribe_reply(channel_id: str, removed: bool) -> Payload:
    """Ephemeral confirmation of `/cspm digest unsubscribe`."""
    if removed:
        text = f":wave: <#{md(channel_id, 40)}> no longer gets the failure digest."
    else:
        text = f"<#{md(channel_id, 40)}> had no digest subscription."
    return message("Digest unsubscribed" if removed else "No digest subscription", [section(text)])


def build_subscription_list(
    rows: Sequence[tuple[str, str, bool, str | None]], current_channel: str
) -> Payload:
    """Ephemeral list of subscriptions: (channel id, label, all-clear, next run)."""
    if not rows:
        return message(
            "No digest subscriptions",
            [
                section(
                    "No channel gets the failure digest yet. Subscribe this one with "
                    "`/cspm digest subscribe daily 09:00 Europe/Berlin`."
                )
            ],
        )
    lines = []
    for channel, label, all_clear, next_run in rows:
        here = " _(this channel)_" if channel == current_channel else ""
        quiet = "" if all_clear else " · no all-clear"
        nxt = f" · next {next_run}" if next_run else ""
        lines.append(f"• <#{md(channel, 40)}>{here}: {md(label, 120)}{quiet}{nxt}")
    body = join_limited(lines, 2900, "…and {n} more channels")
    return message(f"{len(rows)} digest subscription(s)", [section("*Failure digests*\n" + body)])


DIGEST_USAGE = (
    "`/cspm digest subscribe daily 09:00 [time zone] [quiet]` — a daily digest in this channel\n"
    "`/cspm digest subscribe weekly mon 09:00 [time zone] [quiet]` — a weekly one\n"
    "`/cspm digest unsubscribe` — stop this channel's digest\n"
    "`/cspm digest list` — every subscribed channel\n"
    "`/cspm digest now` — the digest of the period so far, here and now\n"
    "_quiet_: no message for a period without failures."
)


def build_digest_help(problem: str | None = None) -> Payload:
    """Usage of `/cspm digest`, optionally after what was wrong."""
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {md(problem, 500)}"))
    blocks.append(section(DIGEST_USAGE))
    return message(problem or "/cspm digest help", blocks)
