"""The AWS checks: one module per check, each with `META` and `run(session, unit)`.

Global checks run in the "global" job unit, regional ones in every region's unit.
"""

from __future__ import annotations

from bot.checks.aws import (
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
from bot.checks.base import Check

_MODULES = (
    iam_root_mfa,
    iam_root_access_keys,
    iam_password_policy,
    iam_access_key_rotation,
    s3_bucket_public_access_block,
    s3_bucket_default_encryption,
    cloudtrail_multi_region,
    ec2_sg_open_admin_ports,
    ec2_default_sg_closed,
    ec2_ebs_default_encryption,
)

CHECKS: list[Check] = [Check(meta=module.META, run=module.run) for module in _MODULES]
"""Every AWS check, in report order."""

SESSION_PERMISSIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")
"""What every scan needs besides its checks: the account id and the list of enabled regions."""

REQUIRED_PERMISSIONS: tuple[str, ...] = tuple(
    sorted({*SESSION_PERMISSIONS, *(a for m in _MODULES for a in m.PERMISSIONS)})
)
"""Every IAM action a full AWS scan calls (all are in the AWS managed SecurityAudit policy)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
