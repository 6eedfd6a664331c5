"""The GCP checks: one module per check, each with `META`, `PERMISSIONS` and
`run(session, project_id)`."""

from __future__ import annotations

from bot.checks.base import Check
from bot.checks.gcp import (
    bucket_public,
    bucket_uniform_access,
    default_network,
    firewall_admin_ports,
    service_account_key_age,
)

_MODULES = (
    firewall_admin_ports,
    default_network,
    bucket_uniform_access,
    bucket_public,
    service_account_key_age,
)

CHECKS: list[Check] = [Check(meta=module.META, run=module.run) for module in _MODULES]
"""Every GCP check, in report order."""

SESSION_PERMISSIONS = ("resourcemanager.projects.get",)
"""What validation needs besides the checks: reading the key's project."""

REQUIRED_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({*SESSION_PERMISSIONS, *(a for m in _MODULES for a in m.PERMISSIONS)})
)
"""Every IAM permission a full GCP scan uses (all are in roles/viewer plus
roles/iam.securityReviewer)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
