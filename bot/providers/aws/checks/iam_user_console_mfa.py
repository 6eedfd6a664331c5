"""Every IAM user with a console password has MFA (CIS AWS 1.10)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import CREDENTIAL_REPORT_PERMISSIONS, credential_report

PERMISSIONS = CREDENTIAL_REPORT_PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.user_console_mfa",
    provider="aws",
    title="IAM users with a console password have MFA",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("1.10",)},
    remediation="IAM → Users → user → Security credentials → Assign MFA device.",
    scope="global",
    semantics="Read from the credential report; users without a console password are skipped.",
)


def judge(rows: Iterable[Mapping[str, str]]) -> list[CheckResult]:
    """One result per user with a password: pass when `mfa_active`."""
    results = []
    for row in rows:
        if row.get("user") == "<root_account>" or row.get("password_enabled") != "true":
            continue
        ok = row.get("mfa_active") == "true"
        detail = "MFA is active." if ok else "Console password without MFA."
        results.append(CheckResult(str(row.get("arn")), ok, "global", detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the credential report and judge it."""
    return judge(credential_report(session))
