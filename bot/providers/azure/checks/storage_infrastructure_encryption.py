"""Storage accounts use infrastructure (double) encryption (CIS Azure 3.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, storage_accounts

PERMISSIONS = ("Microsoft.Storage/storageAccounts/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.storage.infrastructure_encryption",
    provider="azure",
    title="Storage accounts use infrastructure encryption",
    severity=Severity.LOW,
    frameworks={"cis-azure-2.0": ("3.2",)},
    remediation="Infrastructure encryption is chosen at creation: create a new storage "
    "account with it enabled and move the data.",
)


def judge(account: Mapping[str, Any]) -> CheckResult:
    """Pass when encryption.requireInfrastructureEncryption is true."""
    ok = prop(account, "encryption.requireInfrastructureEncryption") is True
    return result(account, ok, "Infrastructure encryption is " + ("on." if ok else "off."))


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every storage account of the subscription `unit`."""
    return [judge(a) for a in storage_accounts(session, unit)]
