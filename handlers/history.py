"""A project's scan history: the History button (``/cspm history``), its Refresh button, and
the overflow menu on each row (error log, findings, re-run).

History buttons elsewhere (projects list, progress messages, alerts, digests) answer with a
new message; the history's own Refresh (`HistoryAction.REFRESH`) re-renders it in place.
"""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from bot.codec import HistoryChoice, MenuChoice, ProjectRef
from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.common import Payload
from bot.views.history import build_history
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands
from handlers.errorlog import open_error_log
from handlers.findings import open_findings
from handlers.scans import rerun_and_tell


def history_payload(ctx: SlackContext, project: int | str, page: int = 0) -> Payload:
    """The history message of a project (by id or name), at `page`."""
    return build_history(ctx.queries.history(project, page))


def history_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm history <project>``: the project's scans."""
    ctx.replier(origin).reply(history_payload(ctx, cmd.argument))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register History, its Refresh, the row menu and ``/cspm history``."""
    on = Listeners(app, ctx)
    commands.add(Sub.HISTORY, history_command)

    @on.action(ids.ProjectAction.HISTORY, value=ProjectRef)
    def history(req: Request) -> None:
        payload = history_payload(ctx, req.value(ProjectRef).project_id)
        ctx.replier(req.origin).reply(payload)

    @on.action(ids.HistoryAction.REFRESH, value=ProjectRef)
    def history_refresh(req: Request) -> None:
        payload = history_payload(ctx, req.value(ProjectRef).project_id)
        ctx.replier(req.origin).replace(payload)

    @on.action(ids.HistoryAction.MENU, value=HistoryChoice)
    def history_menu(req: Request) -> None:
        choice, origin = req.value(HistoryChoice), req.origin
        if choice.choice is MenuChoice.RERUN:
            ctx.require(origin, Role.OPERATOR, "run scans")
            rerun_and_tell(ctx, origin, choice.scan_id)
        elif choice.choice is MenuChoice.FINDINGS:
            open_findings(ctx, origin, choice.scan_id)
        else:
            open_error_log(ctx, origin, choice.scan_id)
