"""Shared helpers: text safety, dates, badges, help and error replies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import JobStatus, ScanStatus
from bot.errors import InputError
from bot.views import common
from bot.views.common import (
    COMMANDS,
    code_block,
    duration,
    error_message,
    escape,
    help_message,
    join_limited,
    md,
    parse_status_filter,
    slack_date,
    status_badge,
    status_line,
    truncate,
    usage_message,
    user_ref,
)
from tests.support import assert_valid_message
from tests.support.query import all_text


def test_status_badges_use_the_domain_emoji_and_label() -> None:
    assert status_badge(ScanStatus.FAILED) == ":red_circle: Failed"
    assert status_badge(ScanStatus.STOPPED) == ":white_circle: Stopped"
    assert status_badge(None) == ":heavy_minus_sign: Never scanned"
    assert status_line(ScanStatus.PARTIALLY_COMPLETED, "2 of 5 jobs failed") == (
        ":large_orange_circle: Partially Completed — 2 of 5 jobs failed"
    )
    assert status_line(ScanStatus.COMPLETED, "  ") == ":large_green_circle: Completed"
    assert {common.job_badge(s).split()[0] for s in JobStatus}.__len__() == len(JobStatus)


def test_escape_and_md() -> None:
    assert escape("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"
    assert md("a\n\nb   c") == "a b c"
    assert md("a\nb", single_line=False) == "a\nb"
    assert md("&&&&&", 8) == "&amp;…"  # never half an entity
    assert md("abcdef", 4) == "abc…"


@given(st.text(max_size=400), st.integers(min_value=1, max_value=300))
def test_md_is_bounded_and_never_unescaped(text: str, limit: int) -> None:
    out = md(text, limit)
    assert len(out) <= limit
    assert "<" not in out and ">" not in out
    body = out.removesuffix("…")
    # every & starts a complete entity
    for i, ch in enumerate(body):
        if ch == "&":
            assert body[i:].startswith(("&amp;", "&lt;", "&gt;"))


@given(st.text(max_size=200), st.integers(min_value=1, max_value=100))
def test_truncate(text: str, limit: int) -> None:
    out = truncate(text, limit)
    assert len(out) <= limit
    assert out == text or out.endswith("…")


@given(
    st.lists(st.text(alphabet="abc XYZ&;*", min_size=1, max_size=80), max_size=60),
    st.integers(20, 2000),
)
def test_join_limited_is_bounded_and_counts_the_rest(lines: list[str], limit: int) -> None:
    out = join_limited(lines, limit)
    assert len(out) <= limit
    if out.endswith(" more") and "…and " in out.splitlines()[-1]:
        shown = len(out.splitlines()) - 1
        assert out.splitlines()[-1] == f"…and {len(lines) - shown} more"


def test_code_block_cannot_be_closed_early() -> None:
    block = code_block("a```b" + "x" * 100, 50)
    assert block.startswith("```") and block.endswith("```") and block.count("```") == 2
    assert len(block) <= 50
    assert code_block("   ", 20) == "```(empty)```"


def test_slack_date() -> None:
    dt = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert slack_date(dt) == "<!date^1714564800^{date_short_pretty} {time}|2024-05-01 12:00 UTC>"
    naive = datetime(2024, 5, 1, 12, 0)
    assert slack_date(naive) == slack_date(dt)
    cest = dt.astimezone(timezone(timedelta(hours=2)))
    assert slack_date(cest) == slack_date(dt)
    assert slack_date(None) == "—"


def test_duration() -> None:
    t = datetime(2024, 5, 1, tzinfo=UTC)
    assert duration(t, t + timedelta(seconds=42)) == "42s"
    assert duration(t, t + timedelta(minutes=3, seconds=12)) == "3m 12s"
    assert duration(t, t + timedelta(hours=2, minutes=5)) == "2h 5m"
    assert duration(t, None) == ""
    assert duration(t, t - timedelta(seconds=5)) == "0s"


def test_user_ref() -> None:
    assert user_ref("U024BE7LH") == "<@U024BE7LH>"
    assert user_ref("W012A3CDE") == "<@W012A3CDE>"
    assert user_ref("cli:alice") == "cli:alice"
    assert user_ref("<!channel>") == "&lt;!channel&gt;"
    assert user_ref(None) == "the scheduler"


@pytest.mark.parametrize(
    ("word", "status"),
    [("", None), ("all", None), ("failed", ScanStatus.FAILED),
     ("Partial", ScanStatus.PARTIALLY_COMPLETED),
     ("partially  completed", ScanStatus.PARTIALLY_COMPLETED), ("running", ScanStatus.RUNNING),
     ("STOPPED", ScanStatus.STOPPED), ("queued", ScanStatus.QUEUED),
     ("completed", ScanStatus.COMPLETED)],
)  # fmt: skip
def test_parse_status_filter(word: str, status: ScanStatus | None) -> None:
    assert parse_status_filter(word) == status


def test_parse_status_filter_rejects_unknown_words() -> None:
    with pytest.raises(InputError, match="Use one of: all, queued"):
        parse_status_filter("broken")


def test_help_lists_every_subcommand() -> None:
    payload = help_message()
    assert_valid_message(payload)
    text = all_text(payload)
    for c in COMMANDS:
        assert f"`/cspm {escape(c.usage)}`" in text
    assert "`/cspm history &lt;project&gt;`" in text
    assert "Only Partially Completed and Failed scans have an error log." in text


def test_usage_message_suggests_names() -> None:
    payload = usage_message("No project named “prod-asw”.", ["prod-aws", "prod-aws-eu"])
    assert_valid_message(payload)
    text = all_text(payload)
    assert ":warning: No project named “prod-asw”." in text
    assert "Did you mean `prod-aws`, `prod-aws-eu`?" in text
    assert "Usage:" in text
    assert "Did you mean" not in all_text(usage_message("Unknown subcommand “x”."))


def test_error_message_with_and_without_reference() -> None:
    plain = error_message("A scan of prod-aws is already running.")
    assert_valid_message(plain)
    assert "Reference" not in all_text(plain)
    ref = error_message("Something went wrong.", reference="a1b2c3")
    assert_valid_message(ref)
    assert "Reference: `a1b2c3`" in all_text(ref)
    assert "<!channel>" not in all_text(error_message("<!channel> boom"))


def test_cut_middle_keeps_both_ends_and_never_splits_an_entity() -> None:
    text = common.escape("start (Code) " + "&" * 40 + " the end")
    for limit in range(8, len(text)):
        cut = common.cut_middle(text, limit)
        assert len(cut) <= limit
        assert (cut.startswith("start") and cut.endswith("the end")) or limit < 30
        head, _, tail = cut.partition("…")
        assert not re.search(r"&[a-z]*$", head) and not re.match(r"^[a-z]*;", tail)
    assert common.cut_middle("short", 10) == "short"


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_cut_middle_fits_any_text(text: str, limit: int) -> None:
    cut = common.cut_middle(common.escape(text), limit)
    assert len(cut) <= limit
