"""Drive the real Bolt app the way Slack does: signed HTTP requests through the WSGI app.

`SlackDriver` builds slash-command, interactivity and Events API requests exactly as Slack
sends them (form or JSON bodies, ``X-Slack-Signature`` v0 HMAC-SHA256 with a timestamp),
posts them to ``POST /slack/events`` of the WSGI app, and gives interaction payloads a
``response_url`` and ``trigger_id`` served by the `SlackStandIn`. Acks of view submissions
are validated like every other payload, and a ``response_action: update`` is applied to the
stand-in's copy of the view, as Slack would.

`TrackingExecutor` lets a test wait until every listener and background task has finished
(`settle()`), instead of sleeping.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from slack_sdk.signature import SignatureVerifier

from bot.playground.blockkit import validate_api_call
from bot.playground.slack_emulator import SlackStandIn

SIGNING_SECRET = "standin-signing-secret-0123456789abcdef"


class TrackingExecutor(ThreadPoolExecutor):
    """A thread pool that remembers its futures, so tests can wait for all of them."""

    def __init__(self, max_workers: int = 16, name: str = "test") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._futures: list[Future[Any]] = []
        self._flock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()

    def hold(self) -> None:
        """Let tasks submitted from now on wait until `release()` (see `SlackDriver.submit`)."""
        self._gate.clear()

    def release(self) -> None:
        """Let held tasks run."""
        self._gate.set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        gate = self._gate

        def gated() -> Any:
            gate.wait(30)
            return fn(*args, **kwargs)

        future = super().submit(gated)
        with self._flock:
            self._futures.append(future)
        return future

    def submitted(self) -> int:
        """Futures submitted so far (finished or not)."""
        with self._flock:
            return len(self._futures)

    def pending(self) -> int:
        """Futures not finished yet."""
        with self._flock:
            return sum(1 for f in self._futures if not f.done())

    def drain(self, timeout: float = 20.0) -> None:
        """Wait until every submitted future (including ones submitted meanwhile) is done."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.pending()} task(s) still running after {timeout}s")
            time.sleep(0.01)
        with self._flock:
            for f in self._futures:
                exc = f.exception()
                if exc is not None:
                    raise AssertionError(f"a background task raised {exc!r}") from exc


@dataclass
class HttpResult:
    """The HTTP answer of the WSGI app."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON ({} for an empty body)."""
        return json.loads(self.body) if self.body.strip() else {}

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")


