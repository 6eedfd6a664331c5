"""The scheduled failure digest (and the replies of `/cspm digest`).

A digest covers the period since the previous one: the headline figures (projects failing
now, failed, partially completed and finished scans) with their change against the period
before, told as better or worse for each figure, and a 14-day sparkline each; the failing
scans grouped by cause, connectors whose credentials are rejected (with Fix credentials),
projects that need support (with Contact support), the projects still failing (since when,
for how long, a link to their alert thread, buttons into their history and error log) and,
apart, those that recovered during the period. An empty period gives a short
all-clear. Pure: data in, a message payload (``text`` + ``blocks``) out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum

from bot import ids
from bot.codec import ConnectorRef, ProjectRef, ScanRef, SupportRef, encode
from bot.domain import ErrorCategory
from bot.views.common import (
    MESSAGE_MAX_BLOCKS,
    TEXT_BUDGET,
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
    DigestTrends,
    SupportCase,
    SupportReason,
)

MAX_CREDENTIALS = 5
MAX_SUPPORT = 5
MAX_PROJECTS = 10
RECOVERED_TEXT_MAX = 2500
CAUSE_NAMES = 6
_SUPPORT_LABEL = {
    SupportReason.NEW_CONNECTOR_AUTH: "new connector still fails authentication",
    SupportReason.REPEATED_FAILURES: "repeated failures",
    SupportReason.UNKNOWN_ERRORS: "unknown processing errors",
}


SPARK_CHARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int]) -> str:
    """A Unicode sparkline of `values`, scaled from zero to their maximum ("▁▁▃█")."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK_CHARS[0] * len(values)
    steps = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[round(max(0, v) / top * steps)] for v in values)


class Better(Enum):
    """Which way a headline figure should move."""

    DOWN = "down"  # fewer is better (failures)
    NEITHER = "neither"  # more or fewer is neither good nor bad news (scans finished)


def _delta(current: int, previous: int | None, better: Better) -> str:
    """The change against the previous period, with what it means for this figure:
    ":small_red_triangle: 4 more than before (worse)", ":small_red_triangle_down: 1 fewer
    (better)", "▲ 40 more than before" for a neutral figure, "no change" ("" when unknown)."""
    if previous is None:
        return ""
    diff = current - previous
    if diff == 0:
        return "no change"
    if better is Better.NEITHER:
        arrow = "▲" if diff > 0 else "▼"
        return f"{arrow} {abs(diff)} {'more' if diff > 0 else 'fewer'} than before"
    if diff > 0:
        return f":small_red_triangle: {diff} more than before (worse)"
    return f":small_red_triangle_down: {-diff} fewer than before (better)"


def _count_field(
    title: str, current: int, previous: int | None, better: Better, trend: Sequence[int]
) -> str:
    change = _delta(current, previous, better)
    text = f"*{title}*\n{current}" + (f"  _{change}_" if change else "")
    if trend:
        text += f"\n`{sparkline(trend)}` _{len(trend)} days_"
    return text


def _period_line(data: DigestData) -> str:
    parts = [f"{slack_date(data.period_start)} → {slack_date(data.period_end)}"]
    if data.schedule_label:
        parts.append(md(data.schedule_label, 120))
    if data.on_demand:
        parts.append("on demand")
    return " · ".join(parts)


def _counts_block(data: DigestData) -> Block:
    current, previous = data.current, data.previous
    trends = data.trends or DigestTrends()
    return fields_section(
        [
            _count_field(
                "Failing now",
                current.failing_projects,
                previous.failing_projects if previous else None,
                Better.DOWN,
                trends.failing_projects,
            ),
            _count_field(
                "Failed scans",
                current.failed,
                previous.failed if previous else None,
                Better.DOWN,
                trends.failed,
            ),
            _count_field(
                "Partially completed",
                current.partial,
                previous.partial if previous else None,
                Better.DOWN,
                trends.partial,
            ),
            _count_field(
                "Scans finished",
                current.scans,
                previous.scans if previous else None,
                Better.NEITHER,
                trends.scans,
            ),
        ]
    )


