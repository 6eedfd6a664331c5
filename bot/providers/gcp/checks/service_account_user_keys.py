"""Service accounts have only Google-managed keys: no user-managed key (CIS GCP 1.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, service_accounts, user_managed_keys

PERMISSIONS = ("iam.serviceAccounts.list", "iam.serviceAccountKeys.list")
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.iam.service_account_user_keys",
    provider="gcp",
    title="Service accounts have no user-managed keys",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("1.4",)},
    remediation="Delete the downloadable keys and use attached service accounts or workload "
    "identity federation; enforce constraints/iam.disableServiceAccountKeyCreation.",
    semantics="One result per service account; disabled keys count as absent.",
)


def judge(email: str, keys: Iterable[Mapping[str, Any]]) -> CheckResult:
    """Fail an account with an enabled user-managed key."""
    active = [str(k.get("name") or "").rsplit("/", 1)[-1] for k in keys if not k.get("disabled")]
    detail = (
        f"{len(active)} user-managed key(s): {', '.join(k[:8] for k in active)}."
        if active
        else "Only Google-managed keys."
    )
    return CheckResult(email, not active, "global", detail)


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge every service account of the project `unit`."""
    results = []
    for account in service_accounts(session, unit):
        email = str(account.get("email") or "")
        if email:
            results.append(judge(email, user_managed_keys(session, unit, email)))
    return results
