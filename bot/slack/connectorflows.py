"""The connector modals' work: form checks before the ack, live validation after it.

DESIGN §4: malformed input is refused inline (before the ack, as ``response_action:
errors``); well-formed input is acked at once with a "Validating…" view and validated live in
the background; the modal is then updated with the result. `ConnectorService.replace` only
changes anything after the cloud accepted the new credentials.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from bot import ids
from bot.codec import CreateFlowState, ErrorLogState, ReplaceFlowState, decode
from bot.domain import CloudError, ErrorCategory, Provider
from bot.errors import InputError, NotFoundError, ValidationFailedError
from bot.services.connectors import ConnectorInfo as ServiceConnector
from bot.services.connectors import check_name
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.queries import connector_view
from bot.slack.scanflows import progress_channel
from bot.views.connectors import (
    build_connectors,
    build_create_success,
    build_deleted,
    build_replace_success,
    build_validate_result,
    build_validation_failed,
)
from bot.views.models import ReplaceOutcome, ValidationFailure

_CATEGORY_BY_LABEL = {c.label: c for c in ErrorCategory}
_TRAILING_CODE = re.compile(r"\s*\(([^()]{1,120})\)\s*$")


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


def error_from_text(text: str | None) -> CloudError:
    """Rebuild a `CloudError` from a connector's stored one-line validation error
    (``"<category label>: <message> (<code>)"``)."""
    text = (text or "").strip()
    category = ErrorCategory.UNKNOWN
    for label, cat in _CATEGORY_BY_LABEL.items():
        if text.startswith(label + ":"):
            category, text = cat, text[len(label) + 1 :].strip()
            break
    code = ""
    found = _TRAILING_CODE.search(text)
    if found:
        code, text = found.group(1), text[: found.start()]
    remediation = {
        ErrorCategory.INVALID_CREDENTIALS: "Replace the connector with working credentials.",
        ErrorCategory.PERMISSION_DENIED: "Grant the missing permission to the identity.",
        ErrorCategory.TEMPORARY: "Try again in a few minutes.",
        ErrorCategory.UNKNOWN: "Contact support if it keeps failing.",
    }[category]
    return CloudError(category, code, text or "The cloud rejected the credentials.", remediation)


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
    replier.update_modal(build_create_success(connector_view(info)), check=False)


def replace_in_background(
    ctx: SlackContext,
    origin: Origin,
    state: ReplaceFlowState,
    name: str,
    raw: Mapping[str, str],
) -> None:
    """Validate new credentials and, only if they work, replace the connector atomically."""
    replier = ctx.replier(origin)
    old: ServiceConnector = ctx.rt.connectors.get(state.connector_id)
    try:
        result = ctx.rt.connectors.replace(
            state.connector_id, raw, origin.actor, new_name=name if name != old.name else None
        )
    except ValidationFailedError as exc:
        failed = dataclasses.replace(state, attempts=state.attempts + 1)
        failure = ValidationFailure(old.name, state.provider, cloud_error_of(exc), failed.attempts)
        replier.update_modal(build_validation_failed(failure, failed), check=False)
        return
    outcome = ReplaceOutcome(result.old.name, connector_view(result.new), result.projects)
    done = dataclasses.replace(state, connector_id=result.new.id, attempts=0)
    replier.update_modal(build_replace_success(outcome, done), check=False)


def validate_and_tell(ctx: SlackContext, origin: Origin, connector_id: int) -> None:
    """Validate a saved connector again; refresh the list in place and reply the result."""
    info = ctx.rt.connectors.validate(connector_id, origin.actor)
    error = None if info.last_validation_ok else error_from_text(info.last_validation_error)
    replier = ctx.replier(origin)
    if origin.view_type is None and origin.message_ts:
        replier.replace(build_connectors(ctx.queries.connectors_page()))
    replier.reply(build_validate_result(connector_view(info), error))


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