def text_size(value: object) -> int:
    """Characters of text in blocks (every ``text`` string, nested), as Slack counts them."""
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    if isinstance(value, dict):
        own = len(value["text"]) if isinstance(value.get("text"), str) else 0
        return own + sum(text_size(v) for k, v in value.items() if not isinstance(v, str))
    return 0


def for_how_long(since: datetime, until: datetime) -> str:
    """A rough duration: "3 d 4 h", "5 h 12 min", "7 min"."""
    minutes = max(0, int((until - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


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
        if group.category is ErrorCategory.ASSUME_ROLE_FAILED:
            line += "\n      _Next step: fix the role's trust policy or the external ID._"
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


def _project_blocks(project: DigestProject, period_end: datetime) -> list[Block]:
    """A still-failing project: since when and for how long, its buttons."""
    failures = f"{project.failures} failing scan{'s' if project.failures != 1 else ''}"
    details = [failures]
    if project.streak > 1:
        details.append(f"{project.streak} in a row")
    details.append(f"latest #{project.latest_scan_id}")
    text = f"{status_badge(project.latest_status)} *{md(project.name, 80)}* — " + " · ".join(
        details
    )
    if project.failing_since is not None:
        text += (
            f"\nFailing since {slack_date(project.failing_since)} "
            f"({for_how_long(project.failing_since, period_end)})"
        )
    if project.alert_link:
        text += f" · <{project.alert_link}|alert thread>"
    if project.status_message:
        text += f"\n{status_md(project.status_message, 300)}"
    buttons = [
        button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(project.project_id))),
        button("Errors", ids.ErrorLogAction.OPEN, encode(ScanRef(project.latest_scan_id))),
    ]
    if ErrorCategory.INVALID_CREDENTIALS in project.categories:
        buttons.append(
            button(
                "Fix credentials",
                ids.ConnectorAction.REPLACE,
                encode(ConnectorRef(project.connector_id)),
            )
        )
    return [section(text), actions(*buttons)]


def _recovered_block(projects: Sequence[DigestProject]) -> Block:
    """The projects that recovered during the period, one line each."""
    lines = []
    for p in projects:
        line = f":white_check_mark: *{md(p.name, 80)}* — recovered"
        if p.recovered_at is not None:
            line += f" {slack_date(p.recovered_at)}"
        if p.failing_since is not None and p.recovered_at is not None:
            line += f" after {for_how_long(p.failing_since, p.recovered_at)}"
        line += f" · {p.failures} failing scan{'s' if p.failures != 1 else ''} in the period"
        lines.append(line)
    body = join_limited(lines, RECOVERED_TEXT_MAX, "…and {n} more recovered projects")
    return section("*Recovered during the period*\n" + body)


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
        _counts_block(data),
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
    still, recovered = data.still_failing, data.recovered
    reserve = RECOVERED_TEXT_MAX + 200 if recovered else 200
    if still:
        blocks += [divider(), section("*Still failing*")]
        room = (MESSAGE_MAX_BLOCKS - len(blocks) - 1 - (2 if recovered else 0)) // 2
        shown = 0
        for project in still[: max(0, min(MAX_PROJECTS, room))]:
            rows = _project_blocks(project, data.period_end)
            if text_size(blocks + rows) > TEXT_BUDGET - reserve:
                break
            blocks += rows
            shown += 1
        blocks += _more(shown, len(still), "failing projects", ": `/cspm projects failed`")
    elif data.projects:
        blocks += [divider(), section(":white_check_mark: *Still failing*: none")]
    if recovered:
        blocks += [divider(), _recovered_block(recovered)]
    fallback = (
        f"CSPM digest: {len(still)} project(s) still failing, {len(recovered)} recovered; "
        f"{data.current.failed} failed and {data.current.partial} partially completed scan(s)"
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