def find_elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every element with an action_id anywhere inside a payload (message, view, block)."""
    if isinstance(node, dict):
        if "action_id" in node:
            yield node
        for value in node.values():
            yield from find_elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from find_elements(item)


def find_element(
    payload: Any, action_id: str, match: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """The first element with `action_id` (and `match`) in `payload`; AssertionError if none."""
    for element in find_elements(payload):
        if element["action_id"] == action_id and (match is None or match(element)):
            return element
    raise AssertionError(f"no element {action_id!r} in the payload")


def option_values(element: dict[str, Any]) -> list[str]:
    """The option values of an overflow / select element."""
    return [o["value"] for o in element.get("options", [])]


class SlackDriver:
    """Sends signed Slack requests to the WSGI app and waits for their effects."""

    def __init__(
        self,
        wsgi_app: Callable[..., Any],
        slack: SlackStandIn,
        background: TrackingExecutor | None = None,
        signing_secret: str = SIGNING_SECRET,
        team_id: str | None = None,
    ) -> None:
        self.app = wsgi_app
        self.slack = slack
        self.background = background
        self.executors = (background,) if background is not None else ()
        self.signing_secret = signing_secret
        self.team_id = team_id or slack.team_id
        self.verifier = SignatureVerifier(signing_secret)

    # -- HTTP --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        """Call the WSGI app once."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(body),
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        setup_testing_defaults(environ)
        captured: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> Any:
            captured["status"] = int(status.split()[0])
            captured["headers"] = {k.lower(): v for k, v in response_headers}
            return lambda data: None

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return HttpResult(captured["status"], captured["headers"], data)

    def signed_post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> HttpResult:
        """POST /slack/events signed with the signing secret (or the given signature)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        return self.request(
            "POST",
            "/slack/events",
            body,
            content_type,
            {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig},
        )

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until every listener and background task has finished."""
        deadline = time.monotonic() + timeout
        while True:
            for executor in self.executors:
                executor.drain(max(0.1, deadline - time.monotonic()))
            if not any(e.pending() for e in self.executors):
                return

    # -- Slack request shapes ----------------------------------------------------------------

    def command_body(
        self, text: str, user: str, channel: str = "C0GENERAL", command: str = "/cspm"
    ) -> bytes:
        """A slash command's form body."""
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": self.team_id,
                "team_domain": "standin",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0CSPM",
                "is_enterprise_install": "false",
                "response_url": self.slack.new_response_url(),
                "trigger_id": self.slack.new_trigger_id(),
            }
        ).encode()

    def command(
        self, text: str, user: str, channel: str = "C0GENERAL", settle: bool = True
    ) -> HttpResult:
        """Run ``/cspm <text>`` as `user` in `channel`."""
        result = self.signed_post(
            self.command_body(text, user, channel), "application/x-www-form-urlencoded"
        )
        if settle:
            self.settle()
        return result

    def interaction(self, payload: dict[str, Any], settle: bool = True) -> HttpResult:
        """POST an interactivity payload (block_actions, view_submission, ...)."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        result = self.signed_post(body, "application/x-www-form-urlencoded")
        if settle:
            self.settle()
        return result

    def _base(self, kind: str, user: str) -> dict[str, Any]:
        return {
            "type": kind,
            "team": {"id": self.team_id, "domain": "standin"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0CSPM",
            "token": "legacy-verification-token",
            "trigger_id": self.slack.new_trigger_id(),
            "is_enterprise_install": False,
        }

    def click_in_message(
        self,
        message: dict[str, Any],
        action_id: str,
        user: str,
        *,
        channel: str = "C0GENERAL",
        ts: str | None = None,
        option_value: str | None = None,
        match: Callable[[dict[str, Any]], bool] | None = None,
        settle: bool = True,
    ) -> HttpResult:
        """Press the element `action_id` of a message the bot sent.

        `ts` None means the message was ephemeral (a response_url reply): the payload then
        has ``container.is_ephemeral`` and, like Slack's, no message body.
        """
        element = find_element(message, action_id, match)
        action = self._action(element, option_value)
        payload = self._base("block_actions", user)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts or "1700000000.000001",
            "channel_id": channel,
            "is_ephemeral": ts is None,
        }
        payload.update(
            container=container,
            channel={"id": channel, "name": "general"},
            response_url=self.slack.new_response_url(),
            actions=[action],
            state={"values": {}},
        )
        if ts is not None:
            payload["message"] = dict(message, ts=ts, type="message")
        return self.interaction(payload, settle)

    def click_in_view(
        self,
        view_id: str,
        action_id: str,
        user: str,
        *,
        option_value: str | None = None,
        match: Callable[[dict[str, Any]], bool] | None = None,
        view: dict[str, Any] | None = None,
        settle: bool = True,
    ) -> HttpResult:
        """Press the element `action_id` in a modal (by view id) or a user's Home (by user id).

        `view` overrides what the payload carries (e.g. a stale copy with an old hash).
        """
        if view is None:
            if view_id in self.slack.views:
                view = self.slack.views[view_id]
            else:
                view = dict(self.slack.home[view_id], id=f"VH{view_id}", hash="home")
        element = find_element(view, action_id, match)
        payload = self._base("block_actions", user)
        payload.update(
            container={"type": "view", "view_id": view["id"]},
            view=view,
            actions=[self._action(element, option_value)],
            state={"values": {}},
        )
        return self.interaction(payload, settle)

    @staticmethod
    def _action(element: dict[str, Any], option_value: str | None) -> dict[str, Any]:
        action: dict[str, Any] = {
            "action_id": element["action_id"],
            "block_id": element.get("block_id", "blk"),
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            if "value" in element:
                action["value"] = element["value"]
            action["text"] = element["text"]
        elif element["type"] in ("overflow", "static_select"):
            values = option_values(element)
            chosen = option_value if option_value is not None else values[0]
            assert chosen in values, f"{chosen!r} is not an option of {element['action_id']}"
            action["selected_option"] = next(o for o in element["options"] if o["value"] == chosen)
        return action

    def submit(
        self, view_id: str, values: dict[str, str], user: str, settle: bool = True
    ) -> HttpResult:
        """Submit the modal `view_id` with plain-text / select `values` keyed by block_id.

        The ack is validated; a ``response_action: update`` replaces the stand-in's view.
        """
        view = self.slack.views[view_id]
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"])
            if element["type"] == "static_select":
                chosen = next((o for o in element["options"] if o["value"] == value), None)
                entry: dict[str, Any] = {"type": "static_select", "selected_option": chosen}
            else:
                entry = {"type": element["type"], "value": value}
            state[block["block_id"]] = {element["action_id"]: entry}
        payload = self._base("view_submission", user)
        payload["view"] = dict(view, state={"values": state})
        # Slack applies the ack's view before any later views.update can reach it: hold the
        # background work until the ack is applied to the stand-in's copy.
        if self.background is not None:
            self.background.hold()
        try:
            result = self.interaction(payload, settle=False)
            ack = result.json() if result.status == 200 else {}
            if ack:
                validate_api_call("view_submission", ack)
                if ack.get("response_action") == "update":
                    self.slack.replace_view(view_id, ack["view"])
        finally:
            if self.background is not None:
                self.background.release()
        if settle:
            self.settle()
        return result

    def event(self, event: dict[str, Any], team_id: str | None = None) -> HttpResult:
        """POST an Events API callback."""
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": team_id or self.team_id,
                "api_app_id": "A0CSPM",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
            }
        ).encode()
        result = self.signed_post(body, "application/json")
        self.settle()
        return result
