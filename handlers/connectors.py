"""Connectors: the list, validate, delete, the new-connector form and the guided replacement.

``/cspm connectors`` lists them, ``/cspm connect`` opens the new-connector form. The forms
are checked before the ack: malformed input is refused inline (``response_action:
errors``); well-formed input is acked at once with a "Validating…" view and validated live in
the background; the modal is then updated with the result. `ConnectorService.replace` only
changes anything after the cloud accepted the new credentials. Everything here but the list
needs the admin role.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot import ids, providers
from bot.codec import ConnectorRef, CreateFlowState, ErrorLogState, ReplaceFlowState
from bot.domain import CloudError, ErrorCategory, Provider
from bot.errors import InputError, NotFoundError, ValidationFailedError
from bot.records import ReplaceOutcome, ValidationFailure
from bot.services.connectors import ReplaceRequest, check_name
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.connectors import (
    build_connectors,
    build_create_connector,
    build_create_success,
    build_deleted,
    build_discovered,
    build_replace_explain,
    build_replace_form,
    build_replace_success,
    build_validate_result,
    build_validating,
    build_validation_failed,
    read_form,
)
from handlers.command_parser import ParsedCommand, Sub
from handlers.commands import Subcommands
from handlers.scans import progress_channel

Form = Mapping[str, str]


def check_form(
    ctx: SlackContext,
    provider: Provider | None,
    raw: Mapping[str, str],
    *,
    new_name: str,
    keep_name: str | None = None,
) -> str:
    """Refuse malformed input with per-field messages (InputError.fields), before the ack.

    Checks the name (and that it is free, unless it is `keep_name`), the provider and the
    provider's credential fields. Returns the cleaned name. Nothing is sent to the cloud.
    """
    errors: dict[str, str] = {}
    name = ""
    try:
        name = check_name(new_name)
        if name != keep_name:
            try:
                ctx.rt.connectors.get(name)
                errors["name"] = "A connector with this name already exists."
            except NotFoundError:
                pass
    except InputError as exc:
        errors.update(exc.fields)
    if provider is None:
        errors["provider"] = "Choose a cloud provider."
    else:
        try:
            ctx.rt.connectors.parse(provider, raw)
        except InputError as exc:
            errors.update(exc.fields or {"provider": exc.message})
    if errors:
        raise InputError("Some fields need fixing.", errors)
    return name


def cloud_error_of(exc: ValidationFailedError) -> CloudError:
    """The classified error of a rejected validation."""
    if isinstance(exc.error, CloudError):
        return exc.error
    return CloudError(
        ErrorCategory.UNKNOWN, "Rejected", exc.message, "Check the credentials and try again."
    )


def create_in_background(
    ctx: SlackContext,
    origin: Origin,
    state: CreateFlowState,
    name: str,
    raw: Mapping[str, str],
) -> None:
    """Validate and save a new connector, then show the result in the modal."""
    assert state.provider is not None
    replier = ctx.replier(origin)
    try:
        info = ctx.rt.connectors.create(state.provider, name, raw, origin.actor)
    except ValidationFailedError as exc:
        failed = dataclasses.replace(state, attempts=state.attempts + 1)
        failure = ValidationFailure(name, state.provider, cloud_error_of(exc), failed.attempts)
        replier.update_modal(build_validation_failed(failure, failed), check=False)
        return
    replier.update_modal(build_create_success(info), check=False)


def replace_in_background(
    ctx: SlackContext, origin: Origin, state: ReplaceFlowState, request: ReplaceRequest
) -> None:
    """Validate new credentials and, only if they work, replace the connector atomically."""
    replier = ctx.replier(origin)
    try:
        result = ctx.rt.connectors.apply_replace(request, origin.actor)
    except ValidationFailedError as exc:
        failed = dataclasses.replace(state, attempts=state.attempts + 1)
        failure = ValidationFailure(
            request.connector.name, state.provider, cloud_error_of(exc), failed.attempts
        )
        replier.update_modal(build_validation_failed(failure, failed), check=False)
        return
    outcome = ReplaceOutcome(result.old.name, result.new, result.projects)
    done = dataclasses.replace(state, connector_id=result.new.connector_id, attempts=0)
    replier.update_modal(build_replace_success(outcome, done), check=False)


def validate_and_tell(ctx: SlackContext, origin: Origin, connector_id: int) -> None:
    """Validate a saved connector again; refresh the list in place and reply the result (the
    classified error comes with the connector, field by field)."""
    info = ctx.rt.connectors.validate(connector_id, origin.actor)
    replier = ctx.replier(origin)
    if origin.view_type is None and origin.message_ts:
        replier.replace(build_connectors(ctx.queries.connectors_page()))
    replier.reply(build_validate_result(info))


def delete_and_tell(ctx: SlackContext, origin: Origin, connector_id: int) -> None:
    """Delete (tombstone) an unused connector; refresh the list in place and confirm."""
    info = ctx.rt.connectors.delete(connector_id, origin.actor)
    replier = ctx.replier(origin)
    if origin.view_type is None and origin.message_ts:
        replier.replace(build_connectors(ctx.queries.connectors_page()))
    replier.reply(build_deleted(info.name, info.projects))


def replace_state(
    origin: Origin,
    connector_id: int,
    provider: Provider,
    error_log: ErrorLogState | None = None,
) -> ReplaceFlowState:
    """The replacement flow's state: where to report, and the failed scan it started from
    (the scan of the `error_log` modal the flow was started in, if any)."""
    scan_id = None
    if origin.callback_id == ids.ErrorLogView.MODAL and error_log is not None:
        scan_id = error_log.scan_id
    return ReplaceFlowState(
        connector_id=connector_id,
        provider=provider,
        channel_id=progress_channel(origin),
        scan_id=scan_id,
    )


def _form_values(view: dict[str, Any]) -> dict[str, Any]:
    return dict((view.get("state") or {}).get("values") or {})


def connectors_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm connectors``: the connectors list."""
    ctx.replier(origin).reply(build_connectors(ctx.queries.connectors_page()))


