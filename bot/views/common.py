"""Shared pieces of every builder: text safety, block constructors, badges, help and errors.

All text that comes from users or clouds goes through `md()` (mrkdwn: escaped so it cannot
mention ``@channel`` or break formatting, and cut to a limit) or `plain()` (plain_text, cut).
Limits are Slack's; the builders keep well inside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import ids
from bot.codec import PageKind, PageRef, encode
from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus, Severity
from bot.errors import InputError
from bot.records import Page

Block = dict[str, Any]
"""One Block Kit block (or element / composition object) as a plain dict."""
Payload = dict[str, Any]
"""A message (``text`` + ``blocks``) or a view (``type`` + ``blocks`` ...)."""

# Slack limits.
MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75
MODAL_TITLE_MAX = 24
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
PLACEHOLDER_MAX = 150
INPUT_MAX_LENGTH = 3000
TEXT_BUDGET = 11_000
"""Total characters of text we allow a surface (Slack rejects ~12k with msg_blocks_too_long)."""
FALLBACK_MAX = 300
"""Notification fallback ``text`` of a message."""

ELLIPSIS = "…"
_ENTITY = re.compile(r"&(?:amp|lt|gt);")

# --------------------------------------------------------------------------------------------
# Text safety
# --------------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Fold every run of whitespace (newlines included) into one space."""
    return " ".join(str(text).split())


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with "…" when cut."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control (&, <, >)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md(text: str, limit: int = SECTION_TEXT_MAX, *, single_line: bool = True) -> str:
    """User or cloud text made safe for mrkdwn: escaped, optionally one line, ≤ `limit`.

    The limit counts the escaped text, and an entity such as ``&amp;`` is never cut in half.
    """
    raw = one_line(text) if single_line else str(text)
    return cut_mrkdwn(escape(raw), limit)


_STOPPED_BY_MENTION = re.compile(r"^Stopped by &lt;@([UW][A-Z0-9]{2,20})&gt; ")


def status_md(text: str, limit: int) -> str:
    """A scan's status message made safe for mrkdwn like `md`, except that the Slack user
    mention naming who stopped a scan ("Stopped by <@U123> after …", as the status rules
    write it) stays a mention; any other mention-like text is escaped."""
    return _STOPPED_BY_MENTION.sub(r"Stopped by <@\1> ", md(text, limit), count=1)


def code_block(text: str, limit: int) -> str:
    """A mrkdwn code block of `text` whose whole length (fences included) is ≤ `limit`."""
    body = str(text).replace("```", "'''").strip() or "(empty)"
    return "```" + md(body, limit - 6, single_line=False) + "```"


