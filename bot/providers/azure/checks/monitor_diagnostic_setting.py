"""The subscription exports its activity log with the needed categories (CIS Azure 5.1.1,
5.1.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop
from bot.providers.azure.checks.collect import ArmReader, diagnostic_settings

CATEGORIES = ("Administrative", "Alert", "Policy", "Security")

PERMISSIONS = ("Microsoft.Insights/diagnosticSettings/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.monitor.diagnostic_setting",
    provider="azure",
    title="The activity log is exported with the security categories",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("5.1.1", "5.1.2")},
    remediation="Monitor → Activity log → Export Activity Logs → Add diagnostic setting: "
    "Administrative, Alert, Policy and Security to a Log Analytics workspace or storage.",
    semantics="One result per subscription: passes when one diagnostic setting enables all "
    "of Administrative, Alert, Policy and Security.",
)


def enabled_categories(setting: Mapping[str, Any]) -> set[str]:
    """The log categories a diagnostic setting enables."""
    return {
        str(log.get("category"))
        for log in prop(setting, "logs") or []
        if isinstance(log, Mapping) and log.get("enabled")
    }


def judge(settings: Iterable[Mapping[str, Any]], subscription: str) -> list[CheckResult]:
    """One subscription result."""
    settings = list(settings)
    best: tuple[str, list[str]] | None = None
    for setting in settings:
        missing = [c for c in CATEGORIES if c not in enabled_categories(setting)]
        if best is None or len(missing) < len(best[1]):
            best = (str(setting.get("name") or "?"), missing)
    if best is None:
        ok, detail = False, "No diagnostic setting exports the activity log."
    elif best[1]:
        ok, detail = False, f"Setting {best[0]} misses: {', '.join(best[1])}."
    else:
        ok, detail = True, f"Setting {best[0]} exports {', '.join(CATEGORIES)}."
    return [CheckResult(f"/subscriptions/{subscription}", ok, "global", detail)]


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge the subscription's diagnostic settings."""
    return judge(diagnostic_settings(session, unit), unit)
