"""Bad input through the real Bolt app and the Slack stand-in: ids beyond the database's
integer range, user text with Slack markup, and property-based fuzzing of ``/cspm`` text and
of every modal field. Each gets a clear reply (never a traceback, a 500 or "Something went
wrong"), every payload passes Block Kit validation (the stand-in checks each one), and the
plain-text ``text`` of every reply escapes user input as its blocks do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import ids
from bot.domain import JobStatus, ScanStatus
from tests.support.query import all_text
from tests.support.slackbot import (
    ADMIN,
    AUTH_ERROR,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BROKEN = ("Something went wrong", "the details were logged", "Traceback")
"""What an unexpected failure shows (the answer of an error nobody handled)."""
HUGE = "999999999999999999999999"


def _replies(bot: Bot, since: int) -> Iterator[dict[str, Any]]:
    """The bodies of every message the bot sent (response_url, chat.*) since call `since`."""
    for call in bot.slack.requests[since:]:
        if isinstance(call.body, dict) and ("text" in call.body or "blocks" in call.body):
            yield call.body


def _views(bot: Bot, since: int) -> Iterator[dict[str, Any]]:
    for call in bot.slack.requests[since:]:
        if isinstance(call.body, dict) and isinstance(call.body.get("view"), dict):
            yield call.body["view"]


def _assert_clear(bot: Bot, since: int, what: str) -> None:
    """Every message and view sent since call `since` is a clear answer with safe text."""
    for body in _replies(bot, since):
        shown = all_text(body) + "\n" + str(body.get("text", ""))
        assert not any(b in shown for b in BROKEN), (what, shown)
        assert "<" not in str(body.get("text", "")), (what, body.get("text"))
    for view in _views(bot, since):
        shown = all_text(view)
        assert not any(b in shown for b in BROKEN), (what, shown)


@pytest.fixture
def seeded(bot: Bot) -> Bot:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_scan(bot.rt, "web", ScanStatus.FAILED, [JobSpec("global", JobStatus.FAILED, AUTH_ERROR)])
    return bot


@pytest.mark.parametrize(
    "text",
    [
        f"errors {HUGE}",
        f"errors #{HUGE}",
        "errors 99999999999",
        "errors 9999999999999999999",
        f"findings {HUGE}",
        "findings 99999999999999999",
        f"history {HUGE}",
        f"support {HUGE}",
        f"scan {HUGE}",
        f"stop {HUGE}",
    ],
)
def test_ids_beyond_the_database_range_are_simply_not_found(seeded: Bot, text: str) -> None:
    bot = seeded
    since = len(bot.slack.requests)
    result = bot.driver.command(text, ADMIN)
    assert result.status == 200
    reply = bot.slack.last("response_url").body
    shown = all_text(reply)
    assert "No scan #" in shown or "No project named" in shown, shown
    _assert_clear(bot, since, text)


def test_the_text_fallback_escapes_user_input_like_the_blocks(bot: Bot) -> None:
    bot.driver.command("history <!channel>", ADMIN)
    reply = bot.slack.last("response_url").body
    assert "&lt;!channel&gt;" in all_text(reply)
    assert "<!channel>" not in reply["text"] and "&lt;!channel&gt;" in reply["text"]
    bot.driver.command("findings <@U0ADMIN01> & <https://evil.example|click>", ADMIN)
    text = bot.slack.last("response_url").body["text"]
    assert "<" not in text and "&lt;@U0ADMIN01&gt; &amp; &lt;https://evil" in text


def test_a_key_file_nested_too_deeply_gets_an_inline_error(bot: Bot) -> None:
    view_id = _open_connect_form(bot, "gcp")
    field = ids.connector_field("service_account_json")
    deep = "[" * 1500 + "]" * 1500
    ack = bot.driver.submit(view_id, {ids.ConnectorInput.NAME: "g", field: deep}, ADMIN).json()
    assert ack["response_action"] == "errors"
    assert "nested too deeply" in ack["errors"][field]


def test_a_pasted_key_file_with_a_byte_order_mark_is_read(bot: Bot) -> None:
    view_id = _open_connect_form(bot, "gcp")
    field = ids.connector_field("service_account_json")
    pasted = "\ufeff" + '{"type": "authorized_user"}'
    ack = bot.driver.submit(view_id, {ids.ConnectorInput.NAME: "g", field: pasted}, ADMIN).json()
    assert "service account key" in ack["errors"][field]  # read as JSON, the BOM dropped
    assert "not valid JSON" not in ack["errors"][field]


# --- property-based fuzzing ---------------------------------------------------------------

_NASTY = st.sampled_from(
    [
        "<!channel>", "<!here|here>", "<@U0ADMIN01>", "<#C0GENERAL>", "&amp;", "&lt;", "*_~`",
        HUGE, "#" + HUGE, "99999999999", "-1", "0", "#0", "²", "١٢", "\x00", "\u202e", "\ufeff",
        "🙂" * 3, "'", '"', "“quoted”", " ", "\n", "\t", "x" * 300, "web", "prod-aws", "failed",
    ]
)  # fmt: skip
_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_NASTY, st.text(max_size=12)), max_size=5).map(" ".join),
)
_SUBCOMMANDS = st.sampled_from(
    ["", "help", "projects", "history", "errors", "findings", "scan", "stop", "connectors",
     "support", "digest", "digest subscribe", "digest unsubscribe", "digest list", "ls", "log",
     "connect"]
)  # fmt: skip


@FUZZ
@given(sub=_SUBCOMMANDS, argument=_TEXT)
def test_fuzz_cspm_text(seeded: Bot, sub: str, argument: str) -> None:
    bot = seeded
    text = f"{sub} {argument}"
    since = len(bot.slack.requests)
    result = bot.driver.command(text, ADMIN)
    assert result.status == 200, (text, result.text)
    _assert_clear(bot, since, text)
    bot.slack.assert_clean()


_FIELD_VALUE = st.one_of(
    st.text(max_size=200),
    _NASTY,
    st.lists(_NASTY, max_size=4).map("".join),
    st.text(alphabet='{}[]":,0123456789abcdef-', max_size=300),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
    st.just("\ufeff" + '{"type": "service_account"}'),
)


def _open_connect_form(bot: Bot, provider: str) -> str:
    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    bot.driver.click_in_view(view_id, ids.ConnectorInput.PROVIDER, ADMIN, option_value=provider)
    return view_id


def _inputs(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b.get("type") == "input"]


@FUZZ
@given(provider=st.sampled_from(["aws", "azure", "gcp"]), data=st.data())
def test_fuzz_new_connector_fields(seeded: Bot, provider: str, data: st.DataObject) -> None:
    bot = seeded
    view_id = _open_connect_form(bot, provider)
    values: dict[str, str] = {}
    for block_id in _inputs(bot.slack.views[view_id]):
        if block_id == ids.ConnectorInput.PROVIDER:
            values[block_id] = provider
        else:
            values[block_id] = data.draw(_FIELD_VALUE, label=block_id)
    since = len(bot.slack.requests)
    result = bot.driver.submit(view_id, values, ADMIN)
    assert result.status == 200, result.text
    ack = result.json()
    if ack.get("response_action") == "errors":
        assert all(isinstance(v, str) and v for v in ack["errors"].values())
        assert not any(b in " ".join(ack["errors"].values()) for b in BROKEN)
    _assert_clear(bot, since, str(values))
    assert not any(b in all_text(bot.slack.views[view_id]) for b in BROKEN)
    bot.slack.assert_clean()


@FUZZ
@given(description=_FIELD_VALUE, details=_FIELD_VALUE)
def test_fuzz_support_fields(seeded: Bot, description: str, details: str) -> None:
    bot = seeded
    bot.driver.command("support web", ADMIN)
    modal_id = bot.slack.last("views.open").view_id
    since = len(bot.slack.requests)
    result = bot.driver.submit(
        modal_id,
        {ids.SupportInput.DESCRIPTION: description, ids.SupportInput.DETAILS: details},
        ADMIN,
    )
    assert result.status == 200, result.text
    _assert_clear(bot, since, repr((description, details)))
    bot.slack.assert_clean()
