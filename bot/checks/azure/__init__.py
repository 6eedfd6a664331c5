"""The Azure checks: one module per check, each with `META`, `PERMISSIONS` and
`run(session, subscription_id)`."""

from __future__ import annotations

from bot.checks.azure import (
    keyvault_recoverable,
    nsg_admin_ports,
    sql_auditing,
    storage_min_tls,
    storage_public_blob,
    storage_secure_transfer,
)
from bot.checks.base import Check

_MODULES = (
    storage_secure_transfer,
    storage_public_blob,
    storage_min_tls,
    nsg_admin_ports,
    keyvault_recoverable,
    sql_auditing,
)

CHECKS: list[Check] = [Check(meta=module.META, run=module.run) for module in _MODULES]
"""Every Azure check, in report order."""

SESSION_PERMISSIONS = ("Microsoft.Resources/subscriptions/read",)
"""What every scan needs besides its checks: listing the subscriptions."""

REQUIRED_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({*SESSION_PERMISSIONS, *(a for m in _MODULES for a in m.PERMISSIONS)})
)
"""Every ARM action a full Azure scan calls (all are in the built-in Reader role)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
