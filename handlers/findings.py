"""The findings view of a scan: ``/cspm findings <scan|project>`` (a reply), *Findings* from a
history row or a project (a modal), Prev / Next through its failing resources, and its redraw
after *Mute* (`handlers.mutes` mutes; this module shows the result where the view is).
"""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from bot.codec import FindingRef, FindingsPageRef, ScanRef
from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.views.findings import build_findings, build_findings_modal
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands


def open_findings(ctx: SlackContext, origin: Origin, scan_id: int) -> None:
    """Open the findings modal of a scan at its first page."""
    ctx.replier(origin).open_modal(build_findings_modal(ctx.queries.findings_page(scan_id)))


def findings_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm findings <scan|project>``: the findings view's first page, as a reply."""
    scan_id = ctx.queries.scan_id(cmd.argument)
    ctx.replier(origin).reply(build_findings(ctx.queries.findings_page(scan_id)))


def show_page(ctx: SlackContext, origin: Origin, ref: FindingsPageRef) -> None:
    """Redraw the findings view the request came from at page `ref.page`."""
    data = ctx.queries.findings_page(ref.scan_id, ref.page)
    if origin.in_modal:
        ctx.replier(origin).update_modal(build_findings_modal(data), check=True)
    else:
        ctx.replier(origin).replace(build_findings(data))


def redraw_after_mute(ctx: SlackContext, user_id: str, ref: FindingRef) -> None:
    """Redraw the findings view a *Mute* came from (named by the mute modal's `ref`), so the
    finding shows as muted and the counts leave it out; nothing when it came from elsewhere."""
    if ref.scan_id is None:
        return
    data = ctx.queries.findings_page(ref.scan_id, ref.page)
    if ref.view_id:
        ctx.replier(Origin(kind="view_submission", user_id=user_id)).update_modal(
            build_findings_modal(data), view_id=ref.view_id, check=False
        )
        return
    if not (ref.response_url or (ref.channel_id and ref.message_ts)):
        return
    where = Origin(
        kind="block_actions",
        user_id=user_id,
        channel_id=ref.channel_id,
        response_url=ref.response_url,
        message_ts=ref.message_ts,
        is_ephemeral=ref.message_ts is None,
    )
    ctx.replier(where).replace(build_findings(data))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register ``/cspm findings``, *Findings* buttons and the view's paging."""
    on = Listeners(app, ctx)
    commands.add(Sub.FINDINGS, findings_command)

    @on.action(ids.FindingsAction.OPEN, value=ScanRef)
    def findings(req: Request) -> None:
        open_findings(ctx, req.origin, req.value(ScanRef).scan_id)

    @on.action(ids.FindingsAction.PREV, ids.FindingsAction.NEXT, value=FindingsPageRef)
    def paging(req: Request) -> None:
        show_page(ctx, req.origin, req.value(FindingsPageRef))
