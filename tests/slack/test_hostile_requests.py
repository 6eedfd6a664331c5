"""Requests before Bolt: oversized, malformed, forged and unsigned requests to
``POST /slack/events`` of the production WSGI app are refused with 4xx before any listener
runs, leave no row and make no Slack call, and cost the log one short line each (rate-limited),
never their body."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack.front import RefusalLog
from storage.models import Base
from tests.support.hostile import (
    FORM,
    JSON,
    KINDS,
    MARKER,
    HostileRequest,
    Signer,
    Tripwire,
    call_wsgi,
    describe,
    environ_of,
    hostile_requests,
)
from tests.support.slackbot import Bot
from tests.support.slackdriver import SIGNING_SECRET

LIMIT = 8192
SEED = 20261203


def _rows(bot: Bot) -> dict[str, int]:
    with bot.rt.db.read() as s:
        return {m.class_.__name__: s.query(m.class_).count() for m in Base.registry.mappers}


def _slack_calls(bot: Bot) -> list[Any]:
    """The Web API calls the bot made, but the ``auth.test`` Bolt makes when it is built."""
    return [c for c in bot.slack.calls if not c.path.endswith("/auth.test")]


def _send(bot: Bot, request: HostileRequest) -> tuple[int, bytes, Tripwire]:
    environ = environ_of(request)
    status, body = call_wsgi(bot.wsgi, environ)
    return status, body, environ["wsgi.input"]


@pytest.fixture
def small_bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(max_request_bytes=LIMIT)


def _front_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.slack.front"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(small_bot: Bot) -> None:
    body = MARKER.encode() * 10_000
    status, answer, stream = _send(small_bot, HostileRequest("huge", body, JSON))
    assert status == 413 and b"8192-byte limit" in answer
    assert stream.read_bytes == 0
    # without a length (chunked), reading stops one byte past the limit
    status, _, stream = _send(small_bot, HostileRequest("huge", body, FORM, declared_length=""))
    assert status == 413 and stream.read_bytes == LIMIT + 1


def test_the_limit_lets_slack_sized_requests_through(bot: Bot) -> None:
    """The default limit (1 MiB) takes a large, real interaction (a 100 KiB modal state)."""
    signer = Signer(SIGNING_SECRET)
    body = urlencode(
        {"payload": '{"type": "block_suggestion", "value": "' + "x" * 100_000 + '"}'}
    ).encode()
    status, _, _ = _send(bot, HostileRequest("big", body, FORM, signer.headers(body)))
    assert status != 413 and status < 500


@pytest.mark.parametrize(
    ("body", "content_type", "signed", "reason"),
    [
        (b"not json at all", JSON, False, "malformed JSON"),
        (b"{not json", FORM, True, "malformed JSON"),
        (urlencode({"payload": "{malformed"}).encode(), FORM, True, "malformed JSON"),
        (urlencode({"payload": "[1, 2]"}).encode(), FORM, True, "not an object"),
        (b"[1, 2]", JSON, True, "not an object"),
        (('{"a":' * 100_000 + "1" + "}" * 100_000).encode(), JSON, True, "nested too deeply"),
        (b"\xff\xfe binary \x00", FORM, True, "not UTF-8"),
    ],
)
def test_malformed_bodies_get_400(
    bot: Bot, body: bytes, content_type: str, signed: bool, reason: str
) -> None:
    headers = Signer(SIGNING_SECRET).headers(body) if signed else {}
    status, answer, _ = _send(bot, HostileRequest("malformed", body, content_type, headers))
    assert status == 400, describe(answer)
    assert reason in answer.decode()
    bot.settle()
    assert not _slack_calls(bot)


def test_unsigned_stale_and_forged_requests_get_401(bot: Bot) -> None:
    rng = random.Random(SEED)
    signer = Signer(SIGNING_SECRET)
    for kind in ("unsigned", "bad signature", "wrong secret", "stale timestamp",
                 "malformed timestamp", "malformed signature", "unsigned ssl_check"):  # fmt: skip
        status, answer, _ = _send(bot, KINDS[kind](rng, signer, LIMIT))
        assert status == 401, (kind, describe(answer))
    bot.settle()
    assert not _slack_calls(bot)


def test_a_refusal_is_one_line_without_the_body_and_bolt_logs_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = f"text=help&trigger_id={MARKER}".encode()
    status, _, _ = _send(bot, HostileRequest("unsigned", body, FORM))
    assert status == 401
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(records) == 1, [r.getMessage() for r in records]
    line = records[0].getMessage()
    assert line.startswith("refused POST /slack/events: 401 unsigned") and "\n" not in line
    assert MARKER not in caplog.text and "Invalid request signature" not in caplog.text


def test_refusal_lines_are_rate_limited_with_a_summary() -> None:
    now = [0.0]
    logger = logging.getLogger("test.refusals")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep()
    logger.addHandler(handler)
    try:
        refusals = RefusalLog(logger, per_window=5, window=60.0, clock=lambda: now[0])
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events"}
        for _ in range(100):
            refusals.refused(401, "unsigned", environ)
        assert len(records) == 5
        now[0] = 61.0
        refusals.tick()
        assert records[-1] == "suppressed 95 more refused request line(s) in the last 61 s"
        refusals.tick()  # nothing more to say
        assert len(records) == 6 and refusals.total == 100
    finally:
        logger.removeHandler(handler)


def test_random_hostile_requests_are_all_refused_without_effect(
    small_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """300 seeded random forged or malformed requests: 4xx each, no row, no Slack call, no
    listener work queued, and the log grows by at most the rate limit's lines."""
    caplog.set_level(logging.DEBUG)
    bot = small_bot
    rows = _rows(bot)
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    for request in hostile_requests(rng, Signer(SIGNING_SECRET), LIMIT, 300, huge_share=0.05):
        status, answer, stream = _send(bot, request)
        statuses[status] += 1
        assert 400 <= status < 500, (request.kind, status, describe(answer))
        if request.declared_length not in (None, "") or len(request.body) > LIMIT:
            assert stream.read_bytes <= LIMIT + 1, request.kind
    bot.settle()
    assert set(statuses) <= {400, 401, 411, 413}, statuses
    assert statuses[401] and statuses[400] and statuses[413]
    assert not _slack_calls(bot)
    assert bot.driver.background is not None and bot.driver.background.submitted() == 0
    assert _rows(bot) == rows
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) <= RefusalLog().per_window, [r.getMessage() for r in lines]
    assert all(r.name == "bot.slack.front" for r in lines)
    assert MARKER not in caplog.text and "Traceback" not in caplog.text
    assert all(len(r.getMessage()) < 400 for r in lines)


def test_valid_requests_still_work_after_hostile_ones(bot: Bot) -> None:
    rng = random.Random(SEED)
    for request in hostile_requests(rng, Signer(SIGNING_SECRET), LIMIT, 40, huge_share=0):
        assert 400 <= _send(bot, request)[0] < 500
    result = bot.driver.command("help", "U0READER1")
    assert result.status == 200
    assert "/cspm projects" in bot.slack.wait_for("response_url")[0].text()