def connect_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm connect``: the new-connector form (admins)."""
    ctx.require(origin, Role.ADMIN, "connect cloud accounts")
    state = CreateFlowState(channel_id=origin.channel_id)
    ctx.replier(origin).open_modal(build_create_connector(state))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register the connector buttons, form submissions and ``/cspm connectors|connect``."""
    on = Listeners(app, ctx)
    admin = [requires(ctx, Role.ADMIN, "manage connectors")]
    commands.add(Sub.CONNECTORS, connectors_command)
    commands.add(Sub.CONNECT, connect_command)

    # --- buttons --------------------------------------------------------------------------

    @on.action(ids.ConnectorAction.LIST)
    def list_(req: Request) -> None:
        ctx.replier(req.origin).reply(build_connectors(ctx.queries.connectors_page()))

    @on.action(ids.ConnectorAction.CREATE, middleware=admin)
    def create(req: Request) -> None:
        state = CreateFlowState(channel_id=progress_channel(req.origin))
        ctx.replier(req.origin).open_modal(build_create_connector(state))

    @on.action(ids.ConnectorInput.PROVIDER, state=CreateFlowState, middleware=admin)
    def provider(req: Request) -> None:
        selected = (req.payload.get("selected_option") or {}).get("value")
        chosen = providers.parse(str(selected or ""))
        state = dataclasses.replace(req.state(CreateFlowState), provider=chosen)
        ctx.replier(req.origin).update_modal(build_create_connector(state), check=True)

    @on.action(
        ids.ConnectorAction.REPLACE,
        value=ConnectorRef,
        state=ErrorLogState,
        state_required=False,
        middleware=admin,
    )
    def replace(req: Request) -> None:
        connector = ctx.queries.connector(req.value(ConnectorRef).connector_id)
        state = replace_state(
            req.origin, connector.connector_id, connector.provider, req.state_if(ErrorLogState)
        )
        ctx.replier(req.origin).open_modal(build_replace_explain(connector, state))

    @on.action(
        ids.ConnectorAction.RETRY, state=(ReplaceFlowState, CreateFlowState), middleware=admin
    )
    def retry(req: Request) -> None:
        flow = req.any_state
        if isinstance(flow, ReplaceFlowState):
            view = build_replace_form(ctx.queries.connector(flow.connector_id), flow)
        elif isinstance(flow, CreateFlowState):
            view = build_create_connector(flow)
        else:  # the middleware let nothing else through
            raise InputError("This form lost its state. Start again from /cspm connectors.")
        ctx.replier(req.origin).update_modal(view, check=True)

    @on.action(ids.ConnectorAction.VALIDATE, value=ConnectorRef, middleware=admin)
    def validate(req: Request) -> None:
        validate_and_tell(ctx, req.origin, req.value(ConnectorRef).connector_id)

    @on.action(ids.ConnectorAction.DISCOVER, value=ConnectorRef, middleware=admin)
    def discover(req: Request) -> None:
        result = ctx.rt.connectors.discover(req.value(ConnectorRef).connector_id, req.origin.actor)
        ctx.replier(req.origin).reply(build_discovered(result))

    @on.action(ids.ConnectorAction.DELETE, value=ConnectorRef, middleware=admin)
    def delete(req: Request) -> None:
        delete_and_tell(ctx, req.origin, req.value(ConnectorRef).connector_id)

    # --- the new-connector form -------------------------------------------------------------

    def create_form(req: Request) -> tuple[CreateFlowState, str, Form]:
        """The new-connector form, checked: its state (with the provider), name and fields."""
        state = req.state(CreateFlowState)
        raw = read_form(_form_values(req.payload))
        provider = providers.parse(raw["provider"]) if raw.get("provider") else state.provider
        name = check_form(ctx, provider, raw, new_name=raw.get("name", ""))
        return dataclasses.replace(state, provider=provider), name, raw

    def create_ack(req: Request) -> dict[str, Any]:
        state, name, _ = create_form(req)
        assert state.provider is not None
        return {"response_action": "update", "view": build_validating(name, state.provider, state)}

    def create_submitted(req: Request) -> None:
        state, name, raw = create_form(req)
        create_in_background(ctx, req.origin, state, name, raw)

    on.view(
        ids.ConnectorView.CREATE_SUBMIT,
        ack=create_ack,
        work=create_submitted,
        state=CreateFlowState,
        middleware=admin,
    )

    # --- the guided replacement -------------------------------------------------------------

    def explain_ack(req: Request) -> dict[str, Any]:
        state = req.state(ReplaceFlowState)
        connector = ctx.queries.connector(state.connector_id)
        return {"response_action": "update", "view": build_replace_form(connector, state)}

    on.view(
        ids.ConnectorView.REPLACE_EXPLAIN, ack=explain_ack, state=ReplaceFlowState, middleware=admin
    )

    def replace_form(req: Request) -> tuple[ReplaceFlowState, ReplaceRequest]:
        """The replacement form, checked (one connector read, one parse): its state and the
        typed request the work carries out."""
        state = req.state(ReplaceFlowState)
        connector = ctx.rt.connectors.get(state.connector_id)
        raw = read_form(_form_values(req.payload))
        request = ctx.rt.connectors.prepare_replace(connector, raw, raw.get("name") or None)
        return state, request

    def replace_ack(req: Request) -> dict[str, Any]:
        state, request = replace_form(req)
        return {
            "response_action": "update",
            "view": build_validating(request.connector.name, state.provider, state),
        }

    def replace_submitted(req: Request) -> None:
        state, request = replace_form(req)
        replace_in_background(ctx, req.origin, state, request)

    on.view(
        ids.ConnectorView.REPLACE_SUBMIT,
        ack=replace_ack,
        work=replace_submitted,
        state=ReplaceFlowState,
        middleware=admin,
    )