def cut_mrkdwn(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to ≤ `limit` without splitting an ``&amp;``-style entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def cut_middle(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to ≤ `limit` by dropping its middle ("start…end").

    A cloud error names its code near the start and says what went wrong at the end
    ("An error occurred (Throttling) when calling … : Rate exceeded"), so both ends are kept;
    an ``&amp;``-style entity is never cut in half on either side.
    """
    if len(text) <= limit:
        return text
    if limit < 8:
        return cut_mrkdwn(text, limit)
    keep = limit - len(ELLIPSIS)
    head_end, tail_start = keep - keep // 2, len(text) - keep // 2
    for entity in _ENTITY.finditer(text):
        if entity.start() < head_end < entity.end():
            head_end = entity.start()
        if entity.start() < tail_start < entity.end():
            tail_start = entity.end()
    return text[:head_end].rstrip() + ELLIPSIS + text[tail_start:].lstrip()


def join_limited(
    lines: Sequence[str], limit: int, more: str = "…and {n} more", total: int | None = None
) -> str:
    """Join `lines` with newlines within `limit` characters, ending with "…and N more".

    Every line must already be safe mrkdwn. If not even the first line fits, it is cut.
    `total` is how many lines there are in all when `lines` holds only the first ones.
    """
    total = len(lines) if total is None else max(total, len(lines))
    out: list[str] = []
    used = -1  # no newline before the first line
    for i, line in enumerate(lines):
        rest = total - i - 1
        reserve = len(more.format(n=rest)) + 1 if rest else 0
        if used + 1 + len(line) + reserve > limit:
            break
        out.append(line)
        used += 1 + len(line)
    if len(out) == total:
        return "\n".join(out)
    if not out and lines:
        rest = total - 1
        reserve = len(more.format(n=rest)) + 1 if rest else 0
        out.append(cut_mrkdwn(lines[0], max(1, limit - reserve)))
    if len(out) < total:
        out.append(more.format(n=total - len(out)))
    return "\n".join(out)


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def user_ref(user: str | None) -> str:
    """A Slack user (``U123`` or the recorded actor ``slack:U123``) as a mention (``<@U123>``);
    any other actor name (``cli:alice``) escaped as-is."""
    if not user:
        return "the scheduler"
    user = user.removeprefix("slack:")
    if _SLACK_USER.match(user):
        return f"<@{user}>"
    return md(user, 80)


def text_length(node: Any) -> int:
    """Characters of text in every text object inside `node` (what Slack's ~12k limit counts)."""
    total = 0
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") in ("plain_text", "mrkdwn") and "text" in item:
                total += len(str(item["text"]))
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


def slack_date(dt: datetime | None, fmt: str = "{date_short_pretty} {time}") -> str:
    """A timestamp in Slack's date syntax: shown in the reader's own time zone.

    Naive datetimes are taken as UTC. ``None`` renders as "—".
    """
    if dt is None:
        return "—"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    fallback = dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(dt.timestamp())}^{fmt}|{fallback}>"


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long something took, e.g. "3m 12s"; "" if a time is missing."""
    if start is None or end is None:
        return ""
    if (start.tzinfo is None) != (end.tzinfo is None):
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


# --------------------------------------------------------------------------------------------
# Badges and labels
# --------------------------------------------------------------------------------------------

NEVER_SCANNED = ":heavy_minus_sign: Never scanned"

_STATUS_EMOJI = {
    ScanStatus.QUEUED: ":hourglass_flowing_sand:",
    ScanStatus.RUNNING: ":arrows_counterclockwise:",
    ScanStatus.COMPLETED: ":large_green_circle:",
    ScanStatus.PARTIALLY_COMPLETED: ":large_orange_circle:",
    ScanStatus.FAILED: ":red_circle:",
    ScanStatus.STOPPED: ":white_circle:",
}
NO_STATUS_EMOJI = ":heavy_minus_sign:"

_JOB_BADGES = {
    JobStatus.QUEUED: ":hourglass_flowing_sand: Queued",
    JobStatus.RUNNING: ":arrows_counterclockwise: Running",
    JobStatus.SUCCEEDED: ":white_check_mark: Succeeded",
    JobStatus.FAILED: ":x: Failed",
    JobStatus.CANCELLED: ":white_circle: Cancelled",
    JobStatus.INTERRUPTED: ":warning: Interrupted",
}

_CATEGORY_EMOJI = {
    ErrorCategory.INVALID_CREDENTIALS: ":key:",
    ErrorCategory.PERMISSION_DENIED: ":no_entry:",
    ErrorCategory.ASSUME_ROLE_FAILED: ":closed_lock_with_key:",
    ErrorCategory.TEMPORARY: ":repeat:",
    ErrorCategory.UNKNOWN: ":grey_question:",
}

_SEVERITY_EMOJI = {
    Severity.CRITICAL: ":bangbang:",
    Severity.HIGH: ":exclamation:",
    Severity.MEDIUM: ":warning:",
    Severity.LOW: ":information_source:",
}

_TRIGGERS = {
    "manual": "Manual",
    "schedule": "Scheduled",
    "rerun": "Re-run",
    "retry": "Automatic retry",
    "cli": "CLI",
    "api": "API",
}


def status_emoji(status: ScanStatus | None) -> str:
    """The one emoji of a scan status everywhere: red for failed, grey for stopped (a dash
    for a project never scanned)."""
    return NO_STATUS_EMOJI if status is None else _STATUS_EMOJI[status]


def status_badge(status: ScanStatus | None) -> str:
    """The one emoji + label of a scan status, e.g. ":red_circle: Failed"."""
    if status is None:
        return NEVER_SCANNED
    return f"{status_emoji(status)} {status.label}"


def job_badge(status: JobStatus) -> str:
    """Emoji + label of a job status."""
    return _JOB_BADGES[status]


def category_emoji(category: ErrorCategory) -> str:
    """The emoji of an error category."""
    return _CATEGORY_EMOJI[category]


def category_title(category: ErrorCategory) -> str:
    """Capitalised category label, e.g. "Authentication failed"."""
    label = category.label
    return label[:1].upper() + label[1:]


def error_line(error: CloudError, limit: int = 300) -> str:
    """A classified error on one line: category, provider code, message and the missing
    permissions, e.g. "Permission denied · `AccessDenied` — … · missing `ec2:DescribeRegions`"."""
    missing = ", ".join(error.missing_permissions)
    tail = f" · missing `{md(missing, 120)}`" if missing else ""
    code = f" · `{md(error.code, 80)}`" if error.code else ""
    head = f"{category_title(error.category)}{code} — "
    return head + md(error.message, max(20, limit - len(head) - len(tail))) + tail


def severity_badge(severity: Severity) -> str:
    """Emoji + capitalised severity, e.g. ":bangbang: Critical"."""
    return f"{_SEVERITY_EMOJI[severity]} {severity.value.capitalize()}"


def trigger_label(trigger: str) -> str:
    """Human label of how a scan started."""
    return _TRIGGERS.get(trigger, md(trigger, 40) or "—")


def status_line(status: ScanStatus | None, message: str, limit: int = 300) -> str:
    """Badge plus the status message on one line, e.g. ":red_circle: Failed — 5 of 5 …"."""
    badge = status_badge(status)
    if not message.strip():
        return badge
    return f"{badge} — {md(message, max(10, limit - len(badge) - 3))}"


STATUS_ALIASES: dict[str, ScanStatus] = {
    "queued": ScanStatus.QUEUED,
    "running": ScanStatus.RUNNING,
    "active": ScanStatus.RUNNING,
    "completed": ScanStatus.COMPLETED,
    "complete": ScanStatus.COMPLETED,
    "ok": ScanStatus.COMPLETED,
    "partial": ScanStatus.PARTIALLY_COMPLETED,
    "partially": ScanStatus.PARTIALLY_COMPLETED,
    "partially_completed": ScanStatus.PARTIALLY_COMPLETED,
    "partially-completed": ScanStatus.PARTIALLY_COMPLETED,
    "partially completed": ScanStatus.PARTIALLY_COMPLETED,
    "failed": ScanStatus.FAILED,
    "failing": ScanStatus.FAILED,
    "stopped": ScanStatus.STOPPED,
}


def parse_status_filter(text: str) -> ScanStatus | None:
    """The status a user typed after ``/cspm projects`` ("" or "all" → None).

    Raises `InputError` naming the accepted words.
    """
    word = " ".join(text.lower().split())
    if word in ("", "all", "any"):
        return None
    if word in STATUS_ALIASES:
        return STATUS_ALIASES[word]
    accepted = "all, queued, running, completed, partial, failed, stopped"
    raise InputError(f"Unknown status “{truncate(one_line(text), 40)}”. Use one of: {accepted}.")


# --------------------------------------------------------------------------------------------
# Block constructors (plain dicts, shaped exactly as slack_sdk serialises them)
# --------------------------------------------------------------------------------------------


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> Block:
    """A plain_text object, one line, cut to `limit`, never empty."""
    return {"type": "plain_text", "text": truncate(one_line(text), limit) or "—", "emoji": True}


def mrkdwn(text: str) -> Block:
    """A mrkdwn text object; `text` must already be safe (see `md`) and within limits."""
    return {"type": "mrkdwn", "text": text or " "}


def header(text: str) -> Block:
    """A header block (plain text ≤ 150)."""
    return {"type": "header", "text": plain(text, HEADER_MAX)}


def section(text: str, accessory: Block | None = None, block_id: str | None = None) -> Block:
    """A section with safe mrkdwn text (cut to 3000 as a last resort) and an optional accessory."""
    block: Block = {"type": "section", "text": mrkdwn(cut_mrkdwn(text, SECTION_TEXT_MAX))}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = str(block_id)
    return block


def fields_section(fields: Sequence[str], text: str | None = None) -> Block:
    """A section of up to 10 mrkdwn fields (each cut to 2000)."""
    block: Block = {
        "type": "section",
        "fields": [mrkdwn(cut_mrkdwn(f, FIELD_TEXT_MAX)) for f in fields[:10]],
    }
    if text:
        block["text"] = mrkdwn(cut_mrkdwn(text, SECTION_TEXT_MAX))
    return block


def context(*texts: str) -> Block:
    """A context block of mrkdwn texts (at most 10)."""
    return {
        "type": "context",
        "elements": [mrkdwn(cut_mrkdwn(t, SECTION_TEXT_MAX)) for t in texts[:10] if t],
    }


def divider() -> Block:
    """A divider block."""
    return {"type": "divider"}


def actions(*elements: Block, block_id: str | None = None) -> Block:
    """An actions block (at most 25 elements)."""
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = str(block_id)
    return block


def confirm_dialog(
    title: str, text: str, confirm: str = "Yes", deny: str = "Cancel", danger: bool = False
) -> Block:
    """A confirm dialog; `text` must be safe mrkdwn (it is cut to 300)."""
    obj: Block = {
        "title": plain(title, CONFIRM_TITLE_MAX),
        "text": mrkdwn(cut_mrkdwn(text, CONFIRM_TEXT_MAX)),
        "confirm": plain(confirm, CONFIRM_BUTTON_MAX),
        "deny": plain(deny, CONFIRM_BUTTON_MAX),
    }
    if danger:
        obj["style"] = "danger"
    return obj


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    """A button; `value` should come from `bot.codec.encode`."""
    btn: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": str(action_id),
    }
    if value is not None:
        btn["value"] = value
    if style is not None:
        btn["style"] = style
    if confirm is not None:
        btn["confirm"] = confirm
    return btn


def stop_button(value: str) -> Block:
    """The Stop button and its confirm dialog, the same on every surface."""
    return button(
        "Stop",
        ids.ScanAction.STOP,
        value,
        style="danger",
        confirm=confirm_dialog(
            "Stop this scan?",
            "Jobs still running are cancelled; finished jobs keep their results. "
            "The scan will show as Stopped.",
            confirm="Stop scan",
            deny="Keep running",
            danger=True,
        ),
    )


def option(text: str, value: str) -> Block:
    """An option for a select or an overflow menu (text ≤ 75)."""
    return {"text": plain(text, OPTION_TEXT_MAX), "value": value}


def overflow(action_id: str, options: Sequence[Block]) -> Block:
    """An overflow menu (1 to 5 options)."""
    return {"type": "overflow", "action_id": str(action_id), "options": list(options[:5])}


def static_select(
    action_id: str, placeholder: str, options: Sequence[Block], initial: Block | None = None
) -> Block:
    """A static select (at most 100 options)."""
    element: Block = {
        "type": "static_select",
        "action_id": str(action_id),
        "placeholder": plain(placeholder, PLACEHOLDER_MAX),
        "options": list(options[:100]),
    }
    if initial is not None:
        element["initial_option"] = initial
    return element


def message(fallback: str, blocks: list[Block], *, mention: str = "") -> Payload:
    """A message payload: notification text plus blocks (the handler adds channel etc.).

    `fallback` is plain words that may hold user or cloud text (a project name, a command's
    argument): it is escaped here, as every block's text is, so ``<!channel>`` in a name
    shows as typed and notifies no one. `mention` (the configured alert mention, such as
    ``<!subteam^S0123ABCD>``) goes before it as it is, so that it does notify.
    """
    text = md(fallback, FALLBACK_MAX) or "cspm"
    return {"text": f"{mention} {text}" if mention else text, "blocks": blocks}


def modal(
    title: str,
    blocks: list[Block],
    *,
    callback_id: str,
    submit: str | None = None,
    close: str = "Close",
    private_metadata: str | None = None,
) -> Payload:
    """A modal view (title/submit/close ≤ 24)."""
    view: Payload = {
        "type": "modal",
        "callback_id": str(callback_id),
        "title": plain(title, MODAL_TITLE_MAX),
        "close": plain(close, MODAL_TITLE_MAX),
        "blocks": blocks,
    }
    if submit is not None:
        view["submit"] = plain(submit, MODAL_TITLE_MAX)
    if private_metadata is not None:
        view["private_metadata"] = private_metadata
    return view


def paging_blocks(
    page: Page[Any],
    kind: PageKind,
    *,
    noun: str,
    status_filter: ScanStatus | None = None,
    project_id: int | None = None,
) -> list[Block]:
    """Context "Page 2 of 7 · 312 projects" plus Prev / Next buttons; [] for a single page."""
    if page.total_pages <= 1:
        return []
    buttons: list[Block] = []
    if page.has_prev:
        ref = PageRef(kind, page.page - 1, status_filter, project_id)
        buttons.append(button("◀ Prev", ids.PageAction.PREV, encode(ref)))
    if page.has_next:
        ref = PageRef(kind, page.page + 1, status_filter, project_id)
        buttons.append(button("Next ▶", ids.PageAction.NEXT, encode(ref)))
    blocks = [context(f"Page {page.page + 1} of {page.total_pages} · {page.total_items} {noun}")]
    if buttons:
        blocks.append(actions(*buttons))
    return blocks


# --------------------------------------------------------------------------------------------
# Help, usage and errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandHelp:
    """One subcommand of the slash command, for help and "did you mean" replies."""

    name: str
    args: str
    description: str

    @property
    def usage(self) -> str:
        """E.g. "history <project>"."""
        return f"{self.name} {self.args}".strip()


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp("projects", "[status]", "Scan projects with their latest status; filter by "
                "status (failed, partial, running, stopped, completed)."),
    CommandHelp("history", "<project>", "A project's scans: error logs, findings, re-run."),
    CommandHelp("run", "<project>", "Start a scan of a project now."),
    CommandHelp("stop", "<project>", "Stop a project's running scan."),
    CommandHelp("errors", "<project>", "Error log of a project's latest scan."),
    CommandHelp("findings", "<project>", "Findings of a project's latest scan."),
    CommandHelp("connectors", "", "Connected cloud providers: add, replace, validate, delete."),
    CommandHelp("help", "", "This help."),
)  # fmt: skip
"""The subcommands of ``/cspm`` (the handler's parser and the help text share this)."""


def _usage_lines(command: str, commands: Iterable[CommandHelp]) -> list[str]:
    return [f"`{escape(command)} {escape(c.usage)}` — {escape(c.description)}" for c in commands]


def help_message(command: str = "/cspm", commands: Sequence[CommandHelp] = COMMANDS) -> Payload:
    """The reply to ``/cspm help``: every subcommand with its arguments."""
    blocks = [
        header("CSPM bot"),
        section(
            "Run and watch cloud security posture scans, read their error logs and fix broken "
            "connectors without leaving Slack."
        ),
        section("\n".join(_usage_lines(command, commands))),
        context(
            "Statuses: "
            + " · ".join(status_badge(s) for s in ScanStatus)
            + ". Only Partially Completed and Failed scans have an error log."
        ),
    ]
    return message(f"{command} help", blocks)


def usage_message(
    problem: str,
    suggestions: Sequence[str] = (),
    *,
    command: str = "/cspm",
    commands: Sequence[CommandHelp] = COMMANDS,
) -> Payload:
    """An ephemeral reply to a command that could not be understood.

    `problem` says what was wrong (plain words, escaped here); `suggestions` are the closest
    real names ("did you mean"), e.g. from `NotFoundError.suggestions`.
    """
    blocks = [section(f":warning: {md(problem, 500)}")]
    if suggestions:
        names = ", ".join(f"`{md(s, 100)}`" for s in suggestions[:5])
        blocks.append(section(f"Did you mean {names}?"))
    blocks.append(context("Usage:\n" + "\n".join(_usage_lines(command, commands))))
    return message(problem, blocks)


def error_message(text: str, reference: str | None = None) -> Payload:
    """An ephemeral error reply; with `reference` (an unexpected error) the id to quote."""
    blocks = [section(f":x: {md(text, 1500, single_line=False)}")]
    if reference:
        blocks.append(
            context(
                f"Reference: `{md(reference, 64)}`. Quote it if you contact support; "
                "the details were logged."
            )
        )
    return message(text, blocks)
