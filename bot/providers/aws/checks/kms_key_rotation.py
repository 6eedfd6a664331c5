"""Customer managed symmetric KMS keys rotate automatically (CIS AWS 3.6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import each, paginate, region_of

PERMISSIONS = ("kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.kms.key_rotation",
    provider="aws",
    title="Customer managed KMS keys rotate automatically",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("3.6",)},
    remediation="KMS → Customer managed keys → key → Key rotation: automatically rotate.",
    scope="regional",
    semantics=(
        "Only enabled, customer managed, symmetric encryption keys are judged (AWS managed, "
        "asymmetric, HMAC, imported and disabled keys cannot or need not rotate)."
    ),
)


@dataclass(frozen=True)
class Key:
    """A customer managed symmetric key and its rotation status."""

    arn: str
    rotation: bool


def collect(session: Any, region: str) -> list[Key]:
    """The region's enabled customer managed symmetric keys with their rotation status."""
    kms = session.client("kms", region)

    def one(listed: dict[str, Any]) -> Key | None:
        meta = kms.describe_key(KeyId=listed["KeyId"])["KeyMetadata"]
        if (
            meta.get("KeyManager") != "CUSTOMER"
            or meta.get("KeyState") != "Enabled"
            or meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT"
            or meta.get("Origin", "AWS_KMS") != "AWS_KMS"
        ):
            return None
        status = kms.get_key_rotation_status(KeyId=listed["KeyId"])
        return Key(str(meta["Arn"]), bool(status.get("KeyRotationEnabled")))

    return [k for k in each(session, one, paginate(kms, "list_keys", "Keys")) if k is not None]


def judge(keys: Iterable[Key], region: str) -> list[CheckResult]:
    """One result per key."""
    return [
        CheckResult(
            k.arn,
            k.rotation,
            region,
            "Automatic rotation is " + ("on." if k.rotation else "off."),
        )
        for k in keys
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the region's keys and judge them."""
    region = region_of(unit) or session.default_region
    return judge(collect(session, region), region)
