"""Storage accounts accept only HTTPS (secure transfer required)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks.collect import (
    ArmReader,
    properties,
    resource_label,
    storage_accounts,
)

PERMISSIONS = ("Microsoft.Storage/storageAccounts/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.storage.secure_transfer",
    provider="azure",
    title="Storage accounts require secure transfer (HTTPS only)",
    severity=Severity.HIGH,
    frameworks={"cis-azure-2.0": ("3.1",)},
    remediation="Storage account → Configuration → Secure transfer required: Enabled "
    "(`az storage account update --https-only true`).",
)


def judge(account: Mapping[str, Any]) -> CheckResult:
    """Pass when `supportsHttpsTrafficOnly` is true."""
    https_only = properties(account).get("supportsHttpsTrafficOnly") is True
    return CheckResult(
        resource=resource_label(account),
        passed=https_only,
        region=str(account.get("location") or ""),
        detail="Secure transfer is required."
        if https_only
        else "The account accepts unencrypted HTTP requests.",
    )


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every storage account of the subscription `unit`."""
    return [judge(account) for account in storage_accounts(session, unit)]
