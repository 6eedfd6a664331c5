"""A Slack workspace in the browser: the Slack emulator plus a web page and the delivery of
signed requests to the bot.

The page (``GET /``, plain HTML/CSS/JS from `bot/playground/static/`) shows a channel with a
composer for ``/cspm …``, the messages rendered from their Block Kit, modals and the App Home
tab. What the user does on the page comes back as small JSON posts under ``/play/``; the
workspace turns each into exactly what Slack would send the bot (a slash command form, a
``block_actions`` / ``view_submission`` / ``view_closed`` / ``block_suggestion`` payload, an
``app_home_opened`` event), signs it with the v0 HMAC-SHA256 scheme and POSTs it to the bot's
``/slack/events``. The bot's HTTP answer is applied the way Slack applies it (an ephemeral
reply to a command, ``response_action`` errors/update/push/clear for a submission).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import requests

from bot.playground.loopback import Reply, Request
from bot.playground.slack_emulator import SlackStandIn

CHANNEL_ID = "C0PLAYGRND"
CHANNEL_NAME = "cspm-playground"
SUPPORT_CHANNEL_ID = "C0SUPPORTS"
SUPPORT_CHANNEL_NAME = "cspm-support"
APP_ID = "A0PLAYGRND"


@dataclass(frozen=True)
class PlaygroundUser:
    """A person on the page's user switcher."""

    id: str
    name: str
    role: str


OPERATOR = PlaygroundUser("U0OPERATOR", "olivia", "operator: runs scans, fixes connectors")
VIEWER = PlaygroundUser("U0READONLY", "victor", "read-only: may look, not act")
USERS = (OPERATOR, VIEWER)

_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


_REQUIRED = {
    "command": ("user",),
    "action": ("user", "action"),
    "options": ("user", "action_id", "block_id"),
    "submit": ("user", "view_id"),
    "close": ("user", "view_id"),
    "home": ("user",),
}
"""The fields each of the page's calls must carry (an action on a message also needs
``channel`` and ``ts``)."""


class _GoneView(Exception):
    """A modal the page still shows was closed or replaced meanwhile."""


def _malformed(what: str, data: Any) -> str:
    """What is wrong with the body of the page's call `what`, or "" if nothing."""
    if not isinstance(data, dict):
        return "The request body must be a JSON object."
    needed = list(_REQUIRED.get(what, ()))
    if what == "action" and not data.get("view_id"):
        needed += ["channel", "ts"]
    missing = [name for name in needed if not data.get(name)]
    if missing:
        return f"The request lacks {', '.join(missing)}: nothing was sent to the bot."
    if what == "action" and not isinstance(data["action"], dict):
        return "The request's action must be a JSON object."
    return ""


def _channel_key(channel: str, user: str) -> str:
    """The channel id messages are kept under: the page calls `user`'s DM with the bot "D"."""
    return "D" + user[1:] if channel == "D" else channel


