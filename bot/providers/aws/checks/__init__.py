"""The AWS checks: one module per check, each with `META` and `run(session, unit)`.

Account-wide checks run in their service's `global:<group>` job unit, regional ones in every
region's unit (`bot.providers.aws.units`).

Checks are discovered: every module of this package that defines ``META``, ``PERMISSIONS``
and ``run`` is a check (see `bot.providers.checks.discover`).
"""

from __future__ import annotations

from bot.providers.aws.units import GLOBAL_GROUPS, group_of
from bot.providers.checks import Check, discover, required_permissions

CHECKS: list[Check] = discover(__name__)
"""Every AWS check, sorted by id."""

SCOPES = ("global", "regional")
"""Where a check runs: once per scan in its service's `global:<group>` job (account-wide
services: IAM, S3, the account's trails) or once in every region's job (EC2, RDS, KMS…)."""

_unrouted = [c.meta.id for c in CHECKS if c.meta.scope not in SCOPES]
_unrouted += [
    c.meta.id
    for c in CHECKS
    if c.meta.scope == "global" and group_of(c.meta.id) not in GLOBAL_GROUPS
]
if _unrouted:  # a check no job would run: refuse to load rather than skip it silently
    raise ValueError(
        "AWS checks need scope 'global' (of a group in units.GLOBAL_GROUPS) or 'regional': "
        + ", ".join(_unrouted)
    )

SESSION_PERMISSIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")
"""What every scan needs besides its checks: the account id and the list of enabled regions."""

REQUIRED_PERMISSIONS: tuple[str, ...] = required_permissions(CHECKS, SESSION_PERMISSIONS)
"""Every IAM action a full AWS scan calls (all are in the AWS managed SecurityAudit policy)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
