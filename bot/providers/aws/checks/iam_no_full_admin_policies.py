"""No customer managed IAM policy in use allows "*" on "*" (CIS AWS 1.16)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import each, paginate

PERMISSIONS = ("iam:ListPolicies", "iam:GetPolicyVersion")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.no_full_admin_policies",
    provider="aws",
    title='No attached customer policy allows "*:*"',
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("1.16",)},
    remediation=(
        'Replace the policy\'s "Action": "*", "Resource": "*" statement with the actions and '
        "resources the principals need, or detach the policy."
    ),
    scope="global",
    semantics=(
        "Judges the default version of every customer managed policy that is attached to "
        "something; AWS managed policies (AdministratorAccess) are out of scope."
    ),
)


@dataclass(frozen=True)
class Policy:
    """A customer managed policy and its default version's document."""

    arn: str
    document: Mapping[str, Any]


def collect(session: Any) -> list[Policy]:
    """Attached customer managed policies with their default document."""
    iam = session.client("iam")

    def one(policy: dict[str, Any]) -> Policy:
        version = iam.get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]
        document = version["Document"]
        if isinstance(document, str):
            document = json.loads(unquote(document))
        return Policy(str(policy["Arn"]), document)

    listed = paginate(iam, "list_policies", "Policies", Scope="Local", OnlyAttached=True)
    return each(session, one, listed)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def full_admin(document: Mapping[str, Any]) -> bool:
    """An Allow statement with Action "*" and Resource "*"."""
    for statement in _listed(document.get("Statement") or []):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if "*" in _listed(statement.get("Action")) and "*" in _listed(statement.get("Resource")):
            return True
    return False


def judge(policies: Iterable[Policy]) -> list[CheckResult]:
    """One result per policy: fail a full-admin policy."""
    return [
        CheckResult(
            p.arn,
            not full_admin(p.document),
            "global",
            'Allows "*" on "*".' if full_admin(p.document) else "No full-admin statement.",
        )
        for p in policies
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the attached customer policies and judge them."""
    return judge(collect(session))
