"""The projects list (``/cspm projects [status]``): rows expanded in place to show their jobs,
*Run* on a row (the list redrawn in place with the row Queued/Running and *Stop*), the status
filter, Refresh, Prev/Next on every paged list, and a project's latest findings.
"""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from bot.codec import FilterRef, PageKind, PageRef, ProjectRef, RowState
from bot.errors import ConflictError, InputError
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.common import Payload, md
from bot.views.connectors import build_connectors
from bot.views.projects import build_projects
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands
from handlers.findings import open_findings
from handlers.history import history_payload
from handlers.scans import start_scan


def projects_payload(
    ctx: SlackContext,
    ref: PageRef,
    expanded: frozenset[int] = frozenset(),
    note: tuple[int, str] | None = None,
) -> Payload:
    """The projects list at `ref` (page and filter) with `expanded` rows open (and `note`
    under one row)."""
    page = ctx.queries.projects_page(ref.status_filter, ref.page, expanded)
    return build_projects(page, ref.status_filter, note)


def page_payload(ctx: SlackContext, ref: PageRef) -> Payload:
    """The page `ref` of whichever paged list it belongs to (projects, history, connectors)."""
    if ref.kind is PageKind.HISTORY:
        if ref.project_id is None:
            raise InputError("This page button lost its project. Run the command again.")
        return history_payload(ctx, ref.project_id, ref.page)
    if ref.kind is PageKind.CONNECTORS:
        return build_connectors(ctx.queries.connectors_page(ref.page))
    return projects_payload(ctx, ref)


def run_row_and_redraw(ctx: SlackContext, origin: Origin, state: RowState) -> None:
    """*Run* on a projects-list row: start the scan, then redraw the list in place, so the
    row shows Queued/Running with *Stop* instead of inviting a second click. A click on a
    stale list while a scan is active starts nothing: the row says which scan runs."""
    ref = PageRef(PageKind.PROJECTS, state.page, state.status_filter)
    try:
        info, where = start_scan(ctx, origin, state.project_id, "manual")
    except ConflictError as refused:
        note = f":no_entry: Not started: {md(refused.message, 180)}"
    else:
        place = f"<#{where}>" if where else "your direct messages with the bot"
        note = f"Scan #{info.scan_id} queued by you; progress in {place}."
    payload = projects_payload(ctx, ref, state.expanded, (state.project_id, note))
    ctx.replier(origin).replace(payload)


def projects_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm projects [status]``: the first page of the list."""
    page = ctx.queries.projects_page(cmd.status)
    ctx.replier(origin).reply(build_projects(page, cmd.status))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register the projects list's buttons, paging and ``/cspm projects``."""
    on = Listeners(app, ctx)
    commands.add(Sub.PROJECTS, projects_command)

    @on.action(ids.ProjectAction.JOBS, value=RowState)
    def jobs(req: Request) -> None:
        state = req.value(RowState)
        ref = PageRef(PageKind.PROJECTS, state.page, state.status_filter)
        ctx.replier(req.origin).replace(projects_payload(ctx, ref, state.toggled()))

    @on.action(
        ids.ProjectAction.RUN,
        value=RowState,
        middleware=[requires(ctx, Role.OPERATOR, "run scans")],
    )
    def run_row(req: Request) -> None:
        run_row_and_redraw(ctx, req.origin, req.value(RowState))

    @on.action(ids.ProjectAction.FILTER, value=FilterRef)
    def filter_(req: Request) -> None:
        ref = PageRef(PageKind.PROJECTS, 0, req.value(FilterRef).status)
        ctx.replier(req.origin).replace(projects_payload(ctx, ref))

    @on.action(ids.ProjectAction.REFRESH, value=PageRef)
    def refresh(req: Request) -> None:
        ctx.replier(req.origin).replace(projects_payload(ctx, req.value(PageRef)))

    @on.action(ids.ProjectAction.SHOW, value=PageRef)
    def show(req: Request) -> None:
        ctx.replier(req.origin).reply(projects_payload(ctx, req.value(PageRef)))

    @on.action(ids.ProjectAction.FINDINGS, value=ProjectRef)
    def project_findings(req: Request) -> None:
        scan_id = ctx.queries.latest_scan_id(req.value(ProjectRef).project_id)
        open_findings(ctx, req.origin, scan_id)

    @on.action(ids.PageAction.NEXT, ids.PageAction.PREV, value=PageRef)
    def paging(req: Request) -> None:
        ctx.replier(req.origin).replace(page_payload(ctx, req.value(PageRef)))
