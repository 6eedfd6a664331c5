"""Contact support (seed: "When to Contact Support": include the error log details).

- `render_bundle`: the redacted error bundle as plain text (it pre-fills the modal).
- `build_support_modal`: the modal, pre-filled and editable, with a free-text description.
- `build_support_post`: the message posted to the configured support channel.
- `build_support_confirmation`: the ephemeral reply with the reference id.

The bundle is redacted by the services before it gets here; it is redacted once more here
(`bot.redaction.redact`) because the user may have pasted anything into the form.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot import ids
from bot.codec import SupportRef, encode_metadata
from bot.records import SupportBundle, SupportTicket
from bot.redaction import redact
from bot.views.common import (
    INPUT_MAX_LENGTH,
    Block,
    Payload,
    code_block,
    context,
    fields_section,
    header,
    md,
    message,
    modal,
    plain,
    section,
    truncate,
    user_ref,
)

BUNDLE_MAX = 2900
"""Characters of the pre-filled bundle (the input's max_length is 3000)."""
ENTRY_DETAIL_MAX = 300


def _utc(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _flat(text: str, limit: int) -> str:
    return truncate(" ".join(text.split()), limit)


def render_bundle(bundle: SupportBundle, limit: int = BUNDLE_MAX) -> str:
    """The bundle as plain text for the support request, redacted and within `limit`."""
    status = bundle.status.label if bundle.status else "unknown"
    head = [
        f"Project: {_flat(bundle.project_name, 100)}",
        f"Scan: #{bundle.scan_id if bundle.scan_id is not None else '—'} ({status})"
        + (f": {_flat(bundle.status_message, 200)}" if bundle.status_message.strip() else ""),
        f"Connector: {_flat(bundle.connector_name or '—', 80)} "
        f"({bundle.provider}, account {_flat(bundle.account_id or 'unknown', 80)})",
        f"Started: {_utc(bundle.started_at)} · Finished: {_utc(bundle.finished_at)}",
        f"Re-runs: {bundle.reruns}",
        f"Errors: {len(bundle.entries)}",
    ]
    text = "\n".join(head)
    for i, e in enumerate(bundle.entries, 1):
        lines = [
            f"[{i}] {_flat(e.job_unit, 60)} · {e.category.value} · {_flat(e.code, 80)} · "
            f"{_utc(e.at)}",
            f"    message: {_flat(e.message, 300)}",
        ]
        if e.detail.strip():
            lines.append(f"    detail: {_flat(e.detail, ENTRY_DETAIL_MAX)}")
        if e.remediation.strip():
            lines.append(f"    remediation: {_flat(e.remediation, 200)}")
        chunk = "\n" + "\n".join(lines)
        more = f"\n…and {len(bundle.entries) - i + 1} more entries"
        if len(text) + len(chunk) + len(more) > limit:
            text += more
            break
        text += chunk
    return truncate(redact(text), limit)


def build_support_modal(bundle: SupportBundle, ref: SupportRef) -> Payload:
    """The Contact support modal, pre-filled with the redacted bundle (editable)."""
    details: Block = {
        "type": "input",
        "block_id": str(ids.SupportInput.DETAILS),
        "label": plain("Error details sent to support"),
        "hint": plain(
            "Redacted: secrets, keys and tokens were removed. Edit anything you do not want "
            "to share."
        ),
        "element": {
            "type": "plain_text_input",
            "action_id": str(ids.SupportInput.DETAILS),
            "multiline": True,
            "max_length": INPUT_MAX_LENGTH,
            "initial_value": render_bundle(bundle),
        },
    }
    description: Block = {
        "type": "input",
        "block_id": str(ids.SupportInput.DESCRIPTION),
        "label": plain("What happened? What did you try?"),
        "element": {
            "type": "plain_text_input",
            "action_id": str(ids.SupportInput.DESCRIPTION),
            "multiline": True,
            "max_length": 2000,
            "placeholder": plain("E.g. re-ran twice, created a new connector, still failing"),
        },
    }
    blocks = [
        section(
            f"Ask the support team about *{md(bundle.project_name, 100)}*"
            + (f", scan #{bundle.scan_id}" if bundle.scan_id is not None else "")
            + ". You get a reference id to quote."
        ),
        description,
        details,
    ]
    return modal(
        "Contact support",
        blocks,
        callback_id=ids.SupportView.SUBMIT,
        submit="Send",
        close="Cancel",
        private_metadata=encode_metadata(ref),
    )


def build_support_post(ticket: SupportTicket) -> Payload:
    """The support request as posted to the support channel (details redacted again)."""
    fields = [
        f"*Reference*\n`{md(ticket.reference_id, 64)}`",
        f"*From*\n{user_ref(ticket.requested_by)}",
    ]
    if ticket.project_name:
        fields.append(f"*Project*\n{md(ticket.project_name, 100)}")
    if ticket.scan_id is not None:
        fields.append(f"*Scan*\n#{ticket.scan_id}")
    blocks: list[Block] = [
        header(f"Support request {ticket.reference_id}"),
        fields_section(fields),
    ]
    description = redact(ticket.description).strip()
    if description:
        blocks.append(section("*Description*\n" + md(description, 2000, single_line=False)))
    details = redact(ticket.details).strip()
    if details:
        blocks.append(section("*Error details*\n" + code_block(details, 2900)))
    blocks.append(context("Secrets, keys and tokens are redacted before posting."))
    return message(f"Support request {ticket.reference_id}", blocks)


def build_support_confirmation(reference_id: str) -> Payload:
    """The ephemeral reply once the request was posted."""
    ref = md(reference_id, 64)
    return message(
        f"Sent to support: {reference_id}",
        [
            section(
                f":white_check_mark: Your request was sent to the support team. Reference: `{ref}`."
            ),
            context("Quote the reference in any follow-up."),
        ],
    )
