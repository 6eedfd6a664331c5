"""Muting findings from Slack: *Mute a finding…* on a findings alert, or *Mute* on a finding
in the findings view, opens the mute modal (reason and expiry); its submission mutes the
finding (audited) and redraws the findings view it came from; ``/cspm mutes`` lists the
active mutes with *Unmute*. Operators mute and unmute; anyone may list.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from slack_bolt import App

from bot import ids
from bot.codec import FindingRef, MuteRef
from bot.errors import InputError
from bot.scheduling.clock import system_now
from bot.scheduling.mutes import MuteService
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.mutes import build_mute_modal, build_muted_modal, build_mutes, build_muting_modal
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands
from handlers.findings import redraw_after_mute


def _service(ctx: SlackContext) -> MuteService:
    return MuteService(ctx.rt.db, system_now)


def _value(values: dict[str, Any], block: str) -> Any:
    return (values.get(block) or {}).get(block) or {}


def with_return_address(ref: FindingRef, origin: Origin) -> FindingRef:
    """`ref` (a Mute button of the findings view) with where that view is, so it can be
    redrawn after the mute: the modal, the posted message, or the ephemeral reply."""
    if ref.scan_id is None:
        return ref
    if origin.in_modal:
        return dataclasses.replace(ref, view_id=origin.view_id)
    if origin.message_ts and origin.channel_id and not origin.is_ephemeral:
        return dataclasses.replace(ref, channel_id=origin.channel_id, message_ts=origin.message_ts)
    return dataclasses.replace(ref, channel_id=origin.channel_id, response_url=origin.response_url)


def mutes_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm mutes``: every active mute."""
    ctx.replier(origin).reply(build_mutes(_service(ctx).active()))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register *Mute a finding…*, the mute modal, *Unmute* and ``/cspm mutes``."""
    on = Listeners(app, ctx)
    operator = [requires(ctx, Role.OPERATOR, "mute findings")]
    commands.add(Sub.MUTES, mutes_command)

    @on.action(ids.MuteAction.MUTE, value=FindingRef, middleware=operator)
    def open_mute(req: Request) -> None:
        ref = req.value(FindingRef)
        project, check, resource, region = _service(ctx).describe(ref.finding_id)
        back = with_return_address(ref, req.origin)
        modal = build_mute_modal(ref.finding_id, project, check, resource, region, back)
        ctx.replier(req.origin).open_modal(modal)

    def mute_ack(req: Request) -> dict[str, Any]:
        values = dict((req.payload.get("state") or {}).get("values") or {})
        reason = str(_value(values, ids.MuteInput.REASON).get("value") or "").strip()
        if not reason:
            raise InputError("Say why.", {str(ids.MuteInput.REASON): "A reason is needed."})
        return {"response_action": "update", "view": build_muting_modal()}

    def muted(req: Request) -> None:
        values = dict((req.payload.get("state") or {}).get("values") or {})
        reason = str(_value(values, ids.MuteInput.REASON).get("value") or "")
        selected = _value(values, ids.MuteInput.DAYS).get("selected_option") or {}
        days = int(str(selected.get("value") or "7"))
        ref = req.state(FindingRef)
        info = _service(ctx).mute(ref.finding_id, reason, days, req.origin.actor)
        ctx.replier(req.origin).update_modal(build_muted_modal(info), check=False)
        redraw_after_mute(ctx, req.origin.user_id, ref)

    on.view(ids.MuteView.SUBMIT, ack=mute_ack, work=muted, state=FindingRef, middleware=operator)

    @on.action(
        ids.MuteAction.UNMUTE,
        value=MuteRef,
        middleware=[requires(ctx, Role.OPERATOR, "unmute findings")],
    )
    def unmute(req: Request) -> None:
        service = _service(ctx)
        service.unmute(req.value(MuteRef).mute_id, req.origin.actor)
        ctx.replier(req.origin).replace(build_mutes(service.active()))
