"""The account password policy is strong (CIS AWS 1.8 length ≥ 14, 1.9 reuse prevention ≥ 24)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import error_code

MIN_LENGTH = 14
MIN_REUSE_PREVENTION = 24

PERMISSIONS = ("iam:GetAccountPasswordPolicy",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.password_policy",
    provider="aws",
    title="IAM password policy is strong",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("1.8", "1.9")},
    remediation=(
        f"Set an account password policy with a minimum length of {MIN_LENGTH} and "
        f"password reuse prevention of {MIN_REUSE_PREVENTION}."
    ),
    scope="global",
)


def collect(session: Any) -> dict[str, Any] | None:
    """The account password policy, or None when the account has none (NoSuchEntity)."""
    iam = session.client("iam")
    try:
        return dict(iam.get_account_password_policy()["PasswordPolicy"])
    except Exception as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise


def judge(policy: Mapping[str, Any] | None, account_id: str) -> list[CheckResult]:
    """Fail when there is no policy, or it is shorter/weaker than the thresholds."""
    if policy is None:
        problems = ["no password policy is set"]
    else:
        problems = []
        length = int(policy.get("MinimumPasswordLength") or 0)
        if length < MIN_LENGTH:
            problems.append(f"minimum length is {length} (needs {MIN_LENGTH})")
        reuse = int(policy.get("PasswordReusePrevention") or 0)
        if reuse < MIN_REUSE_PREVENTION:
            problems.append(f"reuse prevention is {reuse or 'off'} (needs {MIN_REUSE_PREVENTION})")
    text = "; ".join(problems)
    detail = text[:1].upper() + text[1:] + "." if problems else "The policy is strong."
    return [CheckResult(resource=account_id, passed=not problems, region="global", detail=detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the password policy and judge it."""
    return judge(collect(session), session.account_id)
