"""AWS job units: one per region, and the account-wide checks split by service.

A scan's account-wide checks (IAM, S3, the account's trails) used to run in one "global" job;
they now run in one job per service group, `global:<group>`, so the services' calls run in
parallel jobs. A check's group is the service in its id (`aws.s3.bucket_versioning` → `s3`),
except where checks of two services judge the same collected data: they share a unit, so the
data is collected once (the CloudWatch alarm checks judge the trails' log groups: `cloudtrail`).

The plain "global" unit (jobs planned before the split) still runs every account-wide check.
"""

from __future__ import annotations

from bot.domain import GLOBAL_UNIT

GLOBAL_PREFIX = GLOBAL_UNIT + ":"

SHARED_UNIT = {"cloudwatch": "cloudtrail"}
"""Service → the group whose unit its account-wide checks run in (they share its collectors)."""

GLOBAL_GROUPS = ("cloudtrail", "iam", "s3")
"""The account-wide groups, in planning order; `bot.providers.aws.checks` refuses to load
an account-wide check whose group is not listed here (no job would run it)."""


def is_global(unit: str) -> bool:
    """True for "global" and "global:<group>": units that stand for no region."""
    return unit in ("", GLOBAL_UNIT) or unit.startswith(GLOBAL_PREFIX)


def group_of(check_id: str) -> str:
    """The unit group of an account-wide check: `aws.s3.x` → `s3`, `aws.cloudwatch.x` →
    `cloudtrail`."""
    parts = check_id.split(".")
    service = parts[1] if len(parts) > 2 else check_id
    return SHARED_UNIT.get(service, service)


def global_units() -> list[str]:
    """`["global:cloudtrail", "global:iam", "global:s3"]`."""
    return [GLOBAL_PREFIX + group for group in GLOBAL_GROUPS]


def unit_group(unit: str) -> str | None:
    """The group of a `global:<group>` unit; None for "global" (every group) and regions."""
    return unit[len(GLOBAL_PREFIX) :] if unit.startswith(GLOBAL_PREFIX) else None
