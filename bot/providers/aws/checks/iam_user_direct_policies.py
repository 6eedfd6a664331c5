"""IAM users receive permissions only through groups: no policy attached to a user
(CIS AWS 1.15)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import each, iam_users, paginate

PERMISSIONS = ("iam:ListUsers", "iam:ListAttachedUserPolicies", "iam:ListUserPolicies")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.user_direct_policies",
    provider="aws",
    title="IAM users get permissions only through groups",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("1.15",)},
    remediation=(
        "Move the user's managed and inline policies to a group, add the user to the group, "
        "then detach or delete the user's own policies."
    ),
    scope="global",
    semantics="Fails a user with any attached managed policy or any inline policy.",
)


@dataclass(frozen=True)
class UserPolicies:
    """A user and the policies attached to it directly."""

    arn: str
    attached: tuple[str, ...]
    inline: tuple[str, ...]


def collect(session: Any) -> list[UserPolicies]:
    """Every user's attached managed policies and inline policy names."""
    iam = session.client("iam")

    def one(user: dict[str, Any]) -> UserPolicies:
        name = user["UserName"]
        attached = paginate(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)
        inline = paginate(iam, "list_user_policies", "PolicyNames", UserName=name)
        return UserPolicies(
            arn=str(user["Arn"]),
            attached=tuple(str(p["PolicyName"]) for p in attached),
            inline=tuple(str(p) for p in inline),
        )

    return each(session, one, iam_users(session))


def judge(users: Iterable[UserPolicies]) -> list[CheckResult]:
    """One result per user: pass when nothing is attached directly."""
    results = []
    for user in users:
        direct = [*user.attached, *(f"{p} (inline)" for p in user.inline)]
        detail = (
            "Policies attached to the user: " + ", ".join(direct) + "."
            if direct
            else ("No policy is attached to the user.")
        )
        results.append(CheckResult(user.arn, not direct, "global", detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect every user's own policies and judge them."""
    return judge(collect(session))
