"""Forged and malformed requests to ``POST /slack/events``, as an attacker or a broken client
would send them: none of them could have come from Slack, so each must be refused (4xx)
without any effect.

`hostile_requests(rng, ...)` draws them at random from `KINDS` (bad, missing or stale
signatures, bodies over the size limit with or without a length, wrong content types,
malformed form, JSON and ``payload`` JSON, JSON nested 100,000 deep, binary bodies, malformed
lengths and timestamps); `valid_command` is the baseline: a real signed ``/cspm help``.
Used by tests/slack/test_hostile_requests.py (in process, seeded) and
bench/bench_hostile_requests.py (against `cspm-bot serve`).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

MARKER = "HOSTILE-BODY-MARKER"
"""Planted in every hostile body: it must never reach a log line."""
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass
class HostileRequest:
    """One request: `declared_length` None sends the real length, "" sends none (chunked)."""

    kind: str
    body: bytes
    content_type: str | None
    headers: dict[str, str] = field(default_factory=dict)
    declared_length: str | None = None

    @property
    def chunked(self) -> bool:
        """True when the body goes without a Content-Length (chunked transfer encoding)."""
        return self.declared_length == ""


class Signer:
    """Signs bodies the way Slack does (v0 HMAC-SHA256 over ``v0:<ts>:<body>``)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two signature headers for `body` (any bytes) at `timestamp` (now by default)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.secret, b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def command_body(rng: random.Random, text: str = "help", team: str = "T0STANDIN") -> bytes:
    """A slash command's form body (response_url pointing nowhere useful)."""
    return urlencode(
        {
            "team_id": team,
            "channel_id": "C0GENERAL",
            "user_id": "U0READER1",
            "command": "/cspm",
            "text": text,
            "response_url": f"http://127.0.0.1:9/hooks/{rng.randrange(10**9)}",
            "trigger_id": f"{rng.randrange(10**9)}.{MARKER}",
        }
    ).encode()


def valid_command(signer: Signer, rng: random.Random, response_url: str) -> HostileRequest:
    """The baseline: a correctly signed ``/cspm help`` answered through `response_url`."""
    body = urlencode(
        {
            "team_id": "T0STANDIN",
            "channel_id": "C0GENERAL",
            "user_id": "U0READER1",
            "command": "/cspm",
            "text": "help",
            "response_url": response_url,
            "trigger_id": f"{rng.randrange(10**9)}.1",
        }
    ).encode()
    return HostileRequest("valid", body, FORM, signer.headers(body))


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _binary(rng: random.Random, size: int) -> bytes:
    data = bytes(rng.randrange(256) for _ in range(size))
    return data + MARKER.encode() + b"\xff\xfe"


Maker = Callable[[random.Random, Signer, int], HostileRequest]


