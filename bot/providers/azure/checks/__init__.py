"""The Azure checks: one module per check, each with `META`, `PERMISSIONS` and
`run(session, subscription_id)`.

Checks are discovered: every module of this package that defines ``META``, ``PERMISSIONS``
and ``run`` is a check (see `bot.providers.checks.discover`).
"""

from __future__ import annotations

from bot.providers.checks import Check, discover, required_permissions

CHECKS: list[Check] = discover(__name__)
"""Every AZURE check, sorted by id."""

SESSION_PERMISSIONS = ("Microsoft.Resources/subscriptions/read",)
"""What every scan needs besides its checks: listing the subscriptions."""

REQUIRED_PERMISSIONS: tuple[str, ...] = required_permissions(CHECKS, SESSION_PERMISSIONS)
"""Every ARM action a full Azure scan calls (all are in the built-in Reader role)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
