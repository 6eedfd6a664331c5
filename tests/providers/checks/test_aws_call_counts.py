"""A whole AWS scan, unit by unit as the engine runs it, counting every API call: each listing
is made once per region and scan (collectors shared by the checks), never once per check, and
the verdicts do not depend on how many calls run at once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from bot.domain import CancelToken
from bot.engine.jobs import CloudJobRunner, FindingRecord, ScanTarget
from bot.playground.aws import MotoStandIn
from bot.providers.aws.credentials import AwsCredentials
from bot.providers.aws.units import global_units

SCOPE = ("eu-west-1", "us-east-1")

SHARED_BY_UNITS = {
    # each job opens its own session (maybe in another process) and learns the account once
    ("sts", "GetCallerIdentity"),
    # the default region's trails: read by the account-wide trails unit and that region's job
    ("cloudtrail", "DescribeTrails"),
    ("cloudtrail", "GetTrailStatus"),
}
"""Requests that may repeat across units (at most once per unit), and why."""

POLLED = {("iam", "GenerateCredentialReport")}  # asked again until the report is ready

LISTINGS = {
    ("s3", "ListBuckets"): 1,  # account-wide: once per scan
    ("iam", "ListUsers"): 1,
    ("iam", "ListPolicies"): 1,
    ("ec2", "DescribeSecurityGroups"): len(SCOPE),  # once per region
    ("kms", "ListKeys"): len(SCOPE),
    ("rds", "DescribeDBInstances"): len(SCOPE),
}


@pytest.fixture(scope="module")
def seeded(aws_account: MotoStandIn) -> None:
    """Buckets in two regions, users with keys and policies, groups and keys per region."""
    for region in SCOPE:
        s3 = aws_account.client("s3", region)
        for i in range(4):
            extra: dict[str, Any] = (
                {}
                if region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            s3.create_bucket(Bucket=f"count-{region}-{i}", **extra)
        ec2 = aws_account.client("ec2", region)
        for i in range(5):
            ec2.create_security_group(GroupName=f"count-{i}", Description="counted")
        aws_account.client("kms", region).create_key(Description="counted")
    iam = aws_account.client("iam")
    for i in range(4):
        iam.create_user(UserName=f"count-user-{i}")
        iam.create_access_key(UserName=f"count-user-{i}")
        iam.put_user_policy(
            UserName=f"count-user-{i}",
            PolicyName="inline",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
    aws_account.client("s3").create_bucket(Bucket="count-trail-logs")
    trails = aws_account.client("cloudtrail")
    trails.create_trail(Name="org", S3BucketName="count-trail-logs", IsMultiRegionTrail=True)
    trails.start_logging(Name="org")


Call = tuple[str, str, str, str, str]  # unit, service, operation, region, parameters


def scan(aws: MotoStandIn, creds: AwsCredentials, concurrency: int) -> tuple[list[Call], list[Any]]:
    """Plan the scan and run each unit in a session of its own, as the engine's jobs do;
    returns every API call made and every finding."""
    runner = CloudJobRunner(aws.endpoints(max_attempts=1, concurrency=concurrency))
    target = ScanTarget(scan_id=1, provider="aws", creds=creds, scope=SCOPE)
    units = runner.plan(target, CancelToken())
    assert units == [*global_units(), *SCOPE]
    calls: list[Call] = []
    findings: list[FindingRecord] = []
    for unit in units:
        job = runner.open(target, CancelToken())

        def record(
            service: str, operation: str, region: str, params: Mapping[str, Any], unit: str = unit
        ) -> None:
            calls.append(
                (unit, service, operation, region, json.dumps(params, sort_keys=True, default=str))
            )

        job.session.add_call_listener(record)
        try:
            outcome = job.run_unit(unit, CancelToken())
        finally:
            job.close()
        assert outcome.errors == [], [(e.check_id, e.error.message) for e in outcome.errors]
        findings += outcome.findings
    return calls, findings


def test_each_listing_is_made_once_per_region_and_scan(
    aws_account: MotoStandIn, auditor: AwsCredentials, seeded: None
) -> None:
    calls, findings = scan(aws_account, auditor, concurrency=8)
    assert findings

    per_unit = Counter(calls)
    repeated = {call: n for call, n in per_unit.items() if n > 1 and call[1:3] not in POLLED}
    assert repeated == {}, "the same request twice in one job"

    per_scan = Counter(call[1:] for call in calls)
    shared = SHARED_BY_UNITS | POLLED
    across = {call: n for call, n in per_scan.items() if n > 1 and call[:2] not in shared}
    assert across == {}, "the same request in several jobs"

    listed = Counter(
        (service, operation)
        for _, service, operation, _, params in calls
        if "Token" not in params and "Marker" not in params
    )
    assert {key: listed[key] for key in LISTINGS} == LISTINGS
    # per-resource calls: one per bucket and per user, however many checks read them
    buckets = 4 * len(SCOPE) + 1  # and the trail's bucket
    assert listed[("s3", "GetBucketVersioning")] == listed[("s3", "GetBucketPolicy")] == buckets
    assert listed[("iam", "ListAccessKeys")] == listed[("iam", "ListUserPolicies")] >= 4


def test_verdicts_do_not_depend_on_concurrency(
    aws_account: MotoStandIn, auditor: AwsCredentials, seeded: None
) -> None:
    one_calls, one = scan(aws_account, auditor, concurrency=1)
    eight_calls, eight = scan(aws_account, auditor, concurrency=8)

    def verdicts(found: list[FindingRecord]) -> list[tuple[str, str, str, bool, str]]:
        return [
            (f.check_id, f.result.resource, f.result.region, f.result.passed, f.result.detail)
            for f in found
            if f.check_id != "aws.iam.root_recent_use"  # judged against the clock
        ]

    assert verdicts(one) == verdicts(eight)  # same results, in the same order
    assert Counter(c[1:3] for c in one_calls) == Counter(c[1:3] for c in eight_calls)
