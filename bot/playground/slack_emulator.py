"""A loopback Slack: the Web API, interaction response_urls, and (for the playground) a
workspace a person can use in a browser. The test suite and `cspm-bot playground` share it.

It answers like Slack does (``ok``, message ``ts``, view ids and hashes, single-use trigger
ids, ``hash_conflict``, ``not_in_channel``, ``invalid_auth``), records every call with its
parsed body, and validates every payload the bot sends with the project's Block Kit validator
(`bot.playground.blockkit.validate_api_call`). An invalid payload is answered the way Slack
answers it (``invalid_blocks``) and kept in `problems`; the `slack` fixture fails the test on
any problem, so no test can forget to validate.

    with SlackStandIn() as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        slack.rate_limit("chat.postMessage", times=1, retry_after=1)   # one 429, then ok
        url = slack.new_response_url()                                # for interaction payloads

As a workspace (`bot.playground.workspace.Workspace` adds the page and the delivery of signed
slash commands, interactions and events to the bot), it also keeps what a user would see:
messages per channel (ephemeral ones only for their user), threads, message updates, the
response_url posts applied to the message they came from, each user's modal stack and Home.

Socket Mode: ``apps.connections.open`` with `app_token` starts a `SocketModeServer`
(`bot.playground.socket_mode`, a WebSocket on 127.0.0.1 speaking Slack's Socket Mode protocol)
and hands out a fresh URL of it each time; `slack.socket_mode.deliver(kind, payload)` sends an
envelope and returns the app's ack. `slack.fail(503, path_prefix="/api/apps.connections.open")`
makes opening connections fail, as when the network is down.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bot.playground.blockkit import BlockKitError, validate_api_call
from bot.playground.loopback import LoopbackServer, Reply, Request
from bot.playground.socket_mode import SocketModeServer

TOKEN = "xoxb-standin-bot-token"
TEAM_ID = "T0STANDIN"
BOT_USER_ID = "UBOT0CSPM"

_VALIDATED = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
    }
)


@dataclass(frozen=True)
class SlackCall:
    """One Web API call (or response_url post) as the stand-in received it."""

    method: str  # "chat.postMessage", ..., or "response_url"
    body: dict[str, Any]  # parsed: JSON, form and query merged; blocks/view decoded
    token: str = ""
    url_id: str = ""  # the response_url id, for "response_url" calls
    at: float = field(default_factory=time.monotonic)
    result: dict[str, Any] = field(default_factory=dict)  # what the stand-in answered

    @property
    def view_id(self) -> str:
        """The id of the view a views.open/push/update call created or changed."""
        return str(self.result["view"]["id"])

    @property
    def view(self) -> dict[str, Any]:
        """The `view` of a views.* call."""
        return dict(self.body.get("view") or {})

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The blocks of a message call (or of the view of a views.* call)."""
        if "view" in self.body:
            return list(self.view.get("blocks") or [])
        return list(self.body.get("blocks") or [])

    def text(self) -> str:
        """Every text in the payload, joined: for asserting what a user reads."""
        return "\n".join(_texts(self.body))


