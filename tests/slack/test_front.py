"""What `POST /slack/events` checks before Bolt, one rule at a time: the body's length, its
shape, its signature, and the answer a refused request gets. (`test_hostile_requests.py`
throws mixed hostile traffic at the whole bot; this file pins each boundary.)"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier

from bot.playground.slack_emulator import SlackStandIn
from bot.slack.front import (
    READ_CHUNK,
    RefusalLog,
    Refused,
    SlackFront,
    _headers,
    check_signature,
    parse_request,
    read_body,
)

SECRET = "front-test-signing-secret"  # a test value: no Slack app has it
LIMIT = 1000
FORM = "application/x-www-form-urlencoded"


class Stream(io.BytesIO):
    """A request body that records the sizes asked for, giving at most `most` bytes a read."""

    def __init__(self, data: bytes, most: int | None = None) -> None:
        super().__init__(data)
        self.asked: list[int] = []
        self.most = most

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        if self.most is not None and (size is None or size < 0 or size > self.most):
            size = self.most
        return super().read(size)


def env(body: bytes = b"", length: str | None = None, **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "wsgi.input": Stream(body)}
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    environ.update(extra)
    return environ


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.status, refused.value.reason


# --- the body's length ------------------------------------------------------------------------
def test_a_declared_length_is_read_exactly() -> None:
    assert read_body(env(b"hello world", "5"), LIMIT) == b"hello"
    assert read_body(env(b"hello world", " 5 "), LIMIT) == b"hello"
    exact = b"x" * LIMIT
    assert read_body(env(exact, str(LIMIT)), LIMIT) == exact  # exactly the limit: read
    assert read_body(env(b"x", "1"), LIMIT) == b"x"


@pytest.mark.parametrize("length", ["abc", "-1", "5.0", "１２", "1" * 19])
def test_a_malformed_length_is_400(length: str) -> None:
    assert refusal(lambda: read_body(env(b"x", length), LIMIT)) == (
        400,
        "malformed Content-Length",
    )


def test_a_length_over_the_limit_is_413_before_a_byte_is_read() -> None:
    for length in (str(LIMIT + 1), "1" * 18):
        environ = env(b"x" * 10, length)
        assert refusal(lambda environ=environ: read_body(environ, LIMIT)) == (
            413,
            f"body over the {LIMIT}-byte limit",
        )
        assert environ["wsgi.input"].asked == []


@pytest.mark.parametrize(
    "framing",
    [{"HTTP_TRANSFER_ENCODING": "Chunked"}, {"wsgi.input_terminated": True}],
    ids=["chunked", "input-terminated"],
)
def test_a_body_without_a_length_is_read_up_to_the_limit(framing: dict[str, Any]) -> None:
    whole = b"y" * LIMIT
    assert read_body(env(whole, **framing), LIMIT) == whole
    over = env(whole + b"z", **framing)
    assert refusal(lambda: read_body(over, LIMIT)) == (413, f"body over the {LIMIT}-byte limit")


def test_a_post_of_unknown_length_is_411_and_other_methods_have_no_body() -> None:
    assert refusal(lambda: read_body(env(b"abc"), LIMIT)) == (411, "no Content-Length")
    assert refusal(lambda: read_body(env(b"abc", ""), LIMIT)) == (411, "no Content-Length")
    assert read_body(env(b"abc", REQUEST_METHOD="GET"), LIMIT) == b""


def test_nothing_is_read_for_an_empty_body_or_without_a_stream() -> None:
    empty = env(b"abc", "0")
    assert read_body(empty, LIMIT) == b"" and empty["wsgi.input"].asked == []
    assert read_body({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "3"}, LIMIT) == b""


def test_a_body_is_read_in_chunks_until_its_length_or_its_end() -> None:
    size = 3 * READ_CHUNK + 100
    big = env(b"a" * size, str(size))
    assert read_body(big, 10 * READ_CHUNK) == b"a" * size
    assert big["wsgi.input"].asked == [READ_CHUNK, READ_CHUNK, READ_CHUNK, 100]
    trickle = env(b"abcdefgh", "8")
    trickle["wsgi.input"].most = 3  # a slow client: a few bytes per read
    assert read_body(trickle, LIMIT) == b"abcdefgh"
    short = env(b"abc", "8")  # the client promised more than it sent
    assert read_body(short, LIMIT) == b"abc"


# --- the body's shape -------------------------------------------------------------------------
def test_headers_are_the_http_ones_and_the_body_framing() -> None:
    environ = env(
        b"", "5", CONTENT_TYPE=FORM, HTTP_X_SLACK_SIGNATURE="v0=ab", REMOTE_ADDR="10.0.0.1"
    )
    assert _headers(environ) == {
        "content-length": "5",
        "content-type": FORM,
        "x-slack-signature": "v0=ab",
    }


def test_a_form_and_a_json_body_are_read_as_bolt_reads_them() -> None:
    form = urlencode({"command": "/cspm", "text": "projects", "team_id": "T0"}).encode()
    request = parse_request(form, env(CONTENT_TYPE=FORM, QUERY_STRING="a=1"))
    assert request.body == {"command": "/cspm", "text": "projects", "team_id": "T0"}
    assert request.query == {"a": ["1"]}
    payload = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    assert parse_request(payload, env(CONTENT_TYPE=FORM)).body == {"type": "block_actions"}
    event = json.dumps({"type": "event_callback"}).encode()
    typed = env(CONTENT_TYPE="application/json; charset=utf-8")
    assert parse_request(event, typed).body == {"type": "event_callback"}
    spaced = b" " + event  # JSON known by its content type alone, not by its first byte
    assert parse_request(spaced, typed).body == {"type": "event_callback"}


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\xff\xfe", FORM, "body is not UTF-8"),
        (b"{not json", "application/json", "malformed JSON"),
        (b"payload=%7Bnot", FORM, "malformed JSON"),
        (b"[1, 2]", "application/json", "the JSON is not an object"),
        (b" [1]", "application/json; charset=utf-8", "the JSON is not an object"),
        (b"[" * 100_000, "application/json", "JSON nested too deeply"),
        (b'{"team": 5}', "application/json", "malformed body (TypeError)"),
    ],
    ids=["not-utf8", "json", "payload", "not-object", "typed-array", "deep", "bolt-cannot-read"],
)
def test_a_body_slack_could_not_have_sent_is_400(
    body: bytes, content_type: str, reason: str
) -> None:
    environ = env(CONTENT_TYPE=content_type)
    assert refusal(lambda: parse_request(body, environ)) == (400, reason)


# --- the signature ----------------------------------------------------------------------------
class Stopped(Clock):
    """A clock that shows one time."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


