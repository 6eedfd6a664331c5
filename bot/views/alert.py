"""The failure alert: one message per incident in the project's alert channel.

`build_alert` renders the incident's one message (posted when it opens, updated in place as
the project's next scans fail again or recover). `build_alert_reply` renders the short thread
reply that tells the channel what changed. Pure: data in, message payload out.
"""

from __future__ import annotations

from bot import ids
from bot.codec import ConnectorRef, ProjectRef, ScanRef, SupportRef, encode
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
    status_badge,
    status_md,
    trigger_label,
)
from bot.views.digest_models import AlertData, AlertState

_SUPPORT_WORDS = {
    "new_connector_auth": "the new connector still fails authentication",
    "repeated_failures": "repeated failures",
    "unknown_errors": "unknown processing errors",
}


def _mention(data: AlertData) -> str:
    return f"{data.mention} " if data.mention else ""


MAX_PERMISSIONS_CHARS = 900


def _permissions(data: AlertData) -> str:
    names = list(data.missing_permissions)
    if not names and data.top_error is not None and data.top_error.missing_permission:
        names = [data.top_error.missing_permission]
    if not names:
        return ""
    label = "Missing permission" if len(names) == 1 else f"Missing permissions ({len(names)})"
    parts: list[str] = []
    used = 0
    for i, name in enumerate(names):
        part = f"`{md(name, 120)}`"
        if used + len(part) + 2 > MAX_PERMISSIONS_CHARS:
            parts.append(f"…and {len(names) - i} more")
            break
        parts.append(part)
        used += len(part) + 2
    return f"\n{label}: {', '.join(parts)}"


def _cause(data: AlertData) -> Block | None:
    error = data.top_error
    if error is None:
        return None
    text = (
        f"{category_emoji(error.category)} *{category_title(error.category)}* "
        f"(`{md(error.code, 80)}`): {md(error.message, 600)}"
    )
    text += _permissions(data)
    if data.retry is not None:  # the retry is the next step: nothing for a person to do yet
        text += f"\n*Next step:* none yet — {_retry_when(data)}."
    elif error.remediation:
        text += f"\n*Next step:* {md(error.remediation, 500)}"
    return section(text)


def _retry_when(data: AlertData) -> str:
    r = data.retry
    if r is None:
        return ""
    return (
        f"automatic retry {r.attempt} of {r.max_attempts} runs "
        f"{slack_date(r.at, '{date_short_pretty} at {time}')}"
    )


def _retry_line(data: AlertData) -> str | None:
    if data.retry is not None:
        when = _retry_when(data)
        return (
            f":repeat: {when[:1].upper()}{when[1:]}; nobody is paged unless the failure "
            "outlasts the retries."
        )
    if data.retries_exhausted:
        return (
            ":no_entry_sign: Automatic retries used up: the failure persists. "
            "Re-run the scan once the cause is fixed."
        )
    return None


def _where_line(data: AlertData) -> str:
    provider = data.project.provider.upper()
    line = f"Connector `{md(data.project.connector_name, 80)}` ({provider})"
    if data.account_id:
        line += f" · account `{md(data.account_id, 120)}`"
    if data.digest_link:
        line += f" · <{data.digest_link}|listed in the digest>"
    return line


def _routed_line(data: AlertData) -> str | None:
    """Why a subscribed channel sees this alert, and where the owner is paged."""
    if not data.routed:
        return None
    line = ":satellite_antenna: Sent here by this channel's `failures` subscription"
    if data.home_channel:
        return f"{line}; the owner is paged in <#{md(data.home_channel, 40)}>"
    return f"{line}; the project has no alert channel, nobody is paged"


def _support_lines(data: AlertData) -> list[str]:
    return [
        f":sos: *Support case*: {_SUPPORT_WORDS.get(c.reason.value, c.reason.value)} — "
        f"{md(c.detail, 200)}"
        for c in data.support
    ]


def _buttons(data: AlertData) -> Block:
    scan_id, project_id = data.scan.scan_id, data.project.project_id
    elements = [
        button("Errors", ids.ErrorLogAction.OPEN, encode(ScanRef(scan_id)), style="primary"),
        button("History", ids.ProjectAction.HISTORY, encode(ProjectRef(project_id))),
    ]
    if ErrorCategory.INVALID_CREDENTIALS in data.categories and data.connector_id is not None:
        elements.append(
            button(
                "Fix credentials",
                ids.ConnectorAction.REPLACE,
                encode(ConnectorRef(data.connector_id)),
            )
        )
    if data.retry is None:
        elements.append(button("Re-run scan", ids.ScanAction.RERUN, encode(ScanRef(scan_id))))
    if data.support or ErrorCategory.UNKNOWN in data.categories:
        elements.append(
            button(
                "Contact support",
                ids.SupportAction.OPEN,
                encode(SupportRef(scan_id=scan_id, connector_id=data.connector_id)),
            )
        )
    return actions(*elements)


