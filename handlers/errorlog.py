"""Error logs of a scan: the error log modal (entries expanded in place) and ``/cspm errors``
(the findings view is `handlers.findings`).

Only Partially Completed and Failed scans have an error log; each entry shows one line until
it is expanded (views.update, the expanded entries kept in the modal's `ErrorLogState`).
"""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from bot.codec import EntryRef, ErrorLogState, ScanRef
from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.views.errorlog import build_error_log
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands


def open_error_log(ctx: SlackContext, origin: Origin, scan_id: int) -> None:
    """Open the error log modal of a scan, every entry collapsed."""
    view = build_error_log(ctx.queries.error_log(scan_id), ErrorLogState(scan_id))
    ctx.replier(origin).open_modal(view)


def errors_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm errors <scan|project>``: the error log modal."""
    open_error_log(ctx, origin, ctx.queries.scan_id(cmd.argument))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register the error log buttons and ``/cspm errors``."""
    on = Listeners(app, ctx)
    commands.add(Sub.ERRORS, errors_command)

    @on.action(ids.ErrorLogAction.OPEN, value=ScanRef)
    def open_log(req: Request) -> None:
        open_error_log(ctx, req.origin, req.value(ScanRef).scan_id)

    @on.action(
        ids.ErrorLogAction.EXPAND, ids.ErrorLogAction.COLLAPSE, value=EntryRef, state=ErrorLogState
    )
    def toggle(req: Request) -> None:
        expand = req.payload.get("action_id") == ids.ErrorLogAction.EXPAND
        state = req.state(ErrorLogState)
        new_state = state.with_expanded(req.value(EntryRef).entry_id, expand)
        view = build_error_log(ctx.queries.error_log(state.scan_id), new_state)
        ctx.replier(req.origin).update_modal(view, check=True)
