"""No custom role grants subscription owner rights (CIS Azure 1.23)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop
from bot.providers.azure.checks.collect import ArmReader, custom_roles, resource_label

PERMISSIONS = ("Microsoft.Authorization/roleDefinitions/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.iam.custom_owner_roles",
    provider="azure",
    title="No custom role is a subscription administrator",
    severity=Severity.HIGH,
    frameworks={"cis-azure-2.0": ("1.23",)},
    remediation="Delete the custom role (or replace its '*' action with the actions it "
    "needs): `az role definition delete --name ROLE`.",
    semantics="Fails a custom role whose actions include '*' and whose assignable scopes "
    "include '/' or a whole subscription.",
)


def admin_scopes(role: Mapping[str, Any]) -> list[str]:
    """The subscription-wide scopes at which a '*' custom role can be assigned."""
    actions = {str(a) for p in prop(role, "permissions") or [] for a in p.get("actions") or []}
    if "*" not in actions:
        return []
    scopes = [str(s) for s in prop(role, "assignableScopes") or []]
    return [s for s in scopes if s == "/" or s.rstrip("/").count("/") == 2]


def judge(role: Mapping[str, Any]) -> CheckResult:
    """Pass a custom role that cannot administer a whole subscription."""
    scopes = admin_scopes(role)
    name = str(prop(role, "roleName") or role.get("name") or "?")
    detail = (
        f"{name} allows '*' at {', '.join(scopes)}." if scopes else f"{name} is not an owner role."
    )
    return CheckResult(resource_label(role), not scopes, "global", detail)


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every custom role visible at the subscription `unit`."""
    return [judge(r) for r in custom_roles(session, unit)]
