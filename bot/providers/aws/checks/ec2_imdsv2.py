"""EC2 instances require IMDSv2 (CIS AWS 5.6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import partition_for_region, region_of

PERMISSIONS = ("ec2:DescribeInstances",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.imdsv2_required",
    provider="aws",
    title="EC2 instances require IMDSv2",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("5.6",)},
    remediation=(
        "Require tokens on each instance: aws ec2 modify-instance-metadata-options "
        "--instance-id ID --http-tokens required --http-endpoint enabled."
    ),
    scope="regional",
    semantics=(
        "Passes an instance whose metadata service requires tokens or is turned off; "
        "terminated instances are skipped."
    ),
)


def collect(session: Any, region: str) -> list[dict[str, Any]]:
    """Every instance of the region (DescribeInstances, paginated)."""
    ec2 = session.client("ec2", region)
    found: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page.get("Reservations", []):
            found.extend(reservation.get("Instances", []))
    return found


def judge(instances: Iterable[Mapping[str, Any]], region: str, account: str) -> list[CheckResult]:
    """One result per instance that is not terminated."""
    partition = partition_for_region(region)
    results = []
    for instance in instances:
        if (instance.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
            continue
        options = instance.get("MetadataOptions") or {}
        tokens = str(options.get("HttpTokens") or "optional")
        endpoint = str(options.get("HttpEndpoint") or "enabled")
        ok = tokens == "required" or endpoint == "disabled"
        detail = (
            "The metadata service is off." if endpoint == "disabled" else f"HttpTokens: {tokens}."
        )
        arn = f"arn:{partition}:ec2:{region}:{account}:instance/{instance['InstanceId']}"
        results.append(CheckResult(arn, ok, region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's instances and judge them."""
    region = region_of(unit) or session.default_region
    return judge(collect(session, region), region, session.account_id)
