"""RDS instances upgrade minor versions automatically (CIS AWS 2.3.2)."""

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
    id="aws.rds.auto_minor_version_upgrade",
    provider="aws",
    title="RDS instances upgrade minor versions automatically",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("2.3.2",)},
    remediation="RDS → the instance → Modify → Maintenance: enable auto minor version upgrade.",
    scope="regional",
    semantics="Judged from the DB instance's AutoMinorVersionUpgrade.",
)


def judge(instances: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """One result per DB instance."""
    results = []
    for db in instances:
        ok = bool(db.get("AutoMinorVersionUpgrade"))
        detail = (
            "Automatic minor version upgrade is on."
            if ok
            else "Automatic minor version upgrade is off."
        )
        results.append(CheckResult(str(db["DBInstanceArn"]), ok, region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's DB instances and judge them."""
    region = region_of(unit) or session.default_region
    return judge(db_instances(session, region), region)
