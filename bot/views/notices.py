"""Short notices the Slack front end sends: confirmations, an error modal, thread headers.

Pure builders like the rest of `bot.views`: plain data in, Block Kit dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import ids
from bot.views.common import (
    Payload,
    context,
    join_limited,
    md,
    message,
    modal,
    section,
    user_ref,
)

NOTICE_MAX = 1500
PROJECT_NAME_MAX = 80


def build_notice(text: str, note: str = "", emoji: str = ":white_check_mark:") -> Payload:
    """A one-line confirmation (`text` is plain words, escaped here) with an optional note."""
    blocks = [section(f"{emoji} {md(text, NOTICE_MAX, single_line=False)}")]
    if note.strip():
        blocks.append(context(md(note, 500)))
    return message(text, blocks)


def build_error_modal(text: str, reference: str | None = None, *, callback_id: str) -> Payload:
    """A modal that says what went wrong (pushed over the modal the user acted in, or used as
    the ack of a submission). With `reference` (an unexpected error), the id to quote."""
    blocks = [section(f":x: {md(text, NOTICE_MAX, single_line=False)}")]
    if reference:
        blocks.append(
            context(
                f"Reference: `{md(reference, 64)}`. Quote it if you contact support; "
                "the details were logged."
            )
        )
    return modal("Something went wrong", blocks, callback_id=callback_id, close="Close")


def build_refusal_modal(text: str) -> Payload:
    """A modal that says the user may not do what they tried (a role refusal): titled as a
    refusal, not as a failure, with its own callback id."""
    blocks = [
        section(f":no_entry: {md(text, NOTICE_MAX, single_line=False)}"),
        context("Nothing was changed. Ask a CSPM admin if you need this role."),
    ]
    return modal("Not allowed", blocks, callback_id=ids.NoticeView.NOT_ALLOWED, close="Close")


def build_scan_started(scan_id: int, project_name: str, where: str | None) -> Payload:
    """The ephemeral answer to Run / Re-run: the scan is queued, and where progress shows.

    `where` is a channel id (progress is posted there), or None when it went to the user's DM.
    """
    place = f"<#{md(where, 40)}>" if where else "your direct messages with the bot"
    text = f"Scan #{scan_id} of {project_name} queued."
    return message(
        text,
        [
            section(f":arrows_counterclockwise: {md(text, NOTICE_MAX)}"),
            context(f"Progress is posted in {place} and updated as jobs finish."),
        ],
    )


def build_stop_requested(scan_id: int, project_name: str) -> Payload:
    """The ephemeral answer to Stop."""
    return build_notice(
        f"Stop requested for scan #{scan_id} of {project_name}.",
        "Pending jobs are cancelled; running jobs stop at their next cloud call. "
        "The scan will show as Stopped.",
        emoji=":white_circle:",
    )


def build_notice_modal(title: str, text: str, note: str = "", *, callback_id: str) -> Payload:
    """A modal with one message and a Close button (e.g. "Sending…", then "Sent")."""
    blocks = [section(md(text, NOTICE_MAX, single_line=False))]
    if note.strip():
        blocks.append(context(md(note, 500)))
    return modal(title, blocks, callback_id=callback_id, close="Close")


def build_rerun_started_modal(
    started: int, total: int, connector_name: str, channel_id: str | None, *, callback_id: str
) -> Payload:
    """The replacement modal's last word after Re-run: how many scans started, and where
    their progress goes (a thread in `channel_id`, or the user's DM when None)."""
    place = f"a thread in <#{md(channel_id, 40)}>" if channel_id else "your direct messages"
    text = (
        f":arrows_counterclockwise: {started} of {total} project{'s' * (total != 1)} of "
        f"*{md(connector_name, PROJECT_NAME_MAX)}* {'is' if started == 1 else 'are'} re-running."
    )
    return modal(
        "Re-running",
        [section(text), context(f"Progress is reported in {place}.")],
        callback_id=callback_id,
        close="Done",
    )


def build_rerun_header(connector_name: str, projects: Sequence[str], user_id: str) -> Payload:
    """The channel message that heads the thread of a connector's re-runs."""
    names = join_limited([f"• {md(p, PROJECT_NAME_MAX)}" for p in projects], 2000, "…and {n} more")
    text = (
        f":arrows_counterclockwise: {user_ref(user_id)} replaced the credentials of "
        f"*{md(connector_name, PROJECT_NAME_MAX)}* and is re-running its {len(projects)} "
        f"project{'s' * (len(projects) != 1)}. Progress of each scan follows in this thread."
    )
    blocks = [section(text)]
    if names:
        blocks.append(section(names))
    return message(f"Re-running {len(projects)} project(s) of {connector_name}", blocks)


def build_rerun_skipped(problems: Sequence[str]) -> Payload:
    """Projects of a connector that could not be re-run, and why (one line each)."""
    lines = [f"• {md(p, 300)}" for p in problems]
    return message(
        "Some projects were not re-run",
        [section(":warning: Not re-run:\n" + join_limited(lines, 2800, "…and {n} more"))],
    )
