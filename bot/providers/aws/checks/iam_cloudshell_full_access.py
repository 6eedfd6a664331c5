"""Access to AWSCloudShellFullAccess is restricted (CIS AWS 1.22)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity

PERMISSIONS = ("iam:ListEntitiesForPolicy",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.cloudshell_full_access",
    provider="aws",
    title="No one holds AWSCloudShellFullAccess",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("1.22",)},
    remediation=(
        "Detach AWSCloudShellFullAccess from every user, group and role; grant a custom policy "
        "without file upload/download if CloudShell is needed."
    ),
    scope="global",
    semantics="One account result: fails when the policy is attached to any user, group or role.",
)


def collect(session: Any) -> list[str]:
    """Every principal the policy is attached to, as "user NAME" / "group NAME" / "role NAME"."""
    iam = session.client("iam")
    arn = f"arn:{session.partition}:iam::aws:policy/AWSCloudShellFullAccess"
    found: list[str] = []
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        found += [f"user {u['UserName']}" for u in page.get("PolicyUsers", [])]
        found += [f"group {g['GroupName']}" for g in page.get("PolicyGroups", [])]
        found += [f"role {r['RoleName']}" for r in page.get("PolicyRoles", [])]
    return found


def judge(holders: Iterable[str], account_id: str) -> list[CheckResult]:
    """Pass when nobody holds the policy."""
    holders = sorted(holders)
    detail = (
        "AWSCloudShellFullAccess is attached to " + ", ".join(holders) + "."
        if holders
        else "AWSCloudShellFullAccess is attached to nobody."
    )
    return [CheckResult(account_id, not holders, "global", detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the policy's principals and judge them."""
    return judge(collect(session), session.account_id)
