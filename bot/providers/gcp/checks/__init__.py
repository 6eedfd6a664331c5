"""The GCP checks: one module per check, each with `META`, `PERMISSIONS` and
`run(session, project_id)`.

Checks are discovered: every module of this package that defines ``META``, ``PERMISSIONS``
and ``run`` is a check (see `bot.providers.checks.discover`).
"""

from __future__ import annotations

from bot.providers.checks import Check, discover, required_permissions

CHECKS: list[Check] = discover(__name__)
"""Every GCP check, sorted by id."""

SESSION_PERMISSIONS = ("resourcemanager.projects.get",)
"""What validation needs besides the checks: reading the key's project."""

REQUIRED_PERMISSIONS: tuple[str, ...] = required_permissions(CHECKS, SESSION_PERMISSIONS)
"""Every IAM permission a full GCP scan uses (all are in roles/viewer plus
roles/iam.securityReviewer)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
