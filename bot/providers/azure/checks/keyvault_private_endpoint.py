"""Key vaults are reached through private endpoints (CIS Azure 8.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, key_vaults

PERMISSIONS = ("Microsoft.KeyVault/vaults/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.keyvault.private_endpoint",
    provider="azure",
    title="Key vaults have an approved private endpoint",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("8.7",)},
    remediation="Key vault → Networking → Private endpoint connections → add a private "
    "endpoint in your virtual network, then disable public access.",
    semantics="Passes when at least one private endpoint connection is Approved.",
)


def judge(vault: Mapping[str, Any]) -> CheckResult:
    """Pass when a private endpoint connection is approved."""
    connections = prop(vault, "privateEndpointConnections") or []
    approved = [
        c
        for c in connections
        if isinstance(c, Mapping)
        and str(prop(c, "privateLinkServiceConnectionState.status") or "") == "Approved"
    ]
    detail = (
        f"{len(approved)} approved private endpoint connection(s)."
        if approved
        else "No approved private endpoint connection."
    )
    return result(vault, bool(approved), detail)


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every key vault of the subscription `unit`."""
    return [judge(v) for v in key_vaults(session, unit)]
