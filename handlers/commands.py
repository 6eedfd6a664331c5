"""``/cspm``: one listener; the parser picks the subcommand, each subcommand is one function.

The command is acked at once; the subcommand runs as its work (`bot.slack.listeners`).
Mistakes (unknown subcommand, missing argument, mistyped project) raise `UsageError` /
`NotFoundError`, which `bot.slack.failures` answers with usage and "did you mean".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.codec import CreateFlowState, ErrorLogState, SupportRef
from bot.errors import InputError
from bot.slack.command_parser import HELP, ParsedCommand, Sub, parse
from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.slack.scanflows import start_scan
from bot.views.common import help_message
from bot.views.connectors import build_connectors, build_create_connector
from bot.views.errorlog import build_error_log
from bot.views.findings import build_findings
from bot.views.history import build_history
from bot.views.notices import build_scan_started, build_stop_requested
from bot.views.projects import build_projects
from bot.views.support import build_support_modal

COMMAND = "/cspm"

Handler = Callable[[SlackContext, Origin, ParsedCommand], None]


def _help(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.replier(origin).reply(help_message(COMMAND, HELP))


def _projects(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    page = ctx.queries.projects_page(cmd.status)
    ctx.replier(origin).reply(build_projects(page, cmd.status))


def _history(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.replier(origin).reply(build_history(ctx.queries.history(cmd.argument)))


def _errors(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    scan_id = ctx.queries.scan_id(cmd.argument)
    view = build_error_log(ctx.queries.error_log(scan_id), ErrorLogState(scan_id))
    ctx.replier(origin).open_modal(view)


def _findings(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    scan_id = ctx.queries.scan_id(cmd.argument)
    ctx.replier(origin).reply(build_findings(ctx.queries.findings(scan_id)))


def _scan(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.require(origin, Role.OPERATOR, "run scans")
    info, where = start_scan(ctx, origin, cmd.argument, "manual")
    ctx.replier(origin).reply(build_scan_started(info.scan_id, info.project_name, where))


def _stop(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.require(origin, Role.OPERATOR, "stop scans")
    scan_id = cmd.scan_id
    if scan_id is not None:
        info = ctx.rt.scans.stop(scan_id, origin.actor, by_scan_id=True)
    else:
        info = ctx.rt.scans.stop(cmd.argument, origin.actor)
    ctx.replier(origin).reply(build_stop_requested(info.scan_id, info.project_name))


def _connectors(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.replier(origin).reply(build_connectors(ctx.queries.connectors_page()))


def _connect(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.require(origin, Role.ADMIN, "connect cloud accounts")
    state = CreateFlowState(channel_id=origin.channel_id)
    ctx.replier(origin).open_modal(build_create_connector(state))


def _support(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    ctx.require(origin, Role.ADMIN, "contact support")
    if not ctx.rt.settings.support_channel:
        raise InputError(
            "No support channel is configured: ask whoever runs the bot to set "
            "CSPM_SUPPORT_CHANNEL."
        )
    ref = SupportRef(scan_id=ctx.queries.scan_id(cmd.argument), channel_id=origin.channel_id)
    view = build_support_modal(ctx.queries.support_bundle(ref), ref)
    ctx.replier(origin).open_modal(view)


def _digest(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    from handlers.digest import run_digest_command

    run_digest_command(ctx, origin, cmd.argument)


SUBCOMMANDS: dict[Sub, Handler] = {
    Sub.HELP: _help,
    Sub.PROJECTS: _projects,
    Sub.HISTORY: _history,
    Sub.ERRORS: _errors,
    Sub.FINDINGS: _findings,
    Sub.SCAN: _scan,
    Sub.STOP: _stop,
    Sub.CONNECTORS: _connectors,
    Sub.CONNECT: _connect,
    Sub.SUPPORT: _support,
    Sub.DIGEST: _digest,
}


def register(app: App, ctx: SlackContext) -> None:
    """Register ``/cspm``."""
    on = Listeners(app, ctx)

    @on.command(COMMAND)
    def cspm(body: dict[str, Any], payload: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        command = parse(str(body.get("text") or ""))
        SUBCOMMANDS[command.sub](ctx, origin, command)
