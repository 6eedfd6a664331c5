"""The AWS checks: one module per check, each with `META` and `run(session, unit)`.

Global checks run in the "global" job unit, regional ones in every region's unit.

Checks are discovered: every module of this package that defines ``META``, ``PERMISSIONS``
and ``run`` is a check (see `bot.providers.checks.discover`).
"""

from __future__ import annotations

from bot.providers.checks import Check, discover, required_permissions

CHECKS: list[Check] = discover(__name__)
"""Every AWS check, sorted by id."""

SCOPES = ("global", "regional")
"""Where a check runs: once in the "global" job (account-wide services: IAM, S3, the
account's trails) or once in every region's job (EC2, RDS, KMS, Config…)."""

_unrouted = [c.meta.id for c in CHECKS if c.meta.scope not in SCOPES]
if _unrouted:  # a check no job would run: refuse to load rather than skip it silently
    raise ValueError(f"AWS checks need scope 'global' or 'regional': {', '.join(_unrouted)}")

SESSION_PERMISSIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")
"""What every scan needs besides its checks: the account id and the list of enabled regions."""

REQUIRED_PERMISSIONS: tuple[str, ...] = required_permissions(CHECKS, SESSION_PERMISSIONS)
"""Every IAM action a full AWS scan calls (all are in the AWS managed SecurityAudit policy)."""

__all__ = ["CHECKS", "REQUIRED_PERMISSIONS", "SESSION_PERMISSIONS"]
