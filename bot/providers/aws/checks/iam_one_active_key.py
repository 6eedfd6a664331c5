"""Each IAM user has at most one active access key (CIS AWS 1.13)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import CREDENTIAL_REPORT_PERMISSIONS, credential_report

PERMISSIONS = CREDENTIAL_REPORT_PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.one_active_key",
    provider="aws",
    title="IAM users have at most one active access key",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("1.13",)},
    remediation="Deactivate and delete the access key the user no longer needs.",
    scope="global",
    semantics="Read from the credential report; users without an active key are skipped.",
)


def judge(rows: Iterable[Mapping[str, str]]) -> list[CheckResult]:
    """One result per user with an active key: fail when both keys are active."""
    results = []
    for row in rows:
        if row.get("user") == "<root_account>":
            continue
        active = sum(row.get(f"access_key_{n}_active") == "true" for n in ("1", "2"))
        if not active:
            continue
        detail = f"{active} active access key{'s' if active > 1 else ''}."
        results.append(CheckResult(str(row.get("arn")), active == 1, "global", detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the credential report and judge it."""
    return judge(credential_report(session))
