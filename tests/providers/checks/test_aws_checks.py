"""The AWS checks: each against a seeded loopback account (moto, auth on, least privilege),
and each judge as a pure function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import CheckResult
from bot.playground.aws import MotoStandIn
from bot.providers.aws.adapter import AwsSession
from bot.providers.aws.checks import (
    CHECKS,
    REQUIRED_PERMISSIONS,
    cloudtrail_multi_region,
    ec2_default_sg_closed,
    ec2_ebs_default_encryption,
    ec2_sg_open_admin_ports,
    iam_access_key_rotation,
    iam_password_policy,
    iam_root_access_keys,
    iam_root_mfa,
    s3_bucket_default_encryption,
    s3_bucket_public_access_block,
)
from bot.providers.aws.checks._common import error_code, partition_for_region, region_of
from bot.providers.aws.checks.cloudtrail_multi_region import Trail
from bot.providers.aws.checks.iam_access_key_rotation import AccessKey
from bot.providers.aws.checks.s3_bucket_default_encryption import BucketEncryption
from bot.providers.aws.checks.s3_bucket_public_access_block import BucketBlock

ACCOUNT = "123456789012"
REGION = "eu-west-1"  # where the EC2 resources are seeded
FULL_BLOCK = dict.fromkeys(s3_bucket_public_access_block.SETTINGS, True)


def by_resource(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.resource: r for r in results}


def sg_arn(region: str, group_id: str) -> str:
    return f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{group_id}"


# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------


def _seed_buckets(aws: MotoStandIn) -> None:
    s3 = aws.client("s3")
    for name in ("open-bucket", "locked-bucket", "partial-bucket"):
        s3.create_bucket(Bucket=name)
    s3.put_public_access_block(Bucket="locked-bucket", PublicAccessBlockConfiguration=FULL_BLOCK)
    s3.put_bucket_encryption(
        Bucket="locked-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket="partial-bucket",
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True},
    )
    s3.put_bucket_encryption(
        Bucket="partial-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )


def _ingress(cidr: str, protocol: str, low: int | None = None, high: int | None = None) -> Any:
    rule: dict[str, Any] = {"IpProtocol": protocol}
    if low is not None:
        rule.update(FromPort=low, ToPort=high if high is not None else low)
    key, item = ("Ipv6Ranges", "CidrIpv6") if ":" in cidr else ("IpRanges", "CidrIp")
    rule[key] = [{item: cidr}]
    return rule


SEEDED_GROUPS: dict[str, list[Any]] = {
    "ssh-world": [_ingress("0.0.0.0/0", "tcp", 22)],
    "rdp-world-v6": [_ingress("::/0", "tcp", 3389)],
    "everything-world": [_ingress("0.0.0.0/0", "-1")],
    "range-world": [_ingress("0.0.0.0/0", "tcp", 20, 25)],
    "https-world": [_ingress("0.0.0.0/0", "tcp", 443)],
    "ssh-internal": [_ingress("10.0.0.0/8", "tcp", 22)],
}
FAILING_GROUPS = {"ssh-world", "rdp-world-v6", "everything-world", "range-world"}


def _seed_ec2(aws: MotoStandIn) -> dict[str, str]:
    ec2 = aws.client("ec2", REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    ids = {}
    for name, rules in SEEDED_GROUPS.items():
        group = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc["VpcId"])
        ids[name] = group["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=rules)
    # Close the region's default group; us-east-1 keeps moto's (open) default rules.
    default = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"
    ][0]
    ids["default"] = default["GroupId"]
    if default["IpPermissions"]:
        ec2.revoke_security_group_ingress(
            GroupId=default["GroupId"], IpPermissions=default["IpPermissions"]
        )
    if default["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(
            GroupId=default["GroupId"], IpPermissions=default["IpPermissionsEgress"]
        )
    ec2.enable_ebs_encryption_by_default()
    return ids


@pytest.fixture(scope="module")
def seeded(aws_account: MotoStandIn) -> dict[str, str]:
    """Passing and failing resources: three buckets, six security groups in eu-west-1, a
    closed default group and EBS default encryption in eu-west-1 (us-east-1 left open/off)."""
    _seed_buckets(aws_account)
    return _seed_ec2(aws_account)


# --------------------------------------------------------------------------------------------
# Checks against the stand-in
# --------------------------------------------------------------------------------------------


def test_every_check_runs_with_only_the_declared_permissions(
    scan_session: AwsSession, seeded: dict[str, str]
) -> None:
    unjudged: list[str] = []
    for check in CHECKS:
        units = ["global"] if check.meta.scope == "global" else ["us-east-1", REGION]
        judged = 0
        for unit in units:
            results = list(check.run(scan_session, unit))
            assert all(isinstance(r, CheckResult) for r in results), check.meta.id
            judged += len(results)
        if not judged:
            unjudged.append(check.meta.id)
    # Only checks whose resources the shared seed lacks (no trail, instance, file system,
    # certificate, customer policy, console user, KMS key or database: their own tests seed
    # them) may judge nothing here, and this list cannot silently grow.
    assert unjudged == [
        "aws.cloudtrail.bucket_access_logging",
        "aws.cloudtrail.kms_encryption",
        "aws.cloudtrail.log_validation",
        "aws.ec2.imdsv2_required",
        "aws.efs.encrypted",
        "aws.iam.expired_certificates",
        "aws.iam.no_full_admin_policies",
        "aws.iam.root_recent_use",
        "aws.iam.user_console_mfa",
        "aws.kms.key_rotation",
        "aws.rds.auto_minor_version_upgrade",
        "aws.rds.not_publicly_accessible",
        "aws.rds.storage_encrypted",
    ]


def test_root_mfa_fails_in_moto(scan_session: AwsSession) -> None:
    # moto never reports root MFA as enabled; the passing branch is covered by the judge test.
    assert iam_root_mfa.run(scan_session, "global") == [
        CheckResult(
            resource=f"arn:aws:iam::{ACCOUNT}:root",
            passed=False,
            region="global",
            detail="The root user has no MFA device.",
        )
    ]


def test_root_access_keys_pass_in_moto(scan_session: AwsSession) -> None:
    # moto never reports root access keys; the failing branch is covered by the judge test.
    [result] = iam_root_access_keys.run(scan_session, "global")
    assert (result.resource, result.passed) == (f"arn:aws:iam::{ACCOUNT}:root", True)


def test_password_policy(aws_account: MotoStandIn, scan_session: AwsSession) -> None:
    iam = aws_account.client("iam")
    [missing] = iam_password_policy.run(scan_session, "global")
    assert (missing.resource, missing.passed) == (ACCOUNT, False)
    assert "No password policy" in missing.detail

    iam.update_account_password_policy(MinimumPasswordLength=8)
    [weak] = iam_password_policy.run(scan_session, "global")
    assert not weak.passed and "Minimum length is 8 (needs 14)" in weak.detail

    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)
    [strong] = iam_password_policy.run(scan_session, "global")
    assert strong.passed
    iam.delete_account_password_policy()


def test_access_key_rotation(
    aws_account: MotoStandIn,
    scan_session: AwsSession,
    auditor: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_id, _ = aws_account.create_user("retired")
    aws_account.client("iam").update_access_key(
        UserName="retired", AccessKeyId=key_id, Status="Inactive"
    )
    results = iam_access_key_rotation.run(scan_session, "global")
    auditor_arn = aws_account.user_arn("auditor")
    mine = [r for r in results if r.resource.startswith(auditor_arn + " ")]
    assert len(mine) == 1 and mine[0].passed
    assert auditor.access_key_id not in mine[0].resource  # masked
    assert not [r for r in results if r.resource.startswith(aws_account.user_arn("retired"))]

    later = datetime.now(UTC) + timedelta(days=100)
    monkeypatch.setattr(iam_access_key_rotation, "clock", lambda: later)
    aged = iam_access_key_rotation.run(scan_session, "global")
    assert aged and not any(r.passed for r in aged)
    assert any("100 days old (limit 90)" in r.detail for r in aged)


def test_bucket_public_access_block(scan_session: AwsSession, seeded: dict[str, str]) -> None:
    results = by_resource(s3_bucket_public_access_block.run(scan_session, "global"))
    assert {k: v.passed for k, v in results.items()} == {
        "arn:aws:s3:::open-bucket": False,
        "arn:aws:s3:::locked-bucket": True,
        "arn:aws:s3:::partial-bucket": False,
    }
    assert results["arn:aws:s3:::partial-bucket"].detail == (
        "Off at both bucket and account level: BlockPublicPolicy, RestrictPublicBuckets."
    )


def test_bucket_default_encryption(scan_session: AwsSession, seeded: dict[str, str]) -> None:
    results = by_resource(s3_bucket_default_encryption.run(scan_session, "global"))
    assert {k: v.passed for k, v in results.items()} == {
        "arn:aws:s3:::open-bucket": False,
        "arn:aws:s3:::locked-bucket": True,
        "arn:aws:s3:::partial-bucket": True,
    }
    assert results["arn:aws:s3:::partial-bucket"].detail == "Default encryption: aws:kms."


def test_security_groups_open_to_the_internet(
    scan_session: AwsSession, seeded: dict[str, str]
) -> None:
    results = by_resource(ec2_sg_open_admin_ports.run(scan_session, REGION))
    for name in SEEDED_GROUPS:
        result = results[sg_arn(REGION, seeded[name])]
        assert result.passed is (name not in FAILING_GROUPS), name
        assert result.region == REGION
    assert "0.0.0.0/0 → tcp 22 (SSH)" in results[sg_arn(REGION, seeded["ssh-world"])].detail
    assert "::/0 → tcp 3389 (RDP)" in results[sg_arn(REGION, seeded["rdp-world-v6"])].detail
    assert "all traffic" in results[sg_arn(REGION, seeded["everything-world"])].detail
    # us-east-1 was not seeded: its one (default) group is judged separately and passes
    [default_group] = ec2_sg_open_admin_ports.run(scan_session, "us-east-1")
    assert default_group.passed and default_group.region == "us-east-1"


def test_default_security_group_closed(scan_session: AwsSession, seeded: dict[str, str]) -> None:
    [closed] = ec2_default_sg_closed.run(scan_session, REGION)
    assert (closed.resource, closed.passed) == (sg_arn(REGION, seeded["default"]), True)
    [untouched] = ec2_default_sg_closed.run(scan_session, "us-east-1")
    assert not untouched.passed and "inbound" in untouched.detail


def test_ebs_encryption_by_default(scan_session: AwsSession, seeded: dict[str, str]) -> None:
    assert ec2_ebs_default_encryption.run(scan_session, REGION) == [
        CheckResult(ACCOUNT, True, REGION, "Encryption by default is on.")
    ]
    assert ec2_ebs_default_encryption.run(scan_session, "us-east-1") == [
        CheckResult(ACCOUNT, False, "us-east-1", "Encryption by default is off.")
    ]


def test_multi_region_cloudtrail(
    aws_account: MotoStandIn, new_session: Callable[[], AwsSession]
) -> None:
    """Three scans (a session collects the trails once, so one session each)."""
    aws_account.client("s3").create_bucket(Bucket="trail-logs")
    cloudtrail = aws_account.client("cloudtrail")
    [none] = cloudtrail_multi_region.run(new_session(), "global")
    assert (none.resource, none.passed, none.detail) == (
        ACCOUNT,
        False,
        "No multi-region trail exists.",
    )

    cloudtrail.create_trail(Name="local", S3BucketName="trail-logs")
    cloudtrail.start_logging(Name="local")
    cloudtrail.create_trail(Name="org", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    [idle] = cloudtrail_multi_region.run(new_session(), "global")
    assert not idle.passed and idle.detail == "Multi-region trail not logging: org."

    cloudtrail.start_logging(Name="org")
    [logging] = cloudtrail_multi_region.run(new_session(), "global")
    assert logging.passed and logging.detail == "Multi-region trail logging: org."


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------


def test_check_metadata_is_complete() -> None:
    ids = [c.meta.id for c in CHECKS]
    assert len(ids) == len(set(ids)) >= 8
    for check in CHECKS:
        assert check.meta.provider == "aws"
        assert check.meta.id.startswith("aws.")
        assert check.meta.scope in ("global", "regional")
        assert check.meta.title and check.meta.remediation.endswith(".")
    assert {"ec2:DescribeRegions", "iam:GetAccountSummary"} <= set(REQUIRED_PERMISSIONS)


# --------------------------------------------------------------------------------------------
# Judges (pure)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("summary", "mfa_passes", "keys_pass"),
    [
        ({"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}, True, True),
        ({"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1}, False, False),
        ({}, False, True),
    ],
)
def test_root_judges(summary: dict[str, int], mfa_passes: bool, keys_pass: bool) -> None:
    [mfa] = iam_root_mfa.judge(summary, "root")
    [keys] = iam_root_access_keys.judge(summary, "root")
    assert (mfa.passed, keys.passed) == (mfa_passes, keys_pass)


@pytest.mark.parametrize(
    ("policy", "passed"),
    [
        (None, False),
        ({"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}, True),
        ({"MinimumPasswordLength": 20, "PasswordReusePrevention": 24}, True),
        ({"MinimumPasswordLength": 13, "PasswordReusePrevention": 24}, False),
        ({"MinimumPasswordLength": 14, "PasswordReusePrevention": 5}, False),
        ({"MinimumPasswordLength": 14}, False),
    ],
)
def test_password_policy_judge(policy: dict[str, int] | None, passed: bool) -> None:
    [result] = iam_password_policy.judge(policy, ACCOUNT)
    assert result.passed is passed and result.resource == ACCOUNT
    assert result.detail.endswith(".")


def test_password_policy_judge_lists_every_problem() -> None:
    [result] = iam_password_policy.judge({"MinimumPasswordLength": 6}, ACCOUNT)
    assert result.detail == "Minimum length is 6 (needs 14); reuse prevention is off (needs 24)."


def test_access_key_judge_boundaries() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    keys = [
        AccessKey("arn:u/a", "AKIA" + "A" * 12 + "0001", "Active", now - timedelta(days=90)),
        AccessKey("arn:u/b", "AKIA" + "A" * 12 + "0002", "Active", now - timedelta(days=91)),
        AccessKey("arn:u/c", "AKIA" + "A" * 12 + "0003", "Inactive", now - timedelta(days=900)),
        AccessKey("arn:u/d", "AKIA" + "A" * 12 + "0004", "Active", datetime(2025, 1, 1)),  # naive
    ]
    results = iam_access_key_rotation.judge(keys, now)
    assert [(r.resource, r.passed) for r in results] == [
        ("arn:u/a (key AKIA…0001)", True),
        ("arn:u/b (key AKIA…0002)", False),
        ("arn:u/d (key AKIA…0004)", False),
    ]
    assert results[1].detail == "Access key AKIA…0002 is 91 days old (limit 90)."


def test_public_access_block_judge() -> None:
    results = s3_bucket_public_access_block.judge(
        [
            BucketBlock("none", "", None),
            BucketBlock("full", "eu-west-1", FULL_BLOCK),
            BucketBlock("half", "", {**FULL_BLOCK, "RestrictPublicBuckets": False}),
        ],
        partition="aws-cn",
    )
    assert [(r.resource, r.passed, r.region) for r in results] == [
        ("arn:aws-cn:s3:::none", False, ""),
        ("arn:aws-cn:s3:::full", True, "eu-west-1"),
        ("arn:aws-cn:s3:::half", False, ""),
    ]
    assert results[0].detail == (
        "No Block Public Access configuration on the bucket or the account."
    )
    covered = s3_bucket_public_access_block.judge(
        [BucketBlock("none", "", None), BucketBlock("half", "", {"BlockPublicAcls": True})],
        account={**FULL_BLOCK, "RestrictPublicBuckets": False},
    )
    assert [r.passed for r in covered] == [False, False]
    assert covered[1].detail == "Off at both bucket and account level: RestrictPublicBuckets."
    [whole] = s3_bucket_public_access_block.judge([BucketBlock("x", "", None)], account=FULL_BLOCK)
    assert whole.passed and whole.detail.startswith("Covered by the account-level block")


def test_encryption_judge() -> None:
    results = s3_bucket_default_encryption.judge(
        [BucketEncryption("plain", "", ()), BucketEncryption("kms", "", ("aws:kms",))]
    )
    assert [r.passed for r in results] == [False, True]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (_ingress("0.0.0.0/0", "tcp", 22), ["0.0.0.0/0 → tcp 22 (SSH)"]),
        (_ingress("::/0", "6", 3389), ["::/0 → tcp 3389 (RDP)"]),
        (_ingress("0.0.0.0/0", "udp", 3389), ["0.0.0.0/0 → udp 3389 (RDP)"]),
        (_ingress("0.0.0.0/0", "-1"), ["0.0.0.0/0 → all traffic"]),
        (_ingress("0.0.0.0/0", "tcp", 0, 65535), ["0.0.0.0/0 → all tcp ports"]),
        (
            _ingress("0.0.0.0/0", "tcp", 1, 5000),
            ["0.0.0.0/0 → tcp 22 (SSH)", "0.0.0.0/0 → tcp 3389 (RDP)"],
        ),
        (_ingress("0.0.0.0/0", "tcp", 443), []),
        (_ingress("10.0.0.0/8", "tcp", 22), []),
        (_ingress("0.0.0.0/0", "icmp", -1), []),
        ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{}]}, []),
    ],
)
def test_security_group_exposures(rule: dict[str, Any], expected: list[str]) -> None:
    assert ec2_sg_open_admin_ports.exposures(rule) == expected


def test_security_group_judge_builds_arns_per_partition() -> None:
    group = {"GroupId": "sg-1", "GroupName": "g", "OwnerId": ACCOUNT, "IpPermissions": []}
    [result] = ec2_sg_open_admin_ports.judge([group], "cn-north-1")
    assert result.resource == f"arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:security-group/sg-1"
    assert result.passed


def test_default_group_judge() -> None:
    base = {"GroupId": "sg-d", "OwnerId": ACCOUNT, "VpcId": "vpc-1"}
    open_group = {**base, "IpPermissionsEgress": [{"IpProtocol": "-1"}], "IpPermissions": []}
    [closed] = ec2_default_sg_closed.judge([{**base}], "us-east-1")
    [egress] = ec2_default_sg_closed.judge([open_group], "us-east-1")
    assert closed.passed and not egress.passed
    assert egress.detail == "0 inbound and 1 outbound rule(s) in vpc-1."


@pytest.mark.parametrize(
    ("trails", "passed"),
    [
        ([], False),
        ([Trail("a", multi_region=False, logging=True)], False),
        ([Trail("a", multi_region=True, logging=False)], False),
        ([Trail("a", True, False), Trail("b", True, True)], True),
    ],
)
def test_cloudtrail_judge(trails: list[Trail], passed: bool) -> None:
    [result] = cloudtrail_multi_region.judge(trails, ACCOUNT)
    assert result.passed is passed


def test_ebs_judge() -> None:
    assert ec2_ebs_default_encryption.judge(False, ACCOUNT, "eu-west-1")[0].passed is False


def test_common_helpers() -> None:
    assert region_of("global") is None and region_of("eu-west-1") == "eu-west-1"
    assert partition_for_region("us-gov-west-1") == "aws-us-gov"
    assert partition_for_region("eu-west-1") == "aws"
    assert error_code(ValueError()) == ""
