"""Key vaults use Azure RBAC for data-plane access (CIS Azure 8.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, key_vaults

PERMISSIONS = ("Microsoft.KeyVault/vaults/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.keyvault.rbac",
    provider="azure",
    title="Key vaults use Azure RBAC",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("8.6",)},
    remediation="Key vault → Access configuration → Permission model: Azure role-based "
    "access control (re-create the access policies as role assignments first).",
)


def judge(vault: Mapping[str, Any]) -> CheckResult:
    """Pass when enableRbacAuthorization is true."""
    ok = prop(vault, "enableRbacAuthorization") is True
    return result(vault, ok, "Permission model: " + ("Azure RBAC." if ok else "access policies."))


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every key vault of the subscription `unit`."""
    return [judge(v) for v in key_vaults(session, unit)]
