"""Shared body of the CloudWatch "log metric filter and alarm" checks (CIS AWS 4.1-4.15).

A control passes when the CloudWatch Logs group of a logging multi-region trail has a metric
filter whose pattern names every required term, and an alarm on that filter's metric has at
least one action (normally an SNS topic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckResult
from bot.providers.aws.checks._common import collected
from bot.providers.aws.checks._trails import PERMISSIONS as _TRAIL_PERMISSIONS
from bot.providers.aws.checks._trails import region_trails

PERMISSIONS = (*_TRAIL_PERMISSIONS, "logs:DescribeMetricFilters", "cloudwatch:DescribeAlarms")

SEMANTICS = (
    "Passes when the CloudWatch Logs group of a logging multi-region trail has a metric filter "
    "whose pattern contains every term of the benchmark's pattern (spaces and quotes ignored) "
    "and an alarm on that metric has an action."
)


@dataclass(frozen=True)
class MetricFilter:
    """A metric filter on a trail's log group, with the alarms (with actions) on its metric."""

    trail: str
    log_group: str
    name: str
    pattern: str
    alarms: tuple[str, ...]


def normalise(pattern: str) -> str:
    """A filter pattern without whitespace and double quotes, for term matching."""
    return "".join(pattern.split()).replace('"', "")


def event_terms(*names: str, source: str | None = None) -> tuple[str, ...]:
    """The terms a pattern must contain: `$.eventName=Name` each, and the event source."""
    terms = tuple(f"$.eventName={n}" for n in names)
    return ((f"$.eventSource={source}",) if source else ()) + terms


def _log_group(arn: str) -> tuple[str, str]:
    """(region, name) of a log group ARN arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*."""
    parts = arn.split(":")
    if len(parts) < 7:
        return "", ""
    return parts[3], parts[6]


def _alarms(session: Any, region: str) -> dict[tuple[str, str], list[str]]:
    """(namespace, metric) → names of the region's metric alarms that have an action, read
    once per region and scan session."""

    def collect() -> dict[tuple[str, str], list[str]]:
        cloudwatch = session.client("cloudwatch", region)
        found: dict[tuple[str, str], list[str]] = {}
        pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
        for page in pages:
            for alarm in page.get("MetricAlarms", []):
                if alarm.get("AlarmActions"):
                    key = (str(alarm.get("Namespace")), str(alarm.get("MetricName")))
                    found.setdefault(key, []).append(str(alarm["AlarmName"]))
        return found

    got: dict[tuple[str, str], list[str]] = collected(
        session, f"cloudwatch.alarms:{region}", collect
    )
    return got


def metric_filters(session: Any) -> list[MetricFilter]:
    """The metric filters (and their alarms) of every logging multi-region trail's log
    group, read once per scan session."""

    def collect() -> list[MetricFilter]:
        found = []
        for trail in region_trails(session, session.default_region):
            if not (trail.multi_region and trail.logging and trail.log_group_arn):
                continue
            region, group = _log_group(trail.log_group_arn)
            if not group:
                continue
            logs = session.client("logs", region)
            filters = []
            for page in logs.get_paginator("describe_metric_filters").paginate(logGroupName=group):
                filters.extend(page.get("metricFilters", []))
            alarms = _alarms(session, region)
            for item in filters:
                watching = sorted(
                    {
                        name
                        for metric in item.get("metricTransformations", [])
                        for name in alarms.get(
                            (str(metric.get("metricNamespace")), str(metric.get("metricName"))),
                            [],
                        )
                    }
                )
                found.append(
                    MetricFilter(
                        trail=trail.name,
                        log_group=group,
                        name=str(item.get("filterName")),
                        pattern=str(item.get("filterPattern") or ""),
                        alarms=tuple(watching),
                    )
                )
        return found

    return list(collected(session, "cloudwatch.metric_filters", collect))


def judge(
    filters: Iterable[MetricFilter], terms: Sequence[str], account_id: str
) -> list[CheckResult]:
    """One account result: pass when a filter has every term and an alarm with actions."""
    wanted = [normalise(t) for t in terms]
    matching = [f for f in filters if all(t in normalise(f.pattern) for t in wanted)]
    alarmed = [f for f in matching if f.alarms]
    if alarmed:
        best = alarmed[0]
        detail = (
            f"Filter {best.name} on {best.log_group} (trail {best.trail}) with alarm "
            f"{', '.join(best.alarms)}."
        )
    elif matching:
        detail = f"Filter {matching[0].name} matches but no alarm with an action watches it."
    else:
        detail = "No metric filter on a logging multi-region trail's log group matches."
    return [CheckResult(account_id, bool(alarmed), "global", detail)]


def make_run(terms: Sequence[str]) -> Callable[[Any, str], list[CheckResult]]:
    """The `run` of one control: judge the shared metric filters against `terms`."""

    def run(session: Any, unit: str) -> list[CheckResult]:
        """Read the trails' metric filters and alarms and judge them."""
        return judge(metric_filters(session), terms, session.account_id)

    return run


def matches(pattern: str, terms: Iterable[str]) -> bool:
    """Does `pattern` contain every term (for tests and docs)?"""
    return all(normalise(t) in normalise(pattern) for t in terms)
