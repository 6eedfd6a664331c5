"""Storage accounts with network rules let trusted Azure services through (CIS Azure 3.9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, storage_accounts

PERMISSIONS = ("Microsoft.Storage/storageAccounts/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.storage.trusted_services",
    provider="azure",
    title="Storage network rules allow trusted Azure services",
    severity=Severity.LOW,
    frameworks={"cis-azure-2.0": ("3.9",)},
    remediation="Storage account → Networking → Exceptions: allow Azure services on the "
    "trusted services list to access this storage account.",
    semantics="Passes when networkAcls.bypass includes AzureServices.",
)


def judge(account: Mapping[str, Any]) -> CheckResult:
    """Pass when the bypass list includes AzureServices."""
    bypass = str(prop(account, "networkAcls.bypass") or "None")
    ok = "azureservices" in bypass.replace(" ", "").lower().split(",")
    return result(account, ok, f"Network rule bypass: {bypass}.")


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every storage account of the subscription `unit`."""
    return [judge(a) for a in storage_accounts(session, unit)]
