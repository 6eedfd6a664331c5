"""Shared body of the Azure checks that judge one property path of each listed resource."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.domain import CheckResult
from bot.providers.azure.checks.collect import ArmReader, properties, resource_label

Lister = Callable[[ArmReader, str], list[dict[str, Any]]]


def prop(resource: Mapping[str, Any], path: str) -> Any:
    """`properties.a.b` of a resource (None when any step is missing)."""
    value: Any = properties(resource)
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def result(resource: Mapping[str, Any], passed: bool, detail: str) -> CheckResult:
    """A finding on an ARM resource (its id and location)."""
    return CheckResult(
        resource=resource_label(resource),
        passed=passed,
        region=str(resource.get("location") or ""),
        detail=detail,
    )
