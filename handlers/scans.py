"""Scans: Run, Stop, Re-run and re-run a connector's projects; ``/cspm scan`` and ``stop``.

A scan started here goes through `ScanService.start`: once it is queued, its progress
message is posted (in the channel the user acted in, else in their DM with the bot) and tied
to the scan for throttled updates, and only then is the scan handed to the engine, so no event
is missed. Starting and stopping need the operator role.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot import ids
from bot.codec import ConnectorRef, ProjectRef, ReplaceFlowState, ScanRef
from bot.errors import CspmError
from bot.records import ScanRow
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.notices import (
    build_notice_modal,
    build_rerun_header,
    build_rerun_skipped,
    build_rerun_started_modal,
    build_scan_started,
    build_stop_requested,
)
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands

log = logging.getLogger(__name__)

_NOT_POSTABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def progress_channel(origin: Origin) -> str | None:
    """Where an interaction's progress goes: its channel (None means the user's DM)."""
    if origin.view_type is not None:
        return None
    return origin.channel_id


def post_where_possible(
    ctx: SlackContext,
    origin: Origin,
    channel: str | None,
    payload: dict[str, Any],
    thread_ts: str | None = None,
) -> tuple[str, str, bool]:
    """Post in `channel`, falling back to the user's DM; returns (channel, ts, in_channel)."""
    replier = ctx.replier(origin)
    if channel:
        try:
            posted_channel, ts = replier.post(channel, payload, thread_ts)
            return posted_channel, ts, True
        except SlackApiError as exc:
            if exc.response.get("error") not in _NOT_POSTABLE:
                raise
            log.info("cannot post in %s (%s); using the DM", channel, exc.response.get("error"))
    posted_channel, ts = replier.dm(payload)
    return posted_channel, ts, False