def signed(body: str, timestamp: str | None = None, signature: str | None = None) -> Any:
    stamp = str(int(time.time())) if timestamp is None else timestamp
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    headers = {"CONTENT_TYPE": FORM}
    if stamp:
        headers["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = stamp
    if signature != "":
        headers["HTTP_X_SLACK_SIGNATURE"] = sig if signature is None else signature
    return parse_request(body.encode(), env(**headers))


def test_a_fresh_request_signed_with_the_secret_passes() -> None:
    check_signature(SignatureVerifier(SECRET), signed("command=%2Fcspm"))
    almost_stale = str(int(time.time()) - 290)
    check_signature(SignatureVerifier(SECRET), signed("command=%2Fcspm", almost_stale))


def test_the_timestamp_window_is_five_minutes_either_way() -> None:
    stamp = 1_700_000_000
    request = signed("command=%2Fcspm", str(stamp))
    verifier = SignatureVerifier(SECRET, clock=Stopped(stamp))  # the signature itself is good
    for now in (stamp - 300, stamp + 300):  # at the edge: still fresh
        check_signature(verifier, request, clock=lambda now=now: float(now))
    for now in (stamp - 300.5, stamp + 300.5):
        late = refusal(lambda now=now: check_signature(verifier, request, clock=lambda: now))
        assert late == (401, "stale timestamp")


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        ("", None, "unsigned"),
        (None, "", "unsigned"),
        ("12a", None, "malformed timestamp"),
        ("1" * 13, None, "malformed timestamp"),
        ("100000000000", None, "stale timestamp"),  # twelve digits, long ago
        ("old", None, "stale timestamp"),
        ("future", None, "stale timestamp"),
        (None, "v0=" + "0" * 64, "bad signature"),
    ],
)
def test_an_unsigned_malformed_stale_or_forged_request_is_401(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    now = int(time.time())
    stamp = {"old": str(now - 310), "future": str(now + 310)}.get(str(timestamp), timestamp)
    request = signed("command=%2Fcspm", stamp, signature)
    assert refusal(lambda: check_signature(SignatureVerifier(SECRET), request)) == (401, reason)


# --- the answer -------------------------------------------------------------------------------
class Answer:
    """One WSGI call of the front: status line, headers and body."""

    def __init__(self, front: SlackFront, environ: dict[str, Any]) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            self.status, self.headers = status, headers

        self.body = b"".join(front(environ, start_response))


@pytest.fixture
def bolt(slack: SlackStandIn) -> Callable[[], App]:
    """A Bolt app configured as the bot's (answers acks itself), on the Slack stand-in."""

    def make() -> App:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        app = App(signing_secret=SECRET, client=client, process_before_response=True)

        @app.command("/cspm")
        def answer(ack: Any) -> None:
            ack("served")

        return app

    return make


def test_a_refusal_is_answered_and_logged_once_and_bolt_never_sees_it(
    bolt: Callable[[], App], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.front")
    front = SlackFront(bolt(), SECRET, LIMIT)
    big = env(b"x", str(LIMIT + 1), CONTENT_TYPE=FORM, PATH_INFO="/slack/events")
    answer = Answer(front, big)
    body = json.dumps({"error": f"body over the {LIMIT}-byte limit"}).encode()
    assert answer.status == "413 Request Entity Too Large"
    assert answer.headers == [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ]
    assert answer.body == body
    assert front.refusals.total == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.slack.front"]
    assert line == (
        f"refused POST /slack/events: 413 body over the {LIMIT}-byte limit "
        f"(Content-Length {LIMIT + 1}, Content-Type {FORM}, from ?)"
    )
    forged = Answer(front, env(b"command=%2Fcspm", "15", CONTENT_TYPE=FORM))
    assert (forged.status, json.loads(forged.body)) == ("401 Unauthorized", {"error": "unsigned"})
    assert front.refusals.total == 2


def signed_env(body: str) -> dict[str, Any]:
    """The WSGI environ of `body` signed now with the secret."""
    stamp = str(int(time.time()))
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    return env(
        body.encode(),
        str(len(body)),
        CONTENT_TYPE=FORM,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
        HTTP_X_SLACK_SIGNATURE=sig,
    )


def test_a_signed_request_reaches_bolt_and_its_answer_is_passed_on(
    bolt: Callable[[], App],
) -> None:
    front = SlackFront(bolt(), SECRET, LIMIT)
    answer = Answer(front, signed_env("command=%2Fcspm&text=projects&team_id=T0&user_id=U0"))
    assert (answer.status, answer.body) == ("200 OK", b"served")
    assert ("Content-Length", "6") in answer.headers
    assert front.refusals.total == 0


def test_without_a_secret_of_its_own_the_front_leaves_signatures_to_bolt(
    bolt: Callable[[], App], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.front")
    front = SlackFront(bolt(), "", LIMIT)
    answer = Answer(front, env(b"command=%2Fcspm", "15", CONTENT_TYPE=FORM))
    assert answer.status == "401 Unauthorized"  # Bolt refused it
    assert front.refusals.total == 1  # and it was counted as refused
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.slack.front"]
    assert line.startswith("refused POST ?: 401 refused by Bolt (Content-Length 15,")


def test_a_request_bolt_forbids_is_counted_as_refused(bolt: Callable[[], App]) -> None:
    app = bolt()

    @app.middleware
    def forbid(next: Callable[[], Any]) -> BoltResponse:
        return BoltResponse(status=403, body="")

    front = SlackFront(app, "", LIMIT)
    answer = Answer(front, signed_env("command=%2Fcspm&team_id=T0&user_id=U0"))
    assert (answer.status, front.refusals.total) == ("403 Forbidden", 1)


def test_refusal_log_lines_are_capped_per_window_and_summed_up() -> None:
    logger = logging.getLogger("test.front.refusals")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger.addHandler(Keep())
    now = [0.0]
    log = RefusalLog(logger, per_window=2, window=60, clock=lambda: now[0])
    for _ in range(5):
        log.refused(400, "malformed JSON", {})
    assert len(records) == 2 and log.total == 5
    now[0] = 60.0
    log.tick()
    assert records[-1] == "suppressed 3 more refused request line(s) in the last 60 s"