def _incident_line(data: AlertData) -> str:
    parts = []
    if data.opened_at is not None:
        parts.append(f"Failing since {slack_date(data.opened_at)}")
    parts.append(f"{data.failures} failing scan{'s' if data.failures != 1 else ''}")
    latest = f"latest #{data.scan.scan_id} ({trigger_label(data.scan.trigger)}"
    if data.scan.finished_at is not None:
        latest += f", {slack_date(data.scan.finished_at)}"
    parts.append(latest + ")")
    return " · ".join(parts)


def _recovered(data: AlertData) -> Payload:
    name = md(data.project.name, 80)
    text = (
        f":white_check_mark: *{name}* recovered — scan #{data.scan.scan_id} "
        f"{status_badge(data.scan.status)}"
    )
    notes = []
    if data.opened_at is not None:
        notes.append(f"Was failing since {slack_date(data.opened_at)}")
    notes.append(f"{data.failures} failing scan{'s' if data.failures != 1 else ''}")
    if data.scan.finished_at is not None:
        notes.append(f"recovered {slack_date(data.scan.finished_at)}")
    routed = _routed_line(data)
    blocks = [
        section(text),
        context(" · ".join(notes), *([routed] if routed else [])),
        actions(
            button(
                "History",
                ids.ProjectAction.HISTORY,
                encode(ProjectRef(data.project.project_id)),
            )
        ),
    ]
    return message(f"{data.project.name} recovered (scan #{data.scan.scan_id} completed)", blocks)


def build_alert(data: AlertData) -> Payload:
    """The incident's one message: cause, next steps, incident state and buttons."""
    if data.state is AlertState.RECOVERED:
        return _recovered(data)
    name = md(data.project.name, 80)
    headline = (
        f"{_mention(data)}{status_badge(data.scan.status)} *{name}* — scan "
        f"#{data.scan.scan_id} {data.scan.status.label.lower()}"
    )
    if data.scan.status_message:
        headline += f"\n{status_md(data.scan.status_message, 300)}"
    blocks: list[Block] = [section(headline)]
    cause = _cause(data)
    if cause is not None:
        blocks.append(cause)
    support = _support_lines(data)
    if support:
        blocks.append(section("\n".join(support)))
    notes = [_incident_line(data), _where_line(data)]
    retry = _retry_line(data)
    if retry:
        notes.append(retry)
    routed = _routed_line(data)
    if routed:
        notes.append(routed)
    blocks.append(context(*notes))
    blocks.append(_buttons(data))
    fallback = (
        f"{data.project.name}: scan "
        f"#{data.scan.scan_id} {data.scan.status.label} — {data.scan.status_message}"
    )
    return message(fallback, blocks, mention=data.mention or "")


def build_alert_reply(data: AlertData) -> Payload:
    """The thread reply under the incident's alert: failing again, escalated or recovered."""
    scan = data.scan
    if data.state is AlertState.RECOVERED:
        text = (
            f":white_check_mark: Recovered: scan #{scan.scan_id} "
            f"{scan.status.label.lower()}. Incident closed after {data.failures} failing "
            f"scan{'s' if data.failures != 1 else ''}."
        )
        return message(f"Recovered: scan #{scan.scan_id} completed", [section(text)])
    text = (
        f"{_mention(data)}{status_badge(scan.status)} Still failing: scan #{scan.scan_id} "
        f"({trigger_label(scan.trigger)})"
    )
    if scan.status_message:
        text += f" — {status_md(scan.status_message, 300)}"
    blocks: list[Block] = [section(text)]
    notes = _support_lines(data)
    retry = _retry_line(data)
    if retry:
        notes.append(retry)
    if data.missing_permissions:
        notes.append(_permissions(data).strip())
    if notes:
        blocks.append(context(*notes))
    fallback = f"{data.project.name}: still failing (scan #{scan.scan_id} {scan.status.label})"
    return message(fallback, blocks, mention=_mention(data).strip())
