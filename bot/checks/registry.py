"""Checks by provider, imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from bot.checks.base import Check
from bot.domain import Provider

_PACKAGES = {
    Provider.AWS: "bot.checks.aws",
    Provider.AZURE: "bot.checks.azure",
    Provider.GCP: "bot.checks.gcp",
}


def checks_for(provider: Provider | str, only: Sequence[str] = ()) -> list[Check]:
    """The provider's checks, restricted to the ids in `only` when given."""
    checks: list[Check] = list(importlib.import_module(_PACKAGES[Provider(provider)]).CHECKS)
    if only:
        wanted = set(only)
        checks = [c for c in checks if c.meta.id in wanted]
    return checks


def checks_for_unit(checks: Sequence[Check], provider: Provider | str, unit: str) -> list[Check]:
    """The checks a job runs: AWS splits global and regional checks; others run all."""
    if Provider(provider) is not Provider.AWS:
        return list(checks)
    scope = "global" if unit == "global" else "regional"
    return [c for c in checks if c.meta.scope == scope]


def check_by_id(provider: Provider | str, check_id: str) -> Check | None:
    """One check's definition, for titles and remediation in reports."""
    for check in checks_for(provider):
        if check.meta.id == check_id:
            return check
    return None
