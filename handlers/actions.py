"""Block actions: buttons, overflow menus and selects in messages, modals and App Home.

Each listener is a work function behind an empty ack (`bot.slack.listeners`): it decodes its
value with `bot.codec`, then reads (one query, one builder, one client call) or acts (runs,
stops, re-runs, validations). Roles are enforced before the ack by `requires` middleware.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from slack_bolt import App

from bot import ids, providers
from bot.codec import (
    ConnectorRef,
    CreateFlowState,
    EntryRef,
    ErrorLogState,
    FilterRef,
    HistoryChoice,
    MenuChoice,
    PageKind,
    PageRef,
    ProjectRef,
    ReplaceFlowState,
    RowState,
    ScanRef,
    SupportRef,
    decode,
    decode_any,
)
from bot.errors import InputError
from bot.slack.command_parser import HELP
from bot.slack.connectorflows import delete_and_tell, replace_state, validate_and_tell
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners
from bot.slack.permissions import Role
from bot.slack.scanflows import (
    progress_channel,
    rerun_and_tell,
    rerun_connector_and_tell,
    run_and_tell,
    stop_and_tell,
)
from bot.views.common import Payload, help_message
from bot.views.connectors import (
    build_connectors,
    build_create_connector,
    build_replace_explain,
    build_replace_form,
)
from bot.views.errorlog import build_error_log
from bot.views.findings import build_findings_modal
from bot.views.history import build_history
from bot.views.projects import build_projects
from bot.views.support import build_support_modal
from handlers.events import publish_home


def _value(action: dict[str, Any]) -> str:
    """The codec text of a button (value) or a menu/select (selected option value)."""
    if "selected_option" in action:
        return str((action.get("selected_option") or {}).get("value") or "")
    return str(action.get("value") or "")


# --- projects list -----------------------------------------------------------------------------


def projects_payload(
    ctx: SlackContext, ref: PageRef, expanded: frozenset[int] = frozenset()
) -> Payload:
    """The projects list at `ref` (page and filter) with `expanded` rows open."""
    page = ctx.queries.projects_page(ref.status_filter, ref.page, expanded)
    return build_projects(page, ref.status_filter)


def _register_projects(app: App, ctx: SlackContext) -> None:
    on = Listeners(app, ctx)

    @on.action(ids.ProjectAction.JOBS)
    def jobs(body: dict[str, Any], action: dict[str, Any]) -> None:
        state = decode(_value(action), RowState)
        ref = PageRef(PageKind.PROJECTS, state.page, state.status_filter)
        ctx.replier(ctx.origin(body)).replace(projects_payload(ctx, ref, state.toggled()))

    @on.action(ids.ProjectAction.FILTER)
    def filter_(body: dict[str, Any], action: dict[str, Any]) -> None:
        chosen = decode(_value(action), FilterRef)
        ref = PageRef(PageKind.PROJECTS, 0, chosen.status)
        ctx.replier(ctx.origin(body)).replace(projects_payload(ctx, ref))

    @on.action(ids.ProjectAction.REFRESH)
    def refresh(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), PageRef)
        ctx.replier(ctx.origin(body)).replace(projects_payload(ctx, ref))

    @on.action(ids.ProjectAction.SHOW)
    def show(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), PageRef)
        ctx.replier(ctx.origin(body)).reply(projects_payload(ctx, ref))

    @on.action(ids.ProjectAction.HISTORY)
    def history(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ProjectRef)
        payload = build_history(ctx.queries.history(ref.project_id))
        replier = ctx.replier(ctx.origin(body))
        # The history message's own Refresh button re-renders it in place; History buttons
        # elsewhere (projects list, progress, alerts) answer with a new message.
        if (action.get("text") or {}).get("text") == "Refresh":
            replier.replace(payload)
        else:
            replier.reply(payload)

    @on.action(ids.ProjectAction.FINDINGS)
    def project_findings(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ProjectRef)
        scan_id = ctx.queries.latest_scan_id(ref.project_id)
        ctx.replier(ctx.origin(body)).open_modal(
            build_findings_modal(ctx.queries.findings(scan_id))
        )

    @on.action(ids.PageAction.NEXT, ids.PageAction.PREV)
    def paging(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), PageRef)
        if ref.kind is PageKind.HISTORY:
            if ref.project_id is None:
                raise InputError("This page button lost its project. Run the command again.")
            payload = build_history(ctx.queries.history(ref.project_id, ref.page))
        elif ref.kind is PageKind.CONNECTORS:
            payload = build_connectors(ctx.queries.connectors_page(ref.page))
        else:
            payload = projects_payload(ctx, ref)
        ctx.replier(ctx.origin(body)).replace(payload)


# --- scans ---------------------------------------------------------------------------------------


def _register_scans(app: App, ctx: SlackContext) -> None:
    on = Listeners(app, ctx)
    operator_run = [requires(ctx, Role.OPERATOR, "run scans")]

    @on.action(ids.ScanAction.RUN, middleware=operator_run)
    def run(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ProjectRef)
        origin = ctx.origin(body)
        run_and_tell(ctx, origin, ref.project_id, "manual")

    @on.action(ids.ScanAction.STOP, middleware=[requires(ctx, Role.OPERATOR, "stop scans")])
    def stop(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ScanRef)
        origin = ctx.origin(body)
        stop_and_tell(ctx, origin, ref.scan_id)

    @on.action(ids.ScanAction.RERUN, middleware=operator_run)
    def rerun(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ScanRef)
        origin = ctx.origin(body)
        rerun_and_tell(ctx, origin, ref.scan_id)

    @on.action(ids.ScanAction.RERUN_CONNECTOR, middleware=operator_run)
    def rerun_connector(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ConnectorRef)
        origin = ctx.origin(body)
        rerun_connector_and_tell(ctx, origin, ref.connector_id)

    @on.action(ids.HistoryAction.MENU)
    def history_menu(body: dict[str, Any], action: dict[str, Any]) -> None:
        choice = decode(_value(action), HistoryChoice)
        origin = ctx.origin(body)
        if choice.choice is MenuChoice.RERUN:
            ctx.require(origin, Role.OPERATOR, "run scans")
            rerun_and_tell(ctx, origin, choice.scan_id)
        elif choice.choice is MenuChoice.FINDINGS:
            view = build_findings_modal(ctx.queries.findings(choice.scan_id))
            ctx.replier(origin).open_modal(view)
        else:
            view = build_error_log(
                ctx.queries.error_log(choice.scan_id), ErrorLogState(choice.scan_id)
            )
            ctx.replier(origin).open_modal(view)


# --- error log and findings --------------------------------------------------------------------


def _register_errorlog(app: App, ctx: SlackContext) -> None:
    on = Listeners(app, ctx)

    @on.action(ids.ErrorLogAction.OPEN)
    def open_log(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ScanRef)
        view = build_error_log(ctx.queries.error_log(ref.scan_id), ErrorLogState(ref.scan_id))
        ctx.replier(ctx.origin(body)).open_modal(view)

    @on.action(ids.ErrorLogAction.EXPAND, ids.ErrorLogAction.COLLAPSE)
    def toggle(body: dict[str, Any], action: dict[str, Any]) -> None:
        entry = decode(_value(action), EntryRef)
        origin = ctx.origin(body)
        state = decode(origin.view_metadata, ErrorLogState)
        expand = action["action_id"] == ids.ErrorLogAction.EXPAND
        new_state = state.with_expanded(entry.entry_id, expand)
        view = build_error_log(ctx.queries.error_log(state.scan_id), new_state)
        ctx.replier(origin).update_modal(view, check=True)

    @on.action(ids.FindingsAction.OPEN)
    def findings(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ScanRef)
        view = build_findings_modal(ctx.queries.findings(ref.scan_id))
        ctx.replier(ctx.origin(body)).open_modal(view)


# --- connectors ----------------------------------------------------------------------------------


def _register_connectors(app: App, ctx: SlackContext) -> None:
    on = Listeners(app, ctx)
    admin = [requires(ctx, Role.ADMIN, "manage connectors")]

    @on.action(ids.ConnectorAction.LIST)
    def list_(body: dict[str, Any], action: dict[str, Any]) -> None:
        ctx.replier(ctx.origin(body)).reply(build_connectors(ctx.queries.connectors_page()))

    @on.action(ids.ConnectorAction.CREATE, middleware=admin)
    def create(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        state = CreateFlowState(channel_id=progress_channel(origin))
        ctx.replier(origin).open_modal(build_create_connector(state))

    @on.action(ids.ConnectorInput.PROVIDER, middleware=admin)
    def provider(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        state = decode(origin.view_metadata, CreateFlowState)
        chosen = providers.parse(_value(action))
        view = build_create_connector(dataclasses.replace(state, provider=chosen))
        ctx.replier(origin).update_modal(view, check=True)

    @on.action(ids.ConnectorAction.REPLACE, middleware=admin)
    def replace(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ConnectorRef)
        origin = ctx.origin(body)
        connector = ctx.queries.connector(ref.connector_id)
        state = replace_state(origin, connector.connector_id, connector.provider)
        ctx.replier(origin).open_modal(build_replace_explain(connector, state))

    @on.action(ids.ConnectorAction.RETRY, middleware=admin)
    def retry(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        state = decode_any(origin.view_metadata)
        if isinstance(state, ReplaceFlowState):
            connector = ctx.queries.connector(state.connector_id)
            view = build_replace_form(connector, state)
        elif isinstance(state, CreateFlowState):
            view = build_create_connector(state)
        else:
            raise InputError("This form lost its state. Start again from /cspm connectors.")
        ctx.replier(origin).update_modal(view, check=True)

    @on.action(ids.ConnectorAction.VALIDATE, middleware=admin)
    def validate(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ConnectorRef)
        origin = ctx.origin(body)
        validate_and_tell(ctx, origin, ref.connector_id)

    @on.action(ids.ConnectorAction.DELETE, middleware=admin)
    def delete(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = decode(_value(action), ConnectorRef)
        origin = ctx.origin(body)
        delete_and_tell(ctx, origin, ref.connector_id)


# --- support and home ----------------------------------------------------------------------------


def _register_support_home(app: App, ctx: SlackContext) -> None:
    on = Listeners(app, ctx)

    @on.action(ids.SupportAction.OPEN, middleware=[requires(ctx, Role.ADMIN, "contact support")])
    def support(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        if not ctx.rt.settings.support_channel:
            raise InputError(
                "No support channel is configured: ask whoever runs the bot to set "
                "CSPM_SUPPORT_CHANNEL."
            )
        ref = decode(_value(action), SupportRef)
        ref = dataclasses.replace(ref, channel_id=ref.channel_id or progress_channel(origin))
        view = build_support_modal(ctx.queries.support_bundle(ref), ref)
        ctx.replier(origin).open_modal(view)

    @on.action(ids.HomeAction.REFRESH)
    def home_refresh(body: dict[str, Any], action: dict[str, Any]) -> None:
        publish_home(ctx, ctx.origin(body).user_id)

    @on.action(ids.HomeAction.HELP)
    def home_help(body: dict[str, Any], action: dict[str, Any]) -> None:
        ctx.replier(ctx.origin(body)).reply(help_message("/cspm", HELP))


def register(app: App, ctx: SlackContext) -> None:
    """Register every block action."""
    _register_projects(app, ctx)
    _register_scans(app, ctx)
    _register_errorlog(app, ctx)
    _register_connectors(app, ctx)
    _register_support_home(app, ctx)
