"""Contact support: the pre-filled modal (button and ``/cspm support``) and its submission.

The modal carries the redacted error bundle of the scan (or connector, or entry) it is about;
submitting it posts the request to the configured support channel (``CSPM_SUPPORT_CHANNEL``)
and confirms to the user with a reference id. Admins only.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

from slack_bolt import App

from bot import ids
from bot.codec import SupportRef
from bot.errors import InputError
from bot.records import SupportTicket
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.support import (
    build_support_confirmation,
    build_support_modal,
    build_support_post,
)
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands
from handlers.scans import progress_channel

log = logging.getLogger(__name__)

NO_CHANNEL = (
    "No support channel is configured: ask whoever runs the bot to set CSPM_SUPPORT_CHANNEL."
)


def _text(values: dict[str, Any], field: str) -> str:
    return str(((values.get(field) or {}).get(field) or {}).get("value") or "")


def new_reference() -> str:
    """A support reference id users can quote, e.g. ``SUP-3F9A1C``."""
    return "SUP-" + uuid.uuid4().hex[:6].upper()


def open_support(ctx: SlackContext, origin: Origin, ref: SupportRef) -> None:
    """Open the support modal about `ref`, pre-filled with its redacted error bundle."""
    if not ctx.rt.settings.support_channel:
        raise InputError(NO_CHANNEL)
    view = build_support_modal(ctx.queries.support_bundle(ref), ref)
    ctx.replier(origin).open_modal(view)


def _send_support(ctx: SlackContext, origin: Origin, ticket: SupportTicket, channel: str) -> None:
    replier = ctx.replier(origin)
    replier.post(channel, build_support_post(ticket))
    log.info("support request %s sent by %s", ticket.reference_id, origin.actor)
    replier.reply(build_support_confirmation(ticket.reference_id))


def support_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm support <scan>``: the support modal about a scan (admins)."""
    ctx.require(origin, Role.ADMIN, "contact support")
    if not ctx.rt.settings.support_channel:
        raise InputError(NO_CHANNEL)
    ref = SupportRef(scan_id=ctx.queries.scan_id(cmd.argument), channel_id=origin.channel_id)
    open_support(ctx, origin, ref)


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register Contact support (button, modal submission) and ``/cspm support``."""
    on = Listeners(app, ctx)
    admin = [requires(ctx, Role.ADMIN, "contact support")]
    commands.add(Sub.SUPPORT, support_command)

    @on.action(ids.SupportAction.OPEN, value=SupportRef, middleware=admin)
    def support(req: Request) -> None:
        if not ctx.rt.settings.support_channel:
            raise InputError(NO_CHANNEL)
        ref = req.value(SupportRef)
        ref = dataclasses.replace(ref, channel_id=ref.channel_id or progress_channel(req.origin))
        open_support(ctx, req.origin, ref)

    def support_ack(req: Request) -> None:
        if not ctx.rt.settings.support_channel:
            raise InputError(
                "No support channel is configured (CSPM_SUPPORT_CHANNEL).",
                {"description": "No support channel is configured."},
            )

    def support_submitted(req: Request) -> None:
        ref = req.state(SupportRef)
        # The modal closed with the ack: answer in the channel it was opened from (or a DM).
        answer_in = dataclasses.replace(
            req.origin, channel_id=ref.channel_id, view_type=None, view_id=None
        )
        try:
            values = dict((req.payload.get("state") or {}).get("values") or {})
            project = "" if ref.scan_id is None else ctx.rt.scans.get(ref.scan_id).project_name
            ticket = SupportTicket(
                reference_id=new_reference(),
                requested_by=req.origin.user_id,
                description=_text(values, ids.SupportInput.DESCRIPTION),
                details=_text(values, ids.SupportInput.DETAILS),
                project_name=project,
                scan_id=ref.scan_id,
            )
            _send_support(ctx, answer_in, ticket, str(ctx.rt.settings.support_channel))
        except Exception as exc:
            ctx.report(exc, answer_in)

    on.view(
        ids.SupportView.SUBMIT,
        ack=support_ack,
        work=support_submitted,
        state=SupportRef,
        middleware=admin,
    )
