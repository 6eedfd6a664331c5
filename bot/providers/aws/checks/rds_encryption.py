"""RDS instances encrypt their storage (CIS AWS 2.3.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import region_of
from bot.providers.aws.checks._rds import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._rds import db_instances

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.rds.storage_encrypted",
    provider="aws",
    title="RDS instances encrypt their storage",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("2.3.1",)},
    remediation=(
        "Encryption cannot be turned on in place: take a snapshot, copy it with encryption "
        "on, and restore the instance from the encrypted copy."
    ),
    scope="regional",
    semantics="Judged from the DB instance's StorageEncrypted.",
)


def judge(instances: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """One result per DB instance."""
    results = []
    for db in instances:
        ok = bool(db.get("StorageEncrypted"))
        detail = "Storage is encrypted." if ok else "Storage is not encrypted."
        results.append(CheckResult(str(db["DBInstanceArn"]), ok, region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's DB instances and judge them."""
    region = region_of(unit) or session.default_region
    return judge(db_instances(session, region), region)
