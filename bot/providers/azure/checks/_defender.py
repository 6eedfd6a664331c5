"""Shared body of the "Microsoft Defender plan X is on" checks (CIS Azure 2.1.x)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.domain import CheckResult
from bot.providers.azure.checks._props import prop
from bot.providers.azure.checks.collect import ArmReader, pricings

PERMISSIONS = ("Microsoft.Security/pricings/read",)

SEMANTICS = (
    "One result per subscription: passes when the plan's pricing tier is Standard (a plan "
    "missing from the list counts as off)."
)


def judge(plans: Iterable[Mapping[str, Any]], plan: str, subscription: str) -> list[CheckResult]:
    """One subscription result for `plan` (e.g. "VirtualMachines")."""
    tier = next(
        (str(prop(p, "pricingTier") or "Free") for p in plans if str(p.get("name")) == plan),
        "not listed",
    )
    detail = f"Defender plan {plan}: {tier}."
    return [CheckResult(f"/subscriptions/{subscription}", tier == "Standard", "global", detail)]


def make_run(plan: str) -> Callable[[ArmReader, str], list[CheckResult]]:
    """The `run` of one plan check."""

    def run(session: ArmReader, unit: str) -> list[CheckResult]:
        """Read the subscription's Defender plans and judge one."""
        return judge(pricings(session, unit), plan, unit)

    return run
