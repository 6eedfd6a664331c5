"""EFS file systems are encrypted at rest (CIS AWS 2.4.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import paginate, region_of

PERMISSIONS = ("elasticfilesystem:DescribeFileSystems",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.efs.encrypted",
    provider="aws",
    title="EFS file systems are encrypted at rest",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("2.4.1",)},
    remediation=(
        "Encryption is set at creation: create an encrypted file system, copy the data "
        "(AWS DataSync), then delete the unencrypted one."
    ),
    scope="regional",
)


def judge(file_systems: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """One result per file system."""
    return [
        CheckResult(
            str(fs.get("FileSystemArn") or fs["FileSystemId"]),
            bool(fs.get("Encrypted")),
            region,
            "Encrypted at rest." if fs.get("Encrypted") else "Not encrypted at rest.",
        )
        for fs in file_systems
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's file systems and judge them."""
    region = region_of(unit) or session.default_region
    efs = session.client("efs", region)
    return judge(paginate(efs, "describe_file_systems", "FileSystems"), region)