def _texts(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node["text"]
            return
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _parse_body(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = dict(request.query)
    raw = request.body.decode("utf-8", "replace")
    if "json" in request.header("content-type") and raw:
        body.update(json.loads(raw))
    elif raw:
        body.update({k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()})
    for key in ("blocks", "view"):
        if isinstance(body.get(key), str):
            with contextlib.suppress(ValueError):  # left as-is: the validator reports it
                body[key] = json.loads(body[key])
    return body


class SlackStandIn(LoopbackServer):
    """The Slack Web API on 127.0.0.1: answers, records and validates every call."""

    def __init__(self, token: str = TOKEN, team_id: str = TEAM_ID) -> None:
        super().__init__()
        self.token = token
        self.team_id = team_id
        self.bot_user_id = BOT_USER_ID
        self.requests: list[SlackCall] = []
        self.problems: list[str] = []
        self.usergroups: dict[str, list[str]] = {}
        self.not_in_channel: set[str] = set()
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home: dict[str, dict[str, Any]] = {}
        self.response_posts: dict[str, list[dict[str, Any]]] = {}
        self._used_triggers: set[str] = set()
        self.trigger_users: dict[str, str] = {}
        self.url_context: dict[str, dict[str, str]] = {}
        self.stacks: dict[str, list[str]] = {}
        self.version = 0
        self._seq = itertools.count(1)
        self._changed = threading.Condition()
        self.app_token = APP_TOKEN
        self.socket_mode: SocketModeServer | None = None

    def close(self) -> None:
        """Stop serving (and the Socket Mode WebSocket, if it was opened)."""
        if self.socket_mode is not None:
            self.socket_mode.close()
        super().close()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The Web API root for `WebClient(base_url=...)` / `SLACK_API_URL`."""
        return f"{self.base_url}/api/"

    def new_response_url(self, channel: str = "", user: str = "", message_ts: str = "") -> str:
        """A fresh response_url (Slack gives one per interaction; it works 5 times).

        With a context (the channel, user and message of the interaction), what the bot posts
        to it lands where Slack puts it: replacing that message, or as an ephemeral message.
        """
        url_id = f"R{next(self._seq):06d}"
        with self._lock:
            self.response_posts[url_id] = []
            self.url_context[url_id] = {"channel": channel, "user": user, "ts": message_ts}
        return f"{self.base_url}/response/{url_id}"

    def new_trigger_id(self, user: str = "") -> str:
        """A fresh trigger id (single use, like Slack's); `user` owns the modal it opens."""
        trigger = f"{next(self._seq)}.trigger.{time.monotonic_ns()}"
        if user:
            with self._lock:
                self.trigger_users[trigger] = user
        return trigger

    # -- knobs -------------------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and ``Retry-After``."""
        self.fail(
            429,
            times=times,
            path_prefix=f"/api/{method}",
            retry_after=str(retry_after),
            body={"ok": False, "error": "ratelimited"},
        )

    # -- reading the record ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[SlackCall]:
        """Every recorded call of `method` ("response_url" for response_url posts)."""
        with self._lock:
            return [c for c in self.requests if c.method == method]

    def last(self, method: str) -> SlackCall:
        """The newest call of `method` (AssertionError if none)."""
        calls = self.calls_to(method)
        assert calls, f"no {method} call was made; calls: {[c.method for c in self.requests]}"
        return calls[-1]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[SlackCall]:
        """Wait until `count` calls of `method` (matching `predicate`) were recorded."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls_to(method) if predicate is None or predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out waiting for {count} {method} call(s); got {len(found)}; "
                        f"calls: {[c.method for c in self.requests]}"
                    )
                self._changed.wait(min(left, 0.1))

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """The current content of a posted message."""
        with self._lock:
            return dict(self.messages[(channel, ts)])

    def replace_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``response_action: update`` the way Slack does (new hash)."""
        with self._lock:
            return self._store_view(view_id, view)

    def reset(self) -> None:
        """Forget recorded calls (state such as messages and views is kept)."""
        with self._lock:
            self.requests.clear()
            self.calls.clear()

    def assert_clean(self) -> None:
        """Fail if any payload the bot sent was invalid."""
        if self.problems:
            raise AssertionError("invalid Slack payloads:\n" + "\n".join(self.problems))

    # -- answering ---------------------------------------------------------------------------

    def _record(self, call: SlackCall) -> None:
        with self._lock:
            self.requests.append(call)
        self.touch()

    def touch(self) -> None:
        """Note that something a user can see changed (the page polls `version`)."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    def _store_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = dict(view)
        stored.update(
            id=view_id, hash=f"{time.monotonic_ns()}.{next(self._seq)}", team_id=self.team_id
        )
        self.views[view_id] = stored
        return stored

    def route(self, request: Request) -> Reply:
        """Answer one call."""
        if request.path.startswith("/response/"):
            return self._response_url(request)
        if not request.path.startswith("/api/"):
            return Reply(404, "not found")
        method = request.path.removeprefix("/api/")
        body = _parse_body(request)
        auth = request.header("authorization")
        token = auth.removeprefix("Bearer ").strip() if auth else str(body.get("token", ""))
        call = SlackCall(method, body, token)
        self._record(call)
        if not token:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if method == "apps.connections.open" and token == self.app_token:
            with self._lock:
                if self.socket_mode is None:
                    self.socket_mode = SocketModeServer()
                url = self.socket_mode.new_url()
            call.result.update(ok=True, url=url)
            return Reply(200, {"ok": True, "url": url})
        if token != self.token:
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if method in _VALIDATED:
            try:
                validate_api_call(method, body)
            except BlockKitError as exc:
                self.problems.append(f"{method}: {exc}")
                return Reply(200, {"ok": False, "error": "invalid_blocks", "errors": [str(exc)]})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            self.problems.append(f"{method}: the stand-in does not know this method")
            return Reply(200, {"ok": False, "error": "unknown_method"})
        with self._lock:
            result: dict[str, Any] = handler(body)
        call.result.update(result)
        self.touch()
        return Reply(200, result)

    def _response_url(self, request: Request) -> Reply:
        url_id = request.path.removeprefix("/response/")
        try:
            body = json.loads(request.body.decode() or "{}")
        except ValueError:
            body = {}
        self._record(SlackCall("response_url", body, url_id=url_id))
        with self._lock:
            posts = self.response_posts.get(url_id)
            if posts is None:
                return Reply(404, "no_such_response_url")
            if len(posts) >= 5:
                return Reply(404, "used_url")
            try:
                validate_api_call("response_url", body)
            except BlockKitError as exc:
                self.problems.append(f"response_url: {exc}")
                return Reply(400, "invalid_blocks")
            posts.append(body)
            self._apply_response(url_id, body)
        self.touch()
        return Reply(200, "ok")

    def _apply_response(self, url_id: str, body: dict[str, Any]) -> None:
        """Show a response_url post where Slack shows it (lock held)."""
        context = self.url_context.get(url_id) or {}
        channel, user, ts = context.get("channel", ""), context.get("user", ""), context.get("ts")
        if not channel:
            return
        content: dict[str, Any] = {k: body[k] for k in ("text", "blocks") if k in body}
        if body.get("delete_original") and ts:
            self.messages.pop((channel, ts), None)
            return
        if body.get("replace_original") and ts and (channel, ts) in self.messages:
            original = self.messages[(channel, ts)]
            if "blocks" not in content:
                original.pop("blocks", None)
            original.update(content)
            return
        new_ts = self._new_ts()
        msg: dict[str, Any] = dict(content, channel=channel, ts=new_ts)
        if body.get("response_type") != "in_channel":
            msg["ephemeral_for"] = user
        if body.get("thread_ts"):
            msg["thread_ts"] = body["thread_ts"]
        self.messages[(channel, new_ts)] = msg

    # -- methods (called with the lock held) ------------------------------------------------

    def _m_auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://standin.slack.com/",
            "team": "Stand-in",
            "user": "cspm",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0STANDIN",
        }

    def _m_chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body["channel"])
        if channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        if channel[:1] in ("U", "W"):
            channel = "D" + channel[1:]  # posting to a user id lands in the app's DM
        ts = self._new_ts()
        msg: dict[str, Any] = {k: body[k] for k in ("text", "blocks", "thread_ts") if k in body}
        msg.update(channel=channel, ts=ts)
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}

    def _m_chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (str(body["channel"]), str(body["ts"]))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        msg = self.messages[key]
        msg.update({k: body[k] for k in ("text", "blocks") if k in body})
        return {"ok": True, "channel": key[0], "ts": key[1], "text": msg.get("text", "")}

    def _m_chat_getPermalink(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (str(body.get("channel", "")), str(body.get("message_ts", "")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://standin.slack.com/archives/{key[0]}/p{key[1].replace('.', '')}"
        return {"ok": True, "channel": key[0], "permalink": link}

    def _m_chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body["channel"])
        if channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._new_ts()
        msg: dict[str, Any] = {k: body[k] for k in ("text", "blocks", "thread_ts") if k in body}
        msg.update(channel=channel, ts=ts, ephemeral_for=str(body.get("user", "")))
        self.messages[(channel, ts)] = msg
        return {"ok": True, "message_ts": ts}

    def _m_chat_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (str(body["channel"]), str(body["ts"]))
        if self.messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _open(self, body: dict[str, Any], push: bool) -> dict[str, Any]:
        trigger = str(body.get("trigger_id", ""))
        if trigger in self._used_triggers:
            return {"ok": False, "error": "expired_trigger_id"}
        self._used_triggers.add(trigger)
        view_id = f"V{next(self._seq):08d}"
        user = self.trigger_users.get(trigger)
        if user:
            stack = self.stacks.setdefault(user, [])
            if len(stack) >= 3 and push:
                return {"ok": False, "error": "push_limit_reached"}
            if not push:
                stack.clear()
            stack.append(view_id)
        return {"ok": True, "view": self._store_view(view_id, body["view"])}

    def _m_views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._open(body, push=False)

    def _m_views_push(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._open(body, push=True)

    def _m_views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view_id = str(body.get("view_id", ""))
        current = self.views.get(view_id)
        if current is None:
            return {"ok": False, "error": "not_found"}
        if body.get("hash") and body["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return {"ok": True, "view": self._store_view(view_id, body["view"])}

    def _m_views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body["user_id"])
        self.home[user] = dict(body["view"])
        self._store_view(f"VH{user}", body["view"])  # its buttons act on it like on a modal
        return {"ok": True, "view": dict(body["view"], id=f"VH{user}")}

    def _m_usergroups_users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        group = str(body.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_conversations_info(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        return {
            "ok": True,
            "channel": {"id": channel, "is_member": channel not in self.not_in_channel},
        }

    def _m_users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user", ""))
        return {"ok": True, "user": {"id": user, "name": user.lower(), "team_id": self.team_id}}


# --------------------------------------------------------------------------------------------
# Socket Mode: apps.connections.open hands out a fresh ws:// URL of a `SocketModeServer`
# --------------------------------------------------------------------------------------------

APP_TOKEN = "xapp-" + "1-standin-app-token"  # built so no token-shaped literal is committed
