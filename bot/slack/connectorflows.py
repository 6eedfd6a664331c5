"""The connector modals' work: form checks before the ack, live validation after it.

Malformed input is refused inline (before the ack, as ``response_action:
errors``); well-formed input is acked at once with a "Validating…" view and validated live in
the background; the modal is then updated with the result. `ConnectorService.replace` only
changes anything after the cloud accepted the new credentials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from bot import ids
from bot.codec import CreateFlowState, ErrorLogState, ReplaceFlowState, decode
from bot.domain import CloudError, ErrorCategory, Provider
from bot.errors import InputError, NotFoundError, ValidationFailedError
from bot.records import ReplaceOutcome, ValidationFailure
from bot.services.connectors import ReplaceRequest, check_name
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.scanflows import progress_channel
from bot.views.connectors import (
    build_connectors,
    build_create_success,
    build_deleted,
    build_replace_success,
    build_validate_result,
    build_validation_failed,
)


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


def replace_state(origin: Origin, connector_id: int, provider: Provider) -> ReplaceFlowState:
    """The replacement flow's state: where to report, and the failed scan it started from."""
    scan_id = None
    if origin.callback_id == ids.ErrorLogView.MODAL and origin.view_metadata:
        scan_id = decode(origin.view_metadata, ErrorLogState).scan_id
    return ReplaceFlowState(
        connector_id=connector_id,
        provider=provider,
        channel_id=progress_channel(origin),
        scan_id=scan_id,
    )
