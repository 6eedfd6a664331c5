"""View submissions: the connector forms (guided replacement and new connector) and support.

Each form is checked by its ack function: malformed input gets inline field errors
(``response_action: errors``). Well-formed credentials are acked with a "Validating…" view;
the work function (`bot.slack.listeners`) then checks the form again, validates the
credentials live and updates the modal with the result.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot import ids
from bot.codec import CreateFlowState, ReplaceFlowState, SupportRef, decode
from bot.domain import Provider
from bot.errors import InputError
from bot.records import SupportTicket
from bot.slack import failures
from bot.slack.connectorflows import check_form, create_in_background, replace_in_background
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import Listeners
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.connectors import build_replace_form, build_validating, read_form
from bot.views.support import build_support_confirmation, build_support_post

log = logging.getLogger(__name__)

Form = Mapping[str, str]


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return dict((view.get("state") or {}).get("values") or {})


def _text(values: dict[str, Any], field: str) -> str:
    return str(((values.get(field) or {}).get(field) or {}).get("value") or "")


def new_reference() -> str:
    """A support reference id users can quote, e.g. ``SUP-3F9A1C``."""
    return "SUP-" + uuid.uuid4().hex[:6].upper()


def _send_support(ctx: SlackContext, origin: Origin, ticket: SupportTicket, channel: str) -> None:
    replier = ctx.replier(origin)
    replier.post(channel, build_support_post(ticket))
    log.info("support request %s sent by %s", ticket.reference_id, origin.actor)
    replier.reply(build_support_confirmation(ticket.reference_id))


def register(app: App, ctx: SlackContext) -> None:
    """Register every view submission."""
    on = Listeners(app, ctx)
    admin = [requires(ctx, Role.ADMIN, "manage connectors")]

    def create_form(
        body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[CreateFlowState, str, Form]:
        """The new-connector form, checked: its state (with the provider), name and fields."""
        state = decode(ctx.origin(body).view_metadata, CreateFlowState)
        raw = read_form(_values(view))
        try:
            provider = Provider(raw["provider"]) if raw.get("provider") else state.provider
        except ValueError:
            raise InputError("Unknown provider.", {"provider": "Choose a provider."}) from None
        name = check_form(ctx, provider, raw, new_name=raw.get("name", ""))
        return dataclasses.replace(state, provider=provider), name, raw

    def create_ack(body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        state, name, _ = create_form(body, view)
        assert state.provider is not None
        return {"response_action": "update", "view": build_validating(name, state.provider, state)}

    def create(body: dict[str, Any], view: dict[str, Any]) -> None:
        state, name, raw = create_form(body, view)
        create_in_background(ctx, ctx.origin(body), state, name, raw)

    on.view(ids.ConnectorView.CREATE_SUBMIT, ack=create_ack, work=create, middleware=admin)

    def explain_ack(body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        state = decode(ctx.origin(body).view_metadata, ReplaceFlowState)
        connector = ctx.queries.connector(state.connector_id)
        return {"response_action": "update", "view": build_replace_form(connector, state)}

    on.view(ids.ConnectorView.REPLACE_EXPLAIN, ack=explain_ack, middleware=admin)

    def replace_form(body: dict[str, Any], view: dict[str, Any]) -> tuple[ReplaceFlowState, Any]:
        """The replacement form, checked (one connector read, one parse): its state and the
        typed request the work carries out."""
        state = decode(ctx.origin(body).view_metadata, ReplaceFlowState)
        connector = ctx.rt.connectors.get(state.connector_id)
        raw = read_form(_values(view))
        request = ctx.rt.connectors.prepare_replace(connector, raw, raw.get("name") or None)
        return state, request

    def replace_ack(body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        state, request = replace_form(body, view)
        return {
            "response_action": "update",
            "view": build_validating(request.connector.name, state.provider, state),
        }

    def replace(body: dict[str, Any], view: dict[str, Any]) -> None:
        state, request = replace_form(body, view)
        replace_in_background(ctx, ctx.origin(body), state, request)

    on.view(ids.ConnectorView.REPLACE_SUBMIT, ack=replace_ack, work=replace, middleware=admin)

    def support_ack(body: dict[str, Any], view: dict[str, Any]) -> None:
        if not ctx.rt.settings.support_channel:
            raise InputError(
                "No support channel is configured (CSPM_SUPPORT_CHANNEL).",
                {"description": "No support channel is configured."},
            )
        decode(ctx.origin(body).view_metadata, SupportRef)  # refuse a form that lost its state

    def support(body: dict[str, Any], view: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        ref = decode(origin.view_metadata, SupportRef)
        # The modal closed with the ack: answer in the channel it was opened from (or a DM).
        answer_in = dataclasses.replace(
            origin, channel_id=ref.channel_id, view_type=None, view_id=None
        )
        try:
            values = _values(view)
            project = "" if ref.scan_id is None else ctx.rt.scans.get(ref.scan_id).project_name
            ticket = SupportTicket(
                reference_id=new_reference(),
                requested_by=origin.user_id,
                description=_text(values, ids.SupportInput.DESCRIPTION),
                details=_text(values, ids.SupportInput.DETAILS),
                project_name=project,
                scan_id=ref.scan_id,
            )
            _send_support(ctx, answer_in, ticket, str(ctx.rt.settings.support_channel))
        except Exception as exc:
            failures.report(exc, ctx.replier(answer_in))

    on.view(
        ids.SupportView.SUBMIT,
        ack=support_ack,
        work=support,
        middleware=[requires(ctx, Role.ADMIN, "contact support")],
    )
