"""The one mapping from an exception to what the user sees (one error handler for the app).

Domain errors (`bot.errors`) carry a message fit to show as-is: they become an ephemeral
reply, inline field errors or an error view on the open modal. Anything else is unexpected:
it is logged (redacted, by the logging filter) with a short reference id, and the user gets
that id, never a traceback. A Slack call that got no answer after its retries
(`bot.slack.client.SlackUnreachable`) is logged as that, one line with the method, and the
user told that Slack, not the request, failed. The Bolt error handler (`bot.slack.app`) and
the background runner (`bot.slack.context`) both end up here.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import ids
from bot.codec import CreateFlowState, ReplaceFlowState, decode_any
from bot.errors import CspmError, InputError, NotFoundError, PermissionDeniedError, UsageError
from bot.slack.client import SlackUnreachable
from bot.slack.origin import Origin, Replier
from bot.views.common import CommandHelp, error_message, usage_message
from bot.views.connectors import build_field_errors
from bot.views.notices import build_error_modal, build_refusal_modal

log = logging.getLogger("bot.slack")

_FORM_VIEWS = {str(ids.ConnectorView.CREATE_SUBMIT), str(ids.ConnectorView.REPLACE_SUBMIT)}
_SUPPORT_VIEW = str(ids.SupportView.SUBMIT)

SLACK_UNREACHABLE = (
    "Slack did not answer the bot in time, so your answer could not be shown. "
    "Please try again in a moment."
)


@dataclass(frozen=True)
class Failure:
    """What to tell the user about one exception."""

    text: str
    suggestions: tuple[str, ...] = ()
    reference: str | None = None
    fields: dict[str, str] | None = None
    usage: bool = False
    refused: bool = False  # a permission refusal, not a failure


def describe(error: BaseException) -> Failure:
    """Classify an exception; unexpected ones are logged with a fresh reference id."""
    if isinstance(error, UsageError):
        return Failure(error.message, tuple(error.suggestions), usage=True)
    if isinstance(error, NotFoundError):
        return Failure(error.message, tuple(error.suggestions), usage=bool(error.suggestions))
    if isinstance(error, InputError):
        return Failure(error.message, fields=dict(error.fields) or None)
    if isinstance(error, PermissionDeniedError):
        return Failure(error.message, refused=True)
    if isinstance(error, CspmError):
        return Failure(error.message)
    reference = uuid.uuid4().hex[:8]
    if isinstance(error, SlackUnreachable):
        log.error("%s (reference %s)", error, reference)
        return Failure(SLACK_UNREACHABLE, reference=reference)
    if isinstance(error, SlackApiError):
        log.error(
            "Slack API call failed (reference %s): %s", reference, error.response.get("error")
        )
    else:
        log.error("unexpected error (reference %s)", reference, exc_info=error)
    return Failure(
        "Something went wrong on our side. Nothing you did caused it; please try again.",
        reference=reference,
    )


def message_for(failure: Failure, commands: Sequence[CommandHelp] = ()) -> dict[str, Any]:
    """The ephemeral message of a failure (usage help, listing `commands`, for command
    mistakes)."""
    if failure.usage:
        if commands:
            return usage_message(failure.text, list(failure.suggestions), commands=commands)
        return usage_message(failure.text, list(failure.suggestions))
    return error_message(failure.text, failure.reference)


def notice_callback_id(origin: Origin) -> str:
    """A registered callback id for an error modal shown in `origin`'s flow."""
    if origin.callback_id and origin.callback_id in ids.ALL_IDS:
        return origin.callback_id
    return str(ids.ConnectorView.RESULT)


def _modal_for(failure: Failure, origin: Origin, text: str | None = None) -> dict[str, Any]:
    """The modal telling `failure`: "Not allowed" for a refusal, else the error modal."""
    if failure.refused:
        return build_refusal_modal(failure.text)
    return build_error_modal(
        failure.text if text is None else text,
        failure.reference,
        callback_id=notice_callback_id(origin),
    )


def submission_ack(failure: Failure, origin: Origin) -> dict[str, Any]:
    """The ack body of a view submission that failed before it was acknowledged."""
    if failure.fields and origin.callback_id in _FORM_VIEWS:
        provider = None
        try:
            state = decode_any(origin.view_metadata)
            if isinstance(state, CreateFlowState | ReplaceFlowState):
                provider = state.provider
        except InputError:
            pass
        return build_field_errors(
            failure.fields,
            provider,
            create=origin.callback_id == str(ids.ConnectorView.CREATE_SUBMIT),
        )
    if failure.fields and origin.callback_id == str(ids.MuteView.SUBMIT):
        return {
            "response_action": "errors",
            "errors": {block: text[:150] for block, text in failure.fields.items()},
        }
    if failure.fields and origin.callback_id == _SUPPORT_VIEW:
        return {
            "response_action": "errors",
            "errors": {str(ids.SupportInput.DESCRIPTION): failure.text[:150]},
        }
    text = failure.text
    if failure.suggestions:
        text += " Did you mean: " + ", ".join(failure.suggestions) + "?"
    return {"response_action": "update", "view": _modal_for(failure, origin, text)}


def submission_ack_json(error: BaseException, origin: Origin) -> str:
    """`submission_ack` of `error`, as the JSON body of the HTTP answer."""
    return json.dumps(submission_ack(describe(error), origin))


def report(
    error: BaseException,
    replier: Replier,
    *,
    acked_view: bool = False,
    commands: Sequence[CommandHelp] = (),
) -> None:
    """Tell the user about `error` after the request was acknowledged.

    `acked_view`: the error happened in the background work of a view submission whose ack
    already replaced the modal (e.g. "Validating…"): the error then replaces that view.
    `commands`: the slash command's subcommands, listed in usage replies.
    """
    failure = describe(error)
    origin = replier.origin
    try:
        if acked_view and origin.view_id:
            replier.update_modal(_modal_for(failure, origin), check=False)
        elif origin.in_modal and not origin.response_url:
            view = _modal_for(
                failure,
                origin,
                failure.text
                + (" Did you mean: " + ", ".join(failure.suggestions) + "?"
                   if failure.suggestions else ""),
            )  # fmt: skip
            try:
                replier.open_modal(view)
            except (SlackApiError, SlackUnreachable):
                replier.dm(message_for(failure, commands))
        else:
            replier.reply(message_for(failure, commands))
    except SlackUnreachable as exc:
        log.error("could not tell user %s about an error either: %s", origin.user_id, exc)
    except Exception:
        log.exception("could not tell user %s about an error", origin.user_id)
