"""Schedules as users type them: crontab expressions, time zones and digest cadences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InputError
from bot.scheduling.cron import (
    Cadence,
    check_min_interval,
    latest_fire_at_or_before,
    parse_cron,
    parse_digest_schedule,
    parse_timezone,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


def test_weekday_numbers_keep_their_crontab_meaning() -> None:
    # APScheduler 3 numbers weekdays from Monday; crontab's 0 and 7 are Sunday.
    sunday = parse_cron("0 6 * * 0", ZoneInfo("UTC")).get_next_fire_time(None, NOW)
    assert sunday is not None and sunday.weekday() == 6
    assert parse_cron("0 6 * * 7", ZoneInfo("UTC")).get_next_fire_time(None, NOW) == sunday
    weekdays = parse_cron("0 6 * * 1-5", ZoneInfo("UTC"))
    fires, t = [], NOW
    for _ in range(5):
        t = weekdays.get_next_fire_time(t, t + timedelta(microseconds=1))
        fires.append(t.weekday())
    assert fires == [3, 4, 0, 1, 2]  # Thu, Fri, Mon, Tue, Wed
    assert parse_cron("0 6 * * */2", ZoneInfo("UTC")).get_next_fire_time(None, NOW).weekday() == 3


def test_names_and_time_zones() -> None:
    berlin = parse_cron("30 9 * * mon-fri", parse_timezone("europe/berlin"))
    fire = berlin.get_next_fire_time(None, NOW)
    assert fire is not None
    assert (fire.hour, fire.minute) == (9, 30) and str(fire.tzinfo) == "Europe/Berlin"
    assert parse_timezone("utc").key == "UTC"


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 6 * *", "5 fields"),
        ("61 6 * * *", "minute field '61'"),
        ("0 24 * * *", "hour field '24'"),
        ("0 6 32 * *", "day-of-month field '32'"),
        ("0 6 * 13 *", "month field '13'"),
        ("0 6 * * 8", "day-of-week field '8'"),
        ("*/0 6 * * *", "minute field '*/0'"),
        ("a b c d e", "minute field 'a'"),
    ],
)
def test_bad_expressions_name_the_bad_field(expr: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        parse_cron(expr, ZoneInfo("UTC"))
    assert words in err.value.message
    assert "Example" in err.value.message


def test_unknown_time_zone() -> None:
    with pytest.raises(InputError, match="Unknown time zone 'Mars/Olympus'"):
        parse_timezone("Mars/Olympus")
    with pytest.raises(InputError):
        parse_timezone("../../etc/passwd")


def test_too_frequent_schedules_are_refused() -> None:
    with pytest.raises(InputError, match="every 5 minute"):
        check_min_interval(parse_cron("*/5 * * * *", ZoneInfo("UTC")), NOW, 15, "schedule")
    check_min_interval(parse_cron("*/15 * * * *", ZoneInfo("UTC")), NOW, 15, "schedule")


def test_latest_fire() -> None:
    daily = parse_cron("0 9 * * *", ZoneInfo("UTC"))
    assert latest_fire_at_or_before(daily, NOW, timedelta(days=2)) == NOW.replace(hour=9)
    assert latest_fire_at_or_before(daily, NOW.replace(hour=8), timedelta(hours=1)) is None


def test_digest_schedules() -> None:
    daily = parse_digest_schedule(["daily", "09:00", "Europe/Berlin"])
    assert (daily.cadence, daily.hour, daily.minute, daily.timezone) == (
        Cadence.DAILY,
        9,
        0,
        "Europe/Berlin",
    )
    assert daily.label == "Daily at 09:00 (Europe/Berlin)"
    weekly = parse_digest_schedule(["weekly", "Monday", "7:30"])
    assert weekly.weekday == 0 and weekly.timezone == "UTC"
    assert weekly.label == "Weekly on Monday at 07:30 (UTC)"
    fire = weekly.trigger().get_next_fire_time(None, NOW)
    assert fire is not None and fire.weekday() == 0 and (fire.hour, fire.minute) == (7, 30)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "how often"),
        (["hourly", "09:00"], "not a cadence"),
        (["daily"], "time of day"),
        (["daily", "25:00"], "not a time of day"),
        (["daily", "9"], "not a time of day"),
        (["weekly", "09:00"], "not a day of the week"),
        (["weekly", "funday", "09:00"], "not a day of the week"),
        (["daily", "09:00", "Nowhere/Town"], "Unknown time zone"),
        (["daily", "09:00", "UTC", "extra"], "Unexpected words"),
    ],
)
def test_bad_digest_schedules(words: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_digest_schedule(words)
