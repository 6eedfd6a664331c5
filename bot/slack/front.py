"""Requests before Bolt: what ``POST /slack/events`` checks before the Bolt app sees a request.

HTTP mode is open to the internet, so anyone can post anything to it. `SlackFront` is the
WSGI handler of that path, and refuses, in this order and without running any listener:

1. a body larger than ``CSPM_MAX_REQUEST_BYTES`` (413), from its ``Content-Length`` before a
   byte is read; a body without a length is read only up to the limit (chunked requests), and
   a body of unknown length that cannot be bounded gets 411; a malformed length gets 400;
2. a body that is not UTF-8, or that Slack could not have sent: malformed form, JSON or
   ``payload`` JSON, JSON nested too deeply, a JSON document that is not an object (400);
3. a missing, malformed, stale (5-minute window) or wrong signature (401).

Only then is the request dispatched to Bolt (which verifies the signature once more). A
refused request is logged as one line, never with its body, and at most `RefusalLog.per_window`
lines a minute; the rest are counted and summed up in one "suppressed" line once the minute is
over. Bolt's own record of a rejected signature, which holds the whole body, is dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("bot.slack.front")

StartResponse = Callable[..., Any]
READ_CHUNK = 64 * 1024
_SHOWN = 60  # longest header value quoted in a log line


class Refused(Exception):
    """A request refused before Bolt: its HTTP status and why (safe to log and to answer)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _shown(value: object) -> str:
    """A header value fit for one log line: printable ASCII only, and short."""
    text = "".join(c if " " <= c <= "~" else "?" for c in str(value))
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


