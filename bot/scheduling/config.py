"""Scheduling settings, read from `bot.settings.Settings` with defaults.

The names below are `Settings` attributes (environment variables in brackets, each in the
README's configuration table); `from_settings` keeps the default of any attribute a settings
object lacks (test doubles). The last three have no environment variable.

- alert_mention (CSPM_ALERT_MENTION): a user group to mention in alerts, ``S0123ABCD`` or
  ``<!subteam^S0123ABCD>``; unset: no mention.
- retry_max_attempts (CSPM_RETRY_MAX_ATTEMPTS, 3): automatic retries of a temporary failure.
- retry_base_seconds (CSPM_RETRY_BASE_SECONDS, 60) and retry_factor (CSPM_RETRY_FACTOR, 2):
  retry n waits base * factor**(n-1) seconds.
- support_failure_streak (CSPM_SUPPORT_FAILURE_STREAK, 3): failures in a row that make a
  support case.
- support_new_connector_hours (CSPM_SUPPORT_NEW_CONNECTOR_HOURS, 24): a connector younger than
  this that fails authentication makes a support case.
- scheduler_lease_seconds (CSPM_SCHEDULER_LEASE_SECONDS, 30): lease time-to-live; renewed every
  third of it.
- scan_schedule_min_minutes (CSPM_SCAN_SCHEDULE_MIN_MINUTES, 15): the shortest interval a scan
  schedule may have.
- digest_default_timezone (CSPM_DIGEST_TIMEZONE, "UTC"): time zone of a subscription that names
  none.
- slack_channel_interval_seconds (1.0): pacing of messages per channel; slack_max_attempts
  (6): tries per message; followup_sweep_minutes (60): how far back scans that ended
  elsewhere are followed up; scan_misfire_grace_seconds (3600): a scheduled scan later than
  this is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SchedulingConfig:
    """Every knob of scheduling, digests, alerts, retries and delivery."""

    alert_mention: str | None = None
    retry_max_attempts: int = 3
    retry_base_seconds: float = 60.0
    retry_factor: float = 2.0
    support_failure_streak: int = 3
    support_new_connector_hours: float = 24.0
    scheduler_lease_seconds: float = 30.0
    scan_schedule_min_minutes: int = 15
    scan_misfire_grace_seconds: int = 3600
    digest_default_timezone: str = "UTC"
    slack_channel_interval_seconds: float = 1.0
    slack_max_attempts: int = 6
    followup_sweep_minutes: int = 60

    @classmethod
    def from_settings(cls, settings: Any) -> SchedulingConfig:
        """Read the values the settings object has; keep the defaults for the others."""
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = getattr(settings, name, None)
            if value is not None:
                values[name] = value
        return cls(**values)
