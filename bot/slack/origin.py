"""Where a request came from, and the one place that knows how to answer it.

`Origin` reads the user, channel, message, view, response_url and trigger id out of any
Slack request body (slash command, block action, view submission, event). `Replier` sends
builder payloads back the right way for that origin: an ephemeral reply, an in-place update
of the message the button was on (response_url for ephemeral messages, chat.update for posted
ones), a modal opened or pushed, a modal updated, a message posted in a channel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.client import SlackUnreachable, make_webhook_client

log = logging.getLogger(__name__)

Payload = dict[str, Any]


def _get(body: Mapping[str, Any], *path: str) -> Any:
    node: Any = body
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True)
class Origin:
    """The facts of one Slack request that decide how to answer it."""

    kind: str  # "command", "block_actions", "view_submission", "event_callback", ...
    user_id: str
    team_id: str | None = None
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    view_id: str | None = None
    view_hash: str | None = None
    view_type: str | None = None  # "modal" / "home" when the request came from a view
    view_metadata: str = ""
    callback_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    is_ephemeral: bool = False

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Origin:
        """Read an origin from any request body Bolt hands a listener."""
        if "command" in body:  # slash command (form fields)
            return cls(
                kind="command",
                user_id=str(body.get("user_id") or ""),
                team_id=body.get("team_id"),
                channel_id=body.get("channel_id"),
                response_url=body.get("response_url"),
                trigger_id=body.get("trigger_id"),
            )
        kind = str(body.get("type") or "")
        if kind == "event_callback":
            event = body.get("event") or {}
            user = event.get("user")
            return cls(
                kind=kind,
                user_id=str(user.get("id") if isinstance(user, Mapping) else user or ""),
                team_id=body.get("team_id"),
                channel_id=event.get("channel"),
            )
        view = body.get("view") if isinstance(body.get("view"), Mapping) else None
        container = body.get("container") or {}
        response_url = body.get("response_url")
        if not response_url:
            urls = body.get("response_urls") or []
            response_url = urls[0].get("response_url") if urls else None
        message = body.get("message") or {}
        return cls(
            kind=kind,
            user_id=str(_get(body, "user", "id") or ""),
            team_id=_get(body, "team", "id") or _get(body, "user", "team_id"),
            channel_id=_get(body, "channel", "id") or container.get("channel_id"),
            response_url=response_url,
            trigger_id=body.get("trigger_id"),
            view_id=view.get("id") if view else None,
            view_hash=view.get("hash") if view else None,
            view_type=view.get("type") if view else None,
            view_metadata=str(view.get("private_metadata") or "") if view else "",
            callback_id=view.get("callback_id") if view else None,
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=message.get("thread_ts"),
            is_ephemeral=bool(container.get("is_ephemeral")),
        )

    @property
    def in_modal(self) -> bool:
        """True when the request came from inside a modal."""
        return self.view_type == "modal"

    @property
    def actor(self) -> str:
        """The audit-log actor for this request's user."""
        return f"slack:{self.user_id}"


def _message_args(payload: Payload) -> dict[str, Any]:
    return {"text": payload.get("text", ""), "blocks": payload.get("blocks", [])}


class Replier:
    """Sends payloads back to Slack the right way for one `Origin`."""

    def __init__(self, client: WebClient, origin: Origin) -> None:
        self.client = client
        self.origin = origin

    def _respond(self, payload: Payload, *, replace: bool) -> bool:
        url = self.origin.response_url
        if not url:
            return False
        body = dict(_message_args(payload), replace_original=replace)
        if not replace:
            body["response_type"] = "ephemeral"
        try:
            response = make_webhook_client(url, self.client.timeout).send_dict(body)
        except SlackUnreachable as exc:
            log.warning("%s; answering another way", exc)
            return False
        if response.status_code != 200:
            log.warning("response_url answered %s: %s", response.status_code, response.body)
            return False
        return True

    def respond(self, payload: Payload) -> bool:
        """An answer only the user sees, through the response_url alone (no Web API call);
        False when there is none or it failed."""
        return self._respond(payload, replace=False)

    def reply(self, payload: Payload) -> None:
        """An answer only the user sees: response_url, else an ephemeral, else a DM."""
        if self._respond(payload, replace=False):
            return
        origin = self.origin
        if origin.channel_id and origin.user_id and origin.view_type is None:
            try:
                self.client.chat_postEphemeral(
                    channel=origin.channel_id, user=origin.user_id, **_message_args(payload)
                )
                return
            except SlackApiError as exc:
                log.info("ephemeral reply failed (%s); sending a DM", exc.response.get("error"))
        self.dm(payload)

    def dm(self, payload: Payload) -> tuple[str, str]:
        """Post to the user's DM with the app (the App Home Messages tab)."""
        return self.post(self.origin.user_id, payload)

    def replace(self, payload: Payload) -> None:
        """Update the message the user acted on, in place (else reply)."""
        origin = self.origin
        if origin.is_ephemeral and self._respond(payload, replace=True):
            return
        if origin.channel_id and origin.message_ts and not origin.is_ephemeral:
            try:
                self.client.chat_update(
                    channel=origin.channel_id, ts=origin.message_ts, **_message_args(payload)
                )
                return
            except SlackApiError as exc:
                log.info("chat.update failed (%s); using response_url", exc.response.get("error"))
        if self._respond(payload, replace=True):
            return
        self.reply(payload)

    def post(self, channel: str, payload: Payload, thread_ts: str | None = None) -> tuple[str, str]:
        """Post a message; returns (channel id, ts) for later chat.update."""
        args = _message_args(payload)
        if thread_ts:
            args["thread_ts"] = thread_ts
        response = self.client.chat_postMessage(channel=channel, **args)
        return str(response["channel"]), str(response["ts"])

    def open_modal(self, view: Payload) -> str:
        """Open a modal, or push it onto the stack when the user is already in one."""
        if self.origin.in_modal:
            response = self.client.views_push(trigger_id=self.origin.trigger_id, view=view)
        else:
            response = self.client.views_open(trigger_id=self.origin.trigger_id, view=view)
        return str(response["view"]["id"])

    def update_modal(
        self, view: Payload, *, view_id: str | None = None, check: bool = True
    ) -> bool:
        """Replace the modal the request came from (or `view_id`); False if it was stale.

        `check` sends the view's hash so a stale update fails instead of overwriting a newer
        view (Slack's race protection, e.g. a double click); only possible for the view the
        user acted on. A refused stale update is logged, not reported: the newer view wins.
        """
        target = view_id or self.origin.view_id
        if not target:
            raise ValueError("no view to update")
        use_hash = bool(check and target == self.origin.view_id and self.origin.view_hash)
        try:
            self.client.views_update(
                view_id=target, hash=self.origin.view_hash if use_hash else None, view=view
            )
        except SlackApiError as exc:
            if use_hash and exc.response.get("error") == "hash_conflict":
                log.info("view %s changed meanwhile; kept the newer one", target)
                return False
            raise
        return True
