"""EBS encryption by default is on in every region (CIS AWS 2.2.1)."""

from __future__ import annotations

from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import region_of

PERMISSIONS = ("ec2:GetEbsEncryptionByDefault",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.ebs_default_encryption",
    provider="aws",
    title="EBS volumes are encrypted by default",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("2.2.1",)},
    remediation=(
        "Turn on EBS encryption by default in the region (EC2 → Settings → Data protection)."
    ),
    scope="regional",
)


def collect(session: Any, region: str | None) -> bool:
    """EC2 GetEbsEncryptionByDefault for the region."""
    got = session.client("ec2", region).get_ebs_encryption_by_default()
    return bool(got.get("EbsEncryptionByDefault"))


def judge(enabled: bool, account_id: str, region: str) -> list[CheckResult]:
    """One result per region: pass when the setting is on."""
    detail = "Encryption by default is on." if enabled else "Encryption by default is off."
    return [CheckResult(resource=account_id, passed=enabled, region=region, detail=detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the region's setting and judge it."""
    region = region_of(unit) or session.default_region
    return judge(collect(session, region), session.account_id, region)
