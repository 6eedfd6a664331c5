"""Muting findings from Slack: *Mute a finding…* on a findings alert opens the mute modal
(reason and expiry), its submission mutes the finding (audited); ``/cspm mutes`` lists the
active mutes with *Unmute*. Operators mute and unmute; anyone may list.
"""

from __future__ import annotations

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


def _service(ctx: SlackContext) -> MuteService:
    return MuteService(ctx.rt.db, system_now)


def _value(values: dict[str, Any], block: str) -> Any:
    return (values.get(block) or {}).get(block) or {}


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
        finding_id = req.value(FindingRef).finding_id
        project, check, resource, region = _service(ctx).describe(finding_id)
        modal = build_mute_modal(finding_id, project, check, resource, region)
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
        info = _service(ctx).mute(req.state(FindingRef).finding_id, reason, days, req.origin.actor)
        ctx.replier(req.origin).update_modal(build_muted_modal(info), check=False)

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