def start_scan(
    ctx: SlackContext,
    origin: Origin,
    project_ref: str | int,
    trigger: str,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> tuple[ScanRow, str | None]:
    """Start a scan (`ScanService.start`), its progress message posted before it runs.

    Returns the scan and the channel its progress went to (None: the user's DM).
    """
    where: list[str | None] = [None]

    def post_progress(scan: ScanRow) -> None:
        target = channel if channel is not None else progress_channel(origin)
        posted, ts, in_channel = post_where_possible(
            ctx, origin, target, ctx.progress.render(scan.scan_id), thread_ts
        )
        ctx.progress.track(scan.scan_id, posted, ts)
        where[0] = posted if in_channel else None

    info = ctx.rt.scans.start(project_ref, trigger, origin.actor, before_run=post_progress)
    return info, where[0]


def rerun_projects(
    ctx: SlackContext,
    origin: Origin,
    connector_name: str,
    projects: Sequence[str],
    channel: str | None,
    thread_ts: str | None = None,
) -> list[str]:
    """Re-run `projects` with progress in a thread under one header message.

    Returns the projects that could not be re-run, with the reason (also posted).
    """
    header = build_rerun_header(connector_name, projects, origin.user_id)
    posted, ts, _ = post_where_possible(ctx, origin, channel, header, thread_ts)
    problems: list[str] = []
    for name in projects:
        try:
            start_scan(ctx, origin, name, "rerun", channel=posted, thread_ts=thread_ts or ts)
        except CspmError as exc:
            problems.append(f"{name}: {exc.message}")
    if problems:
        ctx.replier(origin).post(posted, build_rerun_skipped(problems), thread_ts or ts)
    return problems


def run_and_tell(ctx: SlackContext, origin: Origin, project: int, trigger: str) -> None:
    """Start a scan and tell the user where its progress goes (a notice over a modal)."""
    info, where = start_scan(ctx, origin, project, trigger)
    replier = ctx.replier(origin)
    if origin.in_modal:
        replier.open_modal(
            build_notice_modal(
                "Scan queued",
                f"Scan #{info.scan_id} of {info.project_name} is queued.",
                "Its progress is posted in your direct messages with the bot.",
                callback_id=origin.callback_id or ids.ErrorLogView.MODAL,
            )
        )
    else:
        replier.reply(build_scan_started(info.scan_id, info.project_name, where))


def rerun_and_tell(ctx: SlackContext, origin: Origin, scan_id: int) -> None:
    """Run the project of scan `scan_id` again (trigger "rerun")."""
    run_and_tell(ctx, origin, ctx.rt.scans.get(scan_id).project_id, "rerun")


def stop_and_tell(ctx: SlackContext, origin: Origin, scan_id: int) -> None:
    """Ask a scan to stop and confirm to the user; its progress message shows Stopped."""
    info = ctx.rt.scans.stop(scan_id, origin.actor, by_scan_id=True)
    ctx.replier(origin).reply(build_stop_requested(info.scan_id, info.project_name))


def rerun_connector_and_tell(
    ctx: SlackContext, origin: Origin, connector_id: int, flow: ReplaceFlowState | None = None
) -> None:
    """Re-run every project of a connector (the replacement's last step), progress in a
    thread: where the replacement `flow` (if it started from one) said, else here."""
    connector = ctx.rt.connectors.get(connector_id)
    channel, thread_ts = progress_channel(origin), origin.thread_ts
    if flow is not None:
        channel, thread_ts = flow.channel_id, flow.thread_ts
    problems = rerun_projects(ctx, origin, connector.name, connector.projects, channel, thread_ts)
    if origin.in_modal:
        view = build_rerun_started_modal(
            len(connector.projects) - len(problems),
            len(connector.projects),
            connector.name,
            channel,
            callback_id=ids.ConnectorView.RESULT,
        )
        ctx.replier(origin).update_modal(view, check=False)


def scan_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm scan <project>``: start a scan now (operators)."""
    ctx.require(origin, Role.OPERATOR, "run scans")
    info, where = start_scan(ctx, origin, cmd.argument, "manual")
    ctx.replier(origin).reply(build_scan_started(info.scan_id, info.project_name, where))


def stop_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm stop <project|#scan>``: stop a running scan (operators)."""
    ctx.require(origin, Role.OPERATOR, "stop scans")
    scan_id = cmd.scan_id
    if scan_id is not None:
        info = ctx.rt.scans.stop(scan_id, origin.actor, by_scan_id=True)
    else:
        info = ctx.rt.scans.stop(cmd.argument, origin.actor)
    ctx.replier(origin).reply(build_stop_requested(info.scan_id, info.project_name))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register the scan buttons and ``/cspm scan`` / ``/cspm stop``."""
    on = Listeners(app, ctx)
    operator_run = [requires(ctx, Role.OPERATOR, "run scans")]
    commands.add(Sub.SCAN, scan_command)
    commands.add(Sub.STOP, stop_command)

    @on.action(ids.ScanAction.RUN, value=ProjectRef, middleware=operator_run)
    def run(req: Request) -> None:
        run_and_tell(ctx, req.origin, req.value(ProjectRef).project_id, "manual")

    @on.action(
        ids.ScanAction.STOP,
        value=ScanRef,
        middleware=[requires(ctx, Role.OPERATOR, "stop scans")],
    )
    def stop(req: Request) -> None:
        stop_and_tell(ctx, req.origin, req.value(ScanRef).scan_id)

    @on.action(ids.ScanAction.RERUN, value=ScanRef, middleware=operator_run)
    def rerun(req: Request) -> None:
        rerun_and_tell(ctx, req.origin, req.value(ScanRef).scan_id)

    @on.action(
        ids.ScanAction.RERUN_CONNECTOR,
        value=ConnectorRef,
        state=ReplaceFlowState,
        state_required=False,
        middleware=operator_run,
    )
    def rerun_connector(req: Request) -> None:
        connector_id = req.value(ConnectorRef).connector_id
        rerun_connector_and_tell(ctx, req.origin, connector_id, req.state_if(ReplaceFlowState))
