"""Storage accounts refuse TLS versions older than 1.2."""

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
    id="azure.storage.min_tls",
    provider="azure",
    title="Storage accounts require TLS 1.2 or newer",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("3.15",)},
    remediation="Storage account → Configuration → Minimum TLS version: Version 1.2 "
    "(`az storage account update --min-tls-version TLS1_2`).",
)

ACCEPTED = ("TLS1_2", "TLS1_3")


def judge(account: Mapping[str, Any]) -> CheckResult:
    """Pass when `minimumTlsVersion` is TLS1_2 or newer (missing means TLS 1.0)."""
    version = str(properties(account).get("minimumTlsVersion") or "TLS1_0")
    passed = version.upper() in ACCEPTED
    return CheckResult(
        resource=resource_label(account),
        passed=passed,
        region=str(account.get("location") or ""),
        detail=f"Minimum TLS version is {version}."
        + ("" if passed else " Clients may still use TLS 1.0/1.1."),
    )


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every storage account of the subscription `unit`."""
    return [judge(account) for account in storage_accounts(session, unit)]
