"""View submissions: the connector forms (guided replacement and new connector) and support.

A form is checked before the ack: malformed input gets inline field errors
(``response_action: errors``). Well-formed credentials are acked at once with a "Validating…"
view; the live validation runs in the background and updates the modal with the result.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

from slack_bolt import App

from bot import ids
from bot.codec import CreateFlowState, ReplaceFlowState, SupportRef, decode
from bot.domain import Provider
from bot.errors import InputError
from bot.slack.connectorflows import check_form, create_in_background, replace_in_background
from bot.slack.context import SlackContext
from bot.slack.guards import requires
from bot.slack.listeners import AckFn, safe
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.connectors import build_replace_form, build_validating, read_form
from bot.views.models import SupportTicket
from bot.views.support import build_support_confirmation, build_support_post

log = logging.getLogger(__name__)


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
    on = safe(ctx)
    admin = [requires(ctx, Role.ADMIN, "manage connectors")]

    @app.view(ids.ConnectorView.CREATE_SUBMIT, middleware=admin)
    @on
    def create(ack: AckFn, body: dict[str, Any], view: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        state = decode(origin.view_metadata, CreateFlowState)
        raw = read_form(_values(view))
        try:
            provider = Provider(raw["provider"]) if raw.get("provider") else state.provider
        except ValueError:
            raise InputError("Unknown provider.", {"provider": "Choose a provider."}) from None
        name = check_form(ctx, provider, raw, new_name=raw.get("name", ""))
        assert provider is not None
        state = dataclasses.replace(state, provider=provider)
        ack(response_action="update", view=build_validating(name, provider, state))
        ctx.after_ack(origin, create_in_background, ctx, origin, state, name, raw, acked_view=True)

    @app.view(ids.ConnectorView.REPLACE_EXPLAIN, middleware=admin)
    @on
    def explain(ack: AckFn, body: dict[str, Any], view: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        state = decode(origin.view_metadata, ReplaceFlowState)
        connector = ctx.queries.connector(state.connector_id)
        ack(response_action="update", view=build_replace_form(connector, state))

    @app.view(ids.ConnectorView.REPLACE_SUBMIT, middleware=admin)
    @on
    def replace(ack: AckFn, body: dict[str, Any], view: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        state = decode(origin.view_metadata, ReplaceFlowState)
        connector = ctx.rt.connectors.get(state.connector_id)
        raw = read_form(_values(view))
        name = check_form(
            ctx,
            state.provider,
            raw,
            new_name=raw.get("name") or connector.name,
            keep_name=connector.name,
        )
        ack(response_action="update", view=build_validating(connector.name, state.provider, state))
        ctx.after_ack(origin, replace_in_background, ctx, origin, state, name, raw, acked_view=True)

    @app.view(ids.SupportView.SUBMIT, middleware=[requires(ctx, Role.ADMIN, "contact support")])
    @on
    def support(ack: AckFn, body: dict[str, Any], view: dict[str, Any]) -> None:
        origin = ctx.origin(body)
        ref = decode(origin.view_metadata, SupportRef)
        channel = ctx.rt.settings.support_channel
        if not channel:
            raise InputError(
                "No support channel is configured (CSPM_SUPPORT_CHANNEL).",
                {"description": "No support channel is configured."},
            )
        values = _values(view)
        project = ""
        if ref.scan_id is not None:
            project = ctx.rt.scans.get(ref.scan_id).project_name
        ticket = SupportTicket(
            reference_id=new_reference(),
            requested_by=origin.user_id,
            description=_text(values, ids.SupportInput.DESCRIPTION),
            details=_text(values, ids.SupportInput.DETAILS),
            project_name=project,
            scan_id=ref.scan_id,
        )
        ack()
        answer_in = dataclasses.replace(
            origin, channel_id=ref.channel_id, view_type=None, view_id=None
        )
        ctx.after_ack(answer_in, _send_support, ctx, answer_in, ticket, channel)
