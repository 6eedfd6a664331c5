"""Storage accounts deny network access by default (CIS Azure 3.8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, storage_accounts

PERMISSIONS = ("Microsoft.Storage/storageAccounts/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.storage.default_network_deny",
    provider="azure",
    title="Storage accounts deny network access by default",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("3.8",)},
    remediation="Storage account → Networking → Public network access: enabled from "
    "selected virtual networks and IP addresses (default action Deny).",
    semantics="Passes when networkAcls.defaultAction is Deny (missing = Allow).",
)


def judge(account: Mapping[str, Any]) -> CheckResult:
    """Pass when the default network action is Deny."""
    action = str(prop(account, "networkAcls.defaultAction") or "Allow")
    return result(account, action == "Deny", f"Default network action: {action}.")


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every storage account of the subscription `unit`."""
    return [judge(a) for a in storage_accounts(session, unit)]
