"""Storage accounts disallow anonymous (public) blob access."""

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
    id="azure.storage.public_blob_access",
    provider="azure",
    title="Storage accounts disallow anonymous blob access",
    severity=Severity.HIGH,
    frameworks={"cis-azure-2.0": ("3.7",)},
    remediation="Storage account → Configuration → Allow Blob anonymous access: Disabled "
    "(`az storage account update --allow-blob-public-access false`).",
)


def judge(account: Mapping[str, Any]) -> CheckResult:
    """Pass only when `allowBlobPublicAccess` is explicitly false.

    Accounts created before the property existed omit it and allow public containers.
    """
    value = properties(account).get("allowBlobPublicAccess")
    if value is False:
        detail = "Anonymous blob access is disallowed."
    elif value is None:
        detail = "Anonymous blob access is not explicitly disallowed (older accounts allow it)."
    else:
        detail = "Containers of this account can be made publicly readable."
    return CheckResult(
        resource=resource_label(account),
        passed=value is False,
        region=str(account.get("location") or ""),
        detail=detail,
    )


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every storage account of the subscription `unit`."""
    return [judge(account) for account in storage_accounts(session, unit)]
