"""Shared body of the "activity log alert exists for operation X" checks (CIS Azure 5.2.x)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.domain import CheckResult
from bot.providers.azure.checks._props import prop
from bot.providers.azure.checks.collect import ArmReader, activity_log_alerts

PERMISSIONS = ("Microsoft.Insights/activityLogAlerts/read",)

SEMANTICS = (
    "One result per subscription: passes when an enabled activity log alert whose scopes "
    "include the subscription has the condition operationName equals the operation and an "
    "action group."
)


def _conditions(alert: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in prop(alert, "condition.allOf") or [] if isinstance(c, Mapping)]


def watches(alert: Mapping[str, Any], operation: str, subscription: str) -> bool:
    """An enabled alert on the subscription for `operation`, with an action group."""
    if prop(alert, "enabled") is False:
        return False
    scopes = [str(s).rstrip("/").lower() for s in prop(alert, "scopes") or []]
    if f"/subscriptions/{subscription}".lower() not in scopes:
        return False
    if not prop(alert, "actions.actionGroups"):
        return False
    return any(
        str(c.get("field", "")).lower() == "operationname"
        and str(c.get("equals", "")).lower() == operation.lower()
        for c in _conditions(alert)
    )


def judge(
    alerts: Iterable[Mapping[str, Any]], operation: str, subscription: str
) -> list[CheckResult]:
    """One subscription result."""
    names = [str(a.get("name") or "?") for a in alerts if watches(a, operation, subscription)]
    detail = (
        f"Alert {', '.join(names)} watches {operation}."
        if names
        else f"No enabled alert with an action group watches {operation}."
    )
    return [CheckResult(f"/subscriptions/{subscription}", bool(names), "global", detail)]


def make_run(operation: str) -> Callable[[ArmReader, str], list[CheckResult]]:
    """The `run` of one control."""

    def run(session: ArmReader, unit: str) -> list[CheckResult]:
        """Judge the subscription's activity log alerts."""
        return judge(activity_log_alerts(session, unit), operation, unit)

    return run
