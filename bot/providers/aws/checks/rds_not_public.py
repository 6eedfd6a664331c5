"""RDS instances are not publicly accessible (CIS AWS 2.3.3)."""

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
    id="aws.rds.not_publicly_accessible",
    provider="aws",
    title="RDS instances are not publicly accessible",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("2.3.3",)},
    remediation=(
        "RDS → the instance → Modify → Connectivity: Publicly accessible = No (and keep it "
        "in private subnets)."
    ),
    scope="regional",
    semantics="Judged from the DB instance's PubliclyAccessible.",
)


def judge(instances: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """One result per DB instance."""
    results = []
    for db in instances:
        ok = not db.get("PubliclyAccessible")
        detail = (
            "The instance is not publicly accessible."
            if ok
            else "The instance is publicly accessible."
        )
        results.append(CheckResult(str(db["DBInstanceArn"]), ok, region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's DB instances and judge them."""
    region = region_of(unit) or session.default_region
    return judge(db_instances(session, region), region)
