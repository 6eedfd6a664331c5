"""Parsing and validating schedules: crontab expressions, time zones, digest cadences.

Every failure raises `InputError` with a message that names the bad part and shows a valid
example. Crontab expressions keep the standard meaning of the day-of-week field (0 and 7 are
Sunday): APScheduler 3 numbers weekdays from Monday, so numbers are translated to names before
`CronTrigger.from_crontab` sees them (APScheduler issue 286).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.errors import InputError

CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_FIELD_HELP = {
    "minute": "0-59",
    "hour": "0-23",
    "day": "1-31",
    "month": "1-12 or jan-dec",
    "day_of_week": "0-7 (0 and 7 are Sunday) or sun-sat",
}
_CRON_NAMES = {
    "minute": "minute",
    "hour": "hour",
    "day": "day-of-month",
    "month": "month",
    "day_of_week": "day-of-week",
}
_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order, 0 = Sunday
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # 0 = Monday (Python, APScheduler)
_WEEKDAY_ALIASES = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "wednes": 2,
    "thur": 3,
    "thurs": 3,
}
_NUMERIC_DOW = re.compile(r"^(\*|\d+)(?:-(\d+))?(?:/(\d+))?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
EXAMPLE_CRON = '"0 6 * * 1-5" (06:00 on weekdays)'


def parse_timezone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """An IANA time zone by name (case-insensitive for the common spellings)."""
    raw = (name or default).strip()
    candidates = [raw, raw.upper(), "/".join(p.capitalize() for p in raw.split("/"))]
    for candidate in candidates:
        if not candidate or ".." in candidate or candidate.startswith("/"):
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    raise InputError(
        f"Unknown time zone {raw!r}. Use an IANA name such as UTC, Europe/Berlin or "
        "America/New_York.",
        {"timezone": "Unknown time zone."},
    )


def _translate_dow_token(token: str) -> list[str]:
    """One comma-separated part of a crontab day-of-week field, as APScheduler names."""
    if re.search(r"[a-z]", token, re.I) or token == "?":
        return [token.lower()]  # names mean the same to APScheduler and crontab
    match = _NUMERIC_DOW.match(token)
    if not match:
        raise ValueError(f"bad day-of-week {token!r}")
    first, last, step = match.groups()
    if first == "*":
        if last is not None:
            raise ValueError(f"bad day-of-week {token!r}")
        start, end = 0, 6
    else:
        start = int(first)
        end = int(last) if last is not None else (7 if step else start)
    inc = int(step) if step else 1
    if not (0 <= start <= 7 and 0 <= end <= 7) or start > end or inc < 1:
        raise ValueError(f"bad day-of-week {token!r}")
    return [_WEEKDAY_NAMES[n % 7] for n in range(start, end + 1, inc)]


def _translate_dow(field: str) -> str:
    if field in ("*", "?"):
        return "*"
    names: list[str] = []
    for token in field.split(","):
        for name in _translate_dow_token(token):
            if name not in names:
                names.append(name)
    return ",".join(names)


def _field_error(name: str, value: str) -> InputError:
    return InputError(
        f"The {_CRON_NAMES[name]} field {value!r} of the schedule is not valid: use "
        f"{_FIELD_HELP[name]}, '*', '*/N', 'A-B' or a comma list. Example: {EXAMPLE_CRON}.",
        {"cron": f"Bad {_CRON_NAMES[name]} field."},
    )


def parse_cron(expr: str, tz: ZoneInfo) -> CronTrigger:
    """A trigger for a standard 5-field crontab expression in a time zone."""
    fields = (expr or "").split()
    if len(fields) != 5:
        raise InputError(
            f"A schedule is a crontab expression of 5 fields (minute hour day month weekday); "
            f"{expr.strip()!r} has {len(fields)}. Example: {EXAMPLE_CRON}.",
            {"cron": "Use 5 fields: minute hour day month weekday."},
        )
    try:
        dow = _translate_dow(fields[4])
    except ValueError:
        raise _field_error("day_of_week", fields[4]) from None
    for name, value in zip(CRON_FIELDS[:4], fields[:4], strict=True):
        try:
            CronTrigger(timezone=tz, **{name: value})
        except ValueError:
            raise _field_error(name, value) from None
    try:
        return CronTrigger.from_crontab(" ".join([*fields[:4], dow]), timezone=tz)
    except ValueError:
        raise _field_error("day_of_week", fields[4]) from None


def check_min_interval(trigger: CronTrigger, now: datetime, minutes: int, what: str) -> None:
    """Refuse a trigger that fires more often than every `minutes` minutes."""
    first = trigger.get_next_fire_time(None, now)
    if first is None:
        raise InputError(f"The {what} never fires.")
    previous = first
    for _ in range(24):  # look at a day's worth of short gaps
        following = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        if following is None:
            return
        if following - previous < timedelta(minutes=minutes):
            raise InputError(
                f"The {what} fires every {int((following - previous).total_seconds() // 60)} "
                f"minute(s); the shortest allowed interval is {minutes} minutes.",
                {"cron": f"Fire at most every {minutes} minutes."},
            )
        previous = following


def latest_fire_at_or_before(
    trigger: CronTrigger, now: datetime, lookback: timedelta
) -> datetime | None:
    """The last time `trigger` fired at or before `now`, looking back at most `lookback`."""
    fire = trigger.get_next_fire_time(None, now - lookback)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


class Cadence(StrEnum):
    """How often a digest is sent."""

    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def length(self) -> timedelta:
        """The nominal length of one period."""
        return timedelta(days=1 if self is Cadence.DAILY else 7)


@dataclass(frozen=True)
class DigestSchedule:
    """When a digest goes out: daily, or weekly on `weekday` (0 = Monday), at hour:minute."""

    cadence: Cadence
    hour: int
    minute: int
    timezone: str = "UTC"
    weekday: int | None = None

    def trigger(self) -> CronTrigger:
        """The APScheduler trigger of this schedule."""
        tz = ZoneInfo(self.timezone)
        if self.cadence is Cadence.WEEKLY:
            return CronTrigger(
                day_of_week=WEEKDAYS[self.weekday or 0],
                hour=self.hour,
                minute=self.minute,
                timezone=tz,
            )
        return CronTrigger(hour=self.hour, minute=self.minute, timezone=tz)

    @property
    def label(self) -> str:
        """E.g. "Daily at 09:00 (Europe/Berlin)" or "Weekly on Monday at 09:00 (UTC)"."""
        when = f"{self.hour:02d}:{self.minute:02d} ({self.timezone})"
        if self.cadence is Cadence.WEEKLY:
            day = (
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            )[self.weekday or 0]
            return f"Weekly on {day} at {when}"
        return f"Daily at {when}"


def parse_time(text: str) -> tuple[int, int]:
    """ "09:00" → (9, 0); 24-hour clock."""
    match = _TIME.match(text.strip())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour <= 23 and minute <= 59:
            return hour, minute
    raise InputError(
        f"{text.strip()!r} is not a time of day: use HH:MM on the 24-hour clock, e.g. 09:00.",
        {"time": "Use HH:MM, e.g. 09:00."},
    )


def parse_weekday(text: str) -> int:
    """ "mon" / "Monday" → 0."""
    key = text.strip().lower()
    if key in _WEEKDAY_ALIASES:
        return _WEEKDAY_ALIASES[key]
    raise InputError(
        f"{text.strip()!r} is not a day of the week: use mon, tue, wed, thu, fri, sat or sun.",
        {"weekday": "Use mon … sun."},
    )


def parse_digest_schedule(words: list[str], default_tz: str = "UTC") -> DigestSchedule:
    """Parse ``daily 09:00 [tz]`` or ``weekly mon 09:00 [tz]`` (already split into words)."""
    if not words:
        raise InputError("Say how often: `daily 09:00 [time zone]` or `weekly mon 09:00 [tz]`.")
    try:
        cadence = Cadence(words[0].lower())
    except ValueError:
        raise InputError(
            f"{words[0]!r} is not a cadence: use `daily 09:00 [tz]` or `weekly mon 09:00 [tz]`."
        ) from None
    rest = words[1:]
    weekday = None
    if cadence is Cadence.WEEKLY:
        if not rest:
            raise InputError("A weekly digest needs a day and a time, e.g. `weekly mon 09:00`.")
        weekday, rest = parse_weekday(rest[0]), rest[1:]
    if not rest:
        raise InputError(f"Give the time of day, e.g. `{cadence.value} 09:00`.")
    hour, minute = parse_time(rest[0])
    if len(rest) > 2:
        raise InputError(f"Unexpected words after the time zone: {' '.join(rest[2:])!r}.")
    tz = parse_timezone(rest[1] if len(rest) > 1 else None, default_tz)
    return DigestSchedule(cadence, hour, minute, tz.key, weekday)