class RefusalLog:
    """Logs refused requests as one line each, at most `per_window` lines per `window` seconds.

    Refusals past that are counted; the count is logged as one "suppressed" line at the first
    refusal or `tick()` after the window is over.
    """

    def __init__(
        self,
        logger: logging.Logger = log,
        per_window: int = 20,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._logged = 0
        self._suppressed = 0
        self.total = 0
        """Refused requests since this log was made."""

    def _roll(self, now: float) -> None:
        if now - self._start < self.window:
            return
        if self._suppressed:
            self.logger.warning(
                "suppressed %d more refused request line(s) in the last %d s",
                self._suppressed,
                round(now - self._start),
            )
        self._start, self._logged, self._suppressed = now, 0, 0

    def tick(self) -> None:
        """Log the pending "suppressed" summary if its window is over."""
        with self._lock:
            self._roll(self.clock())

    def refused(self, status: int, reason: str, environ: dict[str, Any]) -> None:
        """Record one refused request (method, path, length, content type, client, reason)."""
        with self._lock:
            self.total += 1
            self._roll(self.clock())
            if self._logged >= self.per_window:
                self._suppressed += 1
                return
            self._logged += 1
        self.logger.warning(
            "refused %s %s: %d %s (Content-Length %s, Content-Type %s, from %s)",
            _shown(environ.get("REQUEST_METHOD", "?")),
            _shown(environ.get("PATH_INFO", "?")),
            status,
            reason,
            _shown(environ.get("CONTENT_LENGTH") or "none"),
            _shown(environ.get("CONTENT_TYPE") or "none"),
            _shown(environ.get("REMOTE_ADDR") or "?"),
        )


class _BoltRejectionFilter(logging.Filter):
    """Drops Bolt's "Invalid request signature detected" record: it holds the whole body."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Invalid request signature detected")


def quiet_bolt_rejections() -> None:
    """Install `_BoltRejectionFilter` on Bolt's request-verification logger (idempotent)."""
    bolt_log = logging.getLogger("slack_bolt.RequestVerification")
    if not any(isinstance(f, _BoltRejectionFilter) for f in bolt_log.filters):
        bolt_log.addFilter(_BoltRejectionFilter())


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, at most `limit` bytes; raises `Refused` (400, 411 or 413)."""
    stream = environ.get("wsgi.input")
    declared = environ.get("CONTENT_LENGTH")
    if declared not in (None, ""):
        text = str(declared).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise Refused(400, "malformed Content-Length")
        length = int(text)
        if length > limit:
            raise Refused(413, f"body over the {limit}-byte limit")
        wanted = length
    elif (
        environ.get("wsgi.input_terminated")
        or "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    ):
        wanted = limit + 1  # read up to one byte past the limit
    elif environ.get("REQUEST_METHOD") == "POST":
        raise Refused(411, "no Content-Length")
    else:
        return b""
    if stream is None or wanted == 0:
        return b""
    chunks: list[bytes] = []
    got = 0
    while got < wanted:
        chunk = stream.read(min(READ_CHUNK, wanted - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if got > limit:  # only a body without a declared length can get here
        raise Refused(413, f"body over the {limit}-byte limit")
    return b"".join(chunks)


def _headers(environ: dict[str, Any]) -> dict[str, str | Sequence[str]]:
    headers: dict[str, str | Sequence[str]] = {}
    for key, value in environ.items():
        if key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            headers[key.lower().replace("_", "-")] = str(value)
        elif key.startswith("HTTP_"):
            headers[key[5:].lower().replace("_", "-")] = str(value)
    return headers


def parse_request(body: bytes, environ: dict[str, Any]) -> BoltRequest:
    """The body as Bolt reads it; raises `Refused` (400) when Slack could not have sent it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    headers = _headers(environ)
    content_type = str(headers.get("content-type", "")).split(";")[0] or None
    try:
        parsed = parse_body(text, content_type)  # exactly as Bolt will read it
    except RecursionError:
        raise Refused(400, "JSON nested too deeply") from None
    except ValueError:  # json.JSONDecodeError included
        raise Refused(400, "malformed JSON") from None
    if not isinstance(parsed, dict):
        raise Refused(400, "the JSON is not an object")
    try:
        return BoltRequest(body=text, query=str(environ.get("QUERY_STRING") or ""), headers=headers)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        raise Refused(400, f"malformed body ({type(exc).__name__})") from None


def check_signature(
    verifier: SignatureVerifier, request: BoltRequest, clock: Callable[[], float] = time.time
) -> None:
    """Raise `Refused` (401) unless `request` carries a valid Slack signature made at most
    five minutes before or after `clock()`."""
    timestamp = request.headers.get("x-slack-request-timestamp", [""])[0]
    signature = request.headers.get("x-slack-signature", [""])[0]
    if not timestamp or not signature:
        raise Refused(401, "unsigned")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Refused(401, "malformed timestamp")
    if abs(clock() - int(timestamp)) > 60 * 5:
        raise Refused(401, "stale timestamp")
    if not verifier.is_valid(request.raw_body, timestamp, signature):
        raise Refused(401, "bad signature")


def _answer(
    start_response: StartResponse, status: int, headers: dict[str, Any], body: str
) -> list[bytes]:
    data = body.encode("utf-8")
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    pairs = [
        (name, str(v))
        for name, values in headers.items()
        if name.lower() != "content-length"
        for v in (values if isinstance(values, list | tuple) else [values])
    ]
    pairs.append(("Content-Length", str(len(data))))
    start_response(f"{status} {phrase}".strip(), pairs)
    return [data]


class SlackFront:
    """The WSGI handler of ``POST /slack/events``: refuse what Slack could not have sent, then
    dispatch the rest to the Bolt app."""

    def __init__(
        self,
        bolt_app: App,
        signing_secret: str,
        max_bytes: int,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.bolt_app = bolt_app
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.max_bytes = max_bytes
        self.refusals = refusals or RefusalLog()
        quiet_bolt_rejections()

    def refuse(
        self, start_response: StartResponse, environ: dict[str, Any], status: int, reason: str
    ) -> list[bytes]:
        """Answer `status` with a short JSON error and log the refusal (rate-limited)."""
        self.refusals.refused(status, reason, environ)
        headers = {"Content-Type": "application/json"}
        return _answer(start_response, status, headers, json.dumps({"error": reason}))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = read_body(environ, self.max_bytes)
            request = parse_request(body, environ)
            if self.verifier is not None:
                check_signature(self.verifier, request)
        except Refused as refused:
            return self.refuse(start_response, environ, refused.status, refused.reason)
        response: BoltResponse = self.bolt_app.dispatch(request)
        if response.status in (401, 403):
            self.refusals.refused(response.status, "refused by Bolt", environ)
        return _answer(start_response, response.status, response.headers, response.body)
