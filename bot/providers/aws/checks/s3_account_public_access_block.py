"""The account-level S3 Block Public Access has all four settings on (CIS AWS 2.1.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import collected, error_code

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

PERMISSIONS = ("s3:GetAccountPublicAccessBlock",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.account_public_access_block",
    provider="aws",
    title="S3 Block Public Access is on for the whole account",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("2.1.4",)},
    remediation=(
        "S3 → Block Public Access settings for this account → Edit: turn on all four settings."
    ),
    scope="global",
)


def account_block(session: Any) -> dict[str, bool]:
    """S3 Control GetPublicAccessBlock for the account ({} when none is configured);
    read once per scan session."""

    def collect() -> dict[str, bool]:
        control = session.client("s3control")
        try:
            got = control.get_public_access_block(AccountId=session.account_id)
        except Exception as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            return {}
        return {k: bool(v) for k, v in got["PublicAccessBlockConfiguration"].items()}

    return dict(collected(session, "s3control.account_block", collect))


def judge(config: Mapping[str, bool], account_id: str) -> list[CheckResult]:
    """One account result: pass when all four settings are on."""
    off = [s for s in SETTINGS if not config.get(s, False)]
    if not config:
        detail = "No account-level Block Public Access configuration."
    elif off:
        detail = "Off: " + ", ".join(off) + "."
    else:
        detail = "All four settings are on."
    return [CheckResult(resource=account_id, passed=not off, region="global", detail=detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the account's block and judge it."""
    return judge(account_block(session), session.account_id)
