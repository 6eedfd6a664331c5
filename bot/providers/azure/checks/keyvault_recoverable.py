"""Key vaults are recoverable: soft delete and purge protection are on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks.collect import ArmReader, key_vaults, properties, resource_label

PERMISSIONS = ("Microsoft.KeyVault/vaults/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.keyvault.recoverable",
    provider="azure",
    title="Key vaults have soft delete and purge protection",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("8.5",)},
    remediation="Key vault → Properties → enable purge protection "
    "(`az keyvault update --enable-purge-protection true`); it cannot be turned off again.",
)


def judge(vault: Mapping[str, Any]) -> CheckResult:
    """Pass when both `enableSoftDelete` and `enablePurgeProtection` are true."""
    props = properties(vault)
    missing = [
        label
        for key, label in (
            ("enableSoftDelete", "soft delete"),
            ("enablePurgeProtection", "purge protection"),
        )
        if props.get(key) is not True
    ]
    return CheckResult(
        resource=resource_label(vault),
        passed=not missing,
        region=str(vault.get("location") or ""),
        detail="Soft delete and purge protection are enabled."
        if not missing
        else f"Not enabled: {' and '.join(missing)}; deleted secrets could be lost for good.",
    )


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every key vault of the subscription `unit`."""
    return [judge(vault) for vault in key_vaults(session, unit)]
