"""A role to manage incidents with AWS Support exists (CIS AWS 1.17)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity

PERMISSIONS = ("iam:ListEntitiesForPolicy",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.support_role",
    provider="aws",
    title="A support role has the AWSSupportAccess policy",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("1.17",)},
    remediation=(
        "Create an IAM role for your incident responders and attach the AWS managed policy "
        "AWSSupportAccess to it."
    ),
    scope="global",
    semantics="Passes when the AWSSupportAccess policy is attached to at least one role.",
)


def collect(session: Any) -> list[str]:
    """Names of the roles AWSSupportAccess is attached to."""
    iam = session.client("iam")
    arn = f"arn:{session.partition}:iam::aws:policy/AWSSupportAccess"
    roles: list[str] = []
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        roles.extend(str(r["RoleName"]) for r in page.get("PolicyRoles", []))
    return roles


def judge(roles: Iterable[str], account_id: str) -> list[CheckResult]:
    """One account result: pass when some role holds the policy."""
    roles = sorted(roles)
    detail = (
        f"AWSSupportAccess is attached to {', '.join(roles)}."
        if roles
        else "No role has the AWSSupportAccess policy."
    )
    return [CheckResult(account_id, bool(roles), "global", detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the policy's roles and judge them."""
    return judge(collect(session), session.account_id)
