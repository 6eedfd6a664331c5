"""A scan with many findings of every severity, for the findings exports and the paged view."""

from __future__ import annotations

from bot.domain import ScanStatus
from bot.runtime import Runtime
from storage.models import Finding
from tests.support.slackbot import JobSpec, seed_connector, seed_project, seed_scan

FAILING = {
    # check id: (severity, region, how many failing)
    "aws.iam.root_mfa": ("critical", "", 10),
    "aws.s3.bucket_public_access_block": ("high", "us-east-1", 60),
    "aws.s3.bucket_tls_only": ("medium", "us-east-1", 80),
    "aws.s3.bucket_mfa_delete": ("low", "eu-west-1", 100),
}
"""250 failing findings in all."""
PASSING = ("aws.iam.root_access_keys", "critical", 30)
FAILING_TOTAL = sum(n for _, _, n in FAILING.values())


def resource_of(check_id: str, i: int) -> str:
    """The resource of the `i`th seeded finding of a check."""
    if check_id.startswith("aws.iam."):
        return f"arn:aws:iam::123456789012:root-{i}"
    return f"arn:aws:s3:::bucket-{check_id.rsplit('.', 1)[-1]}-{i:03d}"


def seed_many_findings(rt: Runtime, project: str = "web") -> int:
    """Project `project` (connector prod-aws) with one Completed scan holding 250 failing
    findings (`FAILING`) and 30 passing ones; returns the scan id."""
    seed_connector(rt)
    seed_project(rt, project)
    scan_id = seed_scan(rt, project, ScanStatus.COMPLETED, [JobSpec("global")])
    with rt.db.unit_of_work() as s:
        for check_id, (severity, region, count) in FAILING.items():
            for i in range(count):
                s.add(
                    Finding(
                        scan_id=scan_id,
                        check_id=check_id,
                        resource=resource_of(check_id, i),
                        region=region,
                        severity=severity,
                        passed=False,
                        detail=f'{check_id} fails on item {i}, "quoted", with a comma',
                    )
                )
        check_id, severity, count = PASSING
        for i in range(count):
            s.add(
                Finding(
                    scan_id=scan_id,
                    check_id=check_id,
                    resource=resource_of(check_id, i),
                    region="",
                    severity=severity,
                    passed=True,
                    detail="",
                )
            )
    return scan_id