class Workspace(SlackStandIn):
    """The Slack emulator with a page for people and a signed delivery path to the bot."""

    def __init__(self, signing_secret: str, notes: list[dict[str, str]] | None = None) -> None:
        super().__init__()
        self.signing_secret = signing_secret
        self.bot_url = ""  # the bot's events URL, set once it listens
        self.notes = notes if notes is not None else []  # beside the channel (sandbox keys)
        self.channels = {CHANNEL_ID: CHANNEL_NAME, SUPPORT_CHANNEL_ID: SUPPORT_CHANNEL_NAME}

    # -- routing -----------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        """The page and its JSON calls; everything else is the Slack API."""
        if request.method == "GET" and request.path in _STATIC:
            name, content_type = _STATIC[request.path]
            text = resources.files("bot.playground").joinpath("static", name).read_text("utf-8")
            return Reply(200, text, {"Content-Type": content_type, "Cache-Control": "no-store"})
        if request.path == "/play/state":
            return Reply(200, self.state(request.query.get("user", OPERATOR.id)))
        if request.path.startswith("/play/") and request.method == "POST":
            try:
                data = json.loads(request.body.decode() or "{}")
            except ValueError:
                return Reply(400, {"ok": False, "error": "invalid_json"})
            what = request.path.removeprefix("/play/")
            handler = getattr(self, "_play_" + what, None)
            if handler is None:
                return Reply(404, {"ok": False, "error": "unknown"})
            problem = _malformed(what, data)
            if problem:
                return Reply(400, {"ok": False, "error": problem})
            try:
                return Reply(200, handler(data))
            except _GoneView as exc:
                return Reply(409, {"ok": False, "error": str(exc)})
            except requests.RequestException as exc:
                self._bot_unreachable(data, exc)
                return Reply(200, {"ok": False, "unreachable": True})
        return super().route(request)

    # -- what the page shows -----------------------------------------------------------------

    def state(self, user: str) -> dict[str, Any]:
        """Everything `user` sees: channels with their messages, the open modal, the Home."""
        with self._lock:
            channels: dict[str, list[dict[str, Any]]] = {c: [] for c in self.channels}
            for (channel, _ts), msg in self.messages.items():
                if msg.get("ephemeral_for") not in (None, user):
                    continue
                if channel.startswith("D"):
                    if channel != "D" + user[1:]:
                        continue
                    channel = "D"
                channels.setdefault(channel, []).append(msg)
            stack = [self.views[v] for v in self.stacks.get(user, []) if v in self.views]
            return {
                "version": self.version,
                "user": user,
                "users": [u.__dict__ for u in USERS],
                "channels": [
                    {"id": c, "name": self.channels.get(c, "Messages with CSPM"), "messages": m}
                    for c, m in channels.items()
                ],
                "modal": stack[-1] if stack else None,
                "stack_depth": len(stack),
                "home": self.home.get(user),
                "notes": self.notes,
            }

    # -- delivery to the bot ----------------------------------------------------------------

    def _post(self, body: bytes, content_type: str) -> requests.Response:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.signing_secret, timestamp, body),
        }
        return requests.post(self.bot_url, data=body, headers=headers, timeout=10)

    def _interaction(self, payload: dict[str, Any]) -> requests.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._post(body, "application/x-www-form-urlencoded")

    def _user(self, user_id: str) -> dict[str, Any]:
        name = next((u.name for u in USERS if u.id == user_id), user_id.lower())
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _ephemeral(
        self, channel: str, user: str, answer: dict[str, Any], author: str | None = None
    ) -> None:
        """Show `answer` to `user` only (unless it is in_channel); from Slackbot if `author`."""
        ts = self._new_ts()
        msg: dict[str, Any] = {k: answer[k] for k in ("text", "blocks") if k in answer}
        msg.update(channel=channel, ts=ts)
        if author:
            msg["author"] = author
        if answer.get("response_type") != "in_channel":
            msg["ephemeral_for"] = user
        with self._lock:
            self.messages[(channel, ts)] = msg
        self.touch()

    def _bot_unreachable(self, data: dict[str, Any], exc: requests.RequestException) -> None:
        """Tell the user who acted that the bot did not answer, as Slack does: an ephemeral
        message from Slackbot in the channel they acted in (kept with the channel, so the
        page's next redraw does not wipe it)."""
        reason = "it timed out" if isinstance(exc, requests.Timeout) else "it is not listening"
        user = str(data["user"])  # every call carries it (`_malformed`)
        channel = _channel_key(str(data.get("channel") or CHANNEL_ID), user)
        text = (
            f":warning: The bot did not answer ({reason}): nothing was done. "
            "Try again once `cspm-bot` is running."
        )
        self._ephemeral(channel, user, {"text": text}, author="Slackbot")

    def _play_command(self, data: dict[str, Any]) -> dict[str, Any]:
        """The composer: ``/cspm <text>`` as a signed slash command."""
        user, channel = str(data["user"]), str(data.get("channel") or CHANNEL_ID)
        line = str(data.get("text", "")).strip()
        command, _, text = line.partition(" ")
        if command != "/cspm":
            self._ephemeral(
                channel, user, {"text": f"`{command or line}` is not a command here: try /cspm"}
            )
            return {"ok": True}
        form = {
            "token": "playground",
            "team_id": self.team_id,
            "team_domain": "playground",
            "channel_id": channel,
            "channel_name": self.channels.get(channel, "directmessage"),
            "user_id": user,
            "user_name": self._user(user)["name"],
            "command": command,
            "text": text.strip(),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(channel, user),
            "trigger_id": self.new_trigger_id(user),
        }
        response = self._post(urlencode(form).encode(), "application/x-www-form-urlencoded")
        self._apply_ack(response, channel, user)
        return {"ok": response.ok, "status": response.status_code}

    def _apply_ack(self, response: requests.Response, channel: str, user: str) -> None:
        if not response.content:
            return
        if "json" in response.headers.get("content-type", ""):
            answer = response.json()
        else:
            answer = {"text": response.text}
        if answer.get("text") or answer.get("blocks"):
            self._ephemeral(channel, user, answer)

    def _view_payload(self, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if view_id not in self.views:
                raise _GoneView("This modal is no longer open: nothing was sent to the bot.")
            view = dict(self.views[view_id])
        view["state"] = {"values": values}
        view.setdefault("app_id", APP_ID)
        view.setdefault("root_view_id", view_id)
        return view

    def _play_action(self, data: dict[str, Any]) -> dict[str, Any]:
        """A button, overflow or select on a message, a modal or the Home tab."""
        user = str(data["user"])
        action = dict(data["action"], action_ts=f"{time.time():.6f}")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "playground"},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "playground",
            "trigger_id": self.new_trigger_id(user),
            "actions": [action],
            "is_enterprise_install": False,
        }
        if data.get("view_id"):
            view_id = str(data["view_id"])
            view = self._view_payload(view_id, dict(data.get("values") or {}))
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view_id}
        else:
            channel, ts = str(data["channel"]), str(data["ts"])
            channel_key = _channel_key(channel, user)
            with self._lock:
                message = dict(self.messages.get((channel_key, ts)) or {})
            ephemeral = "ephemeral_for" in message
            message.pop("ephemeral_for", None)
            message.setdefault("type", "message")
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_key,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel_key, "name": self.channels.get(channel_key, "")}
            if not ephemeral:
                payload["message"] = message
            payload["response_url"] = self.new_response_url(channel_key, user, ts)
            payload["state"] = {"values": {}}
        response = self._interaction(payload)
        return {"ok": response.ok, "status": response.status_code}

    def _play_options(self, data: dict[str, Any]) -> dict[str, Any]:
        """An external select asks the bot for options (``block_suggestion``)."""
        user = str(data["user"])
        payload: dict[str, Any] = {
            "type": "block_suggestion",
            "team": {"id": self.team_id, "domain": "playground"},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "playground",
            "action_id": data["action_id"],
            "block_id": data["block_id"],
            "value": data.get("value", ""),
        }
        if data.get("view_id"):
            payload["view"] = self._view_payload(str(data["view_id"]), {})
            payload["container"] = {"type": "view", "view_id": data["view_id"]}
        response = self._interaction(payload)
        answer = response.json() if response.content else {}
        return {"ok": response.ok, "options": answer.get("options") or []}

    def _play_submit(self, data: dict[str, Any]) -> dict[str, Any]:
        """The modal's submit button (``view_submission``), answered like Slack does."""
        user, view_id = str(data["user"]), str(data["view_id"])
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "playground"},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "playground",
            "trigger_id": self.new_trigger_id(user),
            "view": self._view_payload(view_id, dict(data.get("values") or {})),
            "response_urls": [],
            "is_enterprise_install": False,
        }
        response = self._interaction(payload)
        answer: dict[str, Any] = {}
        if response.content and "json" in response.headers.get("content-type", ""):
            answer = response.json()
        action = answer.get("response_action")
        with self._lock:
            stack = self.stacks.setdefault(user, [])
            if action == "errors":
                return {"ok": True, "errors": answer.get("errors") or {}}
            if action == "update":
                self._store_view(view_id, answer["view"])
            elif action == "push":
                new_id = f"V{next(self._seq):08d}"
                self._store_view(new_id, answer["view"])
                stack.append(new_id)
            elif action == "clear":
                stack.clear()
            elif view_id in stack:
                stack.remove(view_id)
        self.touch()
        return {"ok": response.ok, "status": response.status_code}

    def _play_close(self, data: dict[str, Any]) -> dict[str, Any]:
        """The modal's close button: pop it (and tell the bot if it asked)."""
        user, view_id = str(data["user"]), str(data["view_id"])
        view = self._view_payload(view_id, dict(data.get("values") or {}))
        with self._lock:
            stack = self.stacks.setdefault(user, [])
            if view_id in stack:
                del stack[stack.index(view_id) :]
        self.touch()
        if view.get("notify_on_close"):
            self._interaction(
                {
                    "type": "view_closed",
                    "team": {"id": self.team_id, "domain": "playground"},
                    "user": self._user(user),
                    "api_app_id": APP_ID,
                    "token": "playground",
                    "view": view,
                    "is_cleared": False,
                }
            )
        return {"ok": True}

    def _play_home(self, data: dict[str, Any]) -> dict[str, Any]:
        """Opening the app's Home tab (``app_home_opened``)."""
        user = str(data["user"])
        event = {
            "token": "playground",
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": f"Ev{next(self._seq):08d}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D" + user[1:],
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
        response = self._post(json.dumps(event).encode(), "application/json")
        return {"ok": response.ok, "status": response.status_code}