def _unsigned(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    return HostileRequest("unsigned", command_body(rng), FORM)


def _bad_signature(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    headers = s.headers(body)
    headers["X-Slack-Signature"] = "v0=" + "".join(
        rng.choice("0123456789abcdef") for _ in range(64)
    )
    return HostileRequest("bad signature", body, FORM, headers)


def _signature_of_other_body(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    return HostileRequest("other body's signature", body, FORM, s.headers(command_body(rng)))


def _wrong_secret(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    return HostileRequest(
        "wrong secret", body, FORM, Signer(f"not-it-{rng.random()}").headers(body)
    )


def _stale(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    offset = rng.choice([-1, 1]) * rng.randrange(301, 10**7)
    return HostileRequest("stale timestamp", body, FORM, s.headers(body, int(time.time()) + offset))


def _malformed_timestamp(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    headers = s.headers(body)
    headers["X-Slack-Request-Timestamp"] = (
        rng.choice(["", "abc", "1e9", "-5", "9" * 40, " 1 ", "0x10", "١٢٣"])
        .encode("utf-8")
        .decode("latin-1")
    )
    return HostileRequest("malformed timestamp", body, FORM, headers)


def _malformed_signature(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    headers = s.headers(body)
    headers["X-Slack-Signature"] = rng.choice(["", "v0=", "v1=" + "a" * 64, "garbage", "v0=" * 50])
    return HostileRequest("malformed signature", body, FORM, headers)


def _huge(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    size = rng.randrange(limit + 1, limit * 5)
    body = (MARKER.encode() * (size // len(MARKER) + 1))[:size]
    signed = rng.random() < 0.5
    return HostileRequest(
        "huge body", body, rng.choice([FORM, JSON]), s.headers(body) if signed else {}
    )


def _huge_chunked(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    request = _huge(rng, s, limit)
    request.kind, request.declared_length = "huge chunked body", ""
    return request


def _lying_length(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    declared = str(rng.randrange(limit + 1, 2**40))
    return HostileRequest("Content-Length over the limit", body, FORM, s.headers(body), declared)


def _malformed_length(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = command_body(rng)
    declared = rng.choice(["abc", "-1", "1e3", "12 34", "9" * 30, "0x20"])
    return HostileRequest("malformed Content-Length", body, FORM, s.headers(body), declared)


def _wrong_content_type(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = rng.choice([command_body(rng), f"<xml>{MARKER}</xml>".encode(), _binary(rng, 64)])
    kind = rng.choice(["text/plain", "application/xml", "multipart/form-data; boundary=x", None])
    return HostileRequest("wrong content type", body, kind)


def _non_json_as_json(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    body = rng.choice([f"not json {MARKER}", "{" + MARKER, f"{{'a': '{MARKER}'}}", "[1, 2"])
    data = body.encode()
    signed = rng.random() < 0.5
    return HostileRequest("non-JSON body as JSON", data, JSON, s.headers(data) if signed else {})


def _malformed_payload(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    payload = rng.choice(
        [f"{{{MARKER}", f'{{"type": "block_actions", "x": {MARKER}}}', "{'a': 1}", "", "[", "nul"]
    )
    data = urlencode({"payload": payload}).encode()
    return HostileRequest("signed malformed payload", data, FORM, s.headers(data))


def _deep_json(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    depth = rng.choice([10_000, 100_000])
    if rng.random() < 0.5:
        data = _deep(depth).encode()
        content_type: str | None = JSON
    else:
        data = urlencode({"payload": _deep(depth)}).encode()
        content_type = FORM
    signed = rng.random() < 0.7
    return HostileRequest(
        "JSON nested 100k deep", data, content_type, s.headers(data) if signed else {}
    )


def _non_object_json(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    doc = rng.choice(["[1, 2, 3]", "42", '"text"', "null", "true", f'["{MARKER}"]'])
    if rng.random() < 0.5:
        data, content_type = doc.encode(), JSON
    else:
        data, content_type = urlencode({"payload": doc}).encode(), FORM
    return HostileRequest("signed JSON that is not an object", data, content_type, s.headers(data))


def _binary_body(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    data = _binary(rng, rng.randrange(1, 4096))
    signed = rng.random() < 0.5
    return HostileRequest(
        "binary body", data, rng.choice([FORM, JSON, None]), s.headers(data) if signed else {}
    )


def _form_garbage(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    alphabet = "&=%+;?#\x00\r\n\t ab" + MARKER
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 600)))
    return HostileRequest("malformed form", text.encode(), FORM)


def _ssl_check(rng: random.Random, s: Signer, limit: int) -> HostileRequest:
    data = f"ssl_check=1&token={MARKER}".encode()
    return HostileRequest("unsigned ssl_check", data, FORM)


KINDS: dict[str, Maker] = {
    "unsigned": _unsigned,
    "bad signature": _bad_signature,
    "other body's signature": _signature_of_other_body,
    "wrong secret": _wrong_secret,
    "stale timestamp": _stale,
    "malformed timestamp": _malformed_timestamp,
    "malformed signature": _malformed_signature,
    "huge body": _huge,
    "huge chunked body": _huge_chunked,
    "Content-Length over the limit": _lying_length,
    "malformed Content-Length": _malformed_length,
    "wrong content type": _wrong_content_type,
    "non-JSON body as JSON": _non_json_as_json,
    "signed malformed payload": _malformed_payload,
    "JSON nested 100k deep": _deep_json,
    "signed JSON that is not an object": _non_object_json,
    "binary body": _binary_body,
    "malformed form": _form_garbage,
    "unsigned ssl_check": _ssl_check,
}
"""Every kind of hostile request, by name."""


def hostile_requests(
    rng: random.Random, signer: Signer, limit: int, count: int, huge_share: float = 0.05
) -> Iterator[HostileRequest]:
    """`count` hostile requests drawn from `KINDS`; bodies over `limit` (the server's limit)
    make up about `huge_share` of them (they are slow to build and send)."""
    huge = {"huge body", "huge chunked body"}
    small = [k for k in KINDS if k not in huge]
    for i in range(count):
        if i < len(KINDS):  # every kind at least once
            name = list(KINDS)[i]
        elif rng.random() < huge_share:
            name = rng.choice(sorted(huge))
        else:
            name = rng.choice(small)
        yield KINDS[name](rng, signer, limit)


class Tripwire(io.RawIOBase):
    """A request body stream that counts what was read from it (for "refused before reading")."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._data.read(-1 if size is None else size)
        self.read_bytes += len(chunk)
        return chunk


def environ_of(request: HostileRequest) -> dict[str, Any]:
    """A WSGI environ for `request` (as granian builds it), its body behind a `Tripwire`."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": Tripwire(request.body),
        "wsgi.input_terminated": True,
    }
    if request.content_type is not None:
        environ["CONTENT_TYPE"] = request.content_type
    if request.declared_length is None:
        environ["CONTENT_LENGTH"] = str(len(request.body))
    elif request.declared_length:
        environ["CONTENT_LENGTH"] = request.declared_length
    else:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    for name, value in request.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call_wsgi(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[int, bytes]:
    """Call a WSGI app once: (status, body)."""
    captured: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
        captured["status"] = int(status.split()[0])
        return lambda data: None

    chunks = app(environ, start_response)
    data = b"".join(chunks)
    return captured["status"], data


def describe(body: bytes) -> str:
    """`body` as JSON text if it is JSON, else its repr (for assertion messages)."""
    try:
        return json.dumps(json.loads(body))
    except ValueError:
        return repr(body[:200])
