"""No member holds Service Account User or Token Creator on the whole project
(CIS GCP 1.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks._policy import members_with
from bot.providers.gcp.checks.collect import GcpReader, project_iam_policy

ROLES = ("roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator")

PERMISSIONS = ("resourcemanager.projects.getIamPolicy",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.iam.service_account_user_project",
    provider="gcp",
    title="No one can act as every service account of the project",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("1.6",)},
    remediation=(
        "Remove the project-level Service Account User / Token Creator bindings and grant "
        "them on the individual service accounts that need them."
    ),
    semantics="One result per project, from its unconditional IAM bindings.",
)


def judge(project: str, policy: Mapping[str, Any]) -> list[CheckResult]:
    """Fail when any member holds one of the roles at project level."""
    holders = members_with(policy, ROLES)
    detail = (
        "Project-level grants: "
        + "; ".join(f"{m} ({', '.join(r)})" for m, r in sorted(holders.items()))
        + "."
        if holders
        else "No project-level Service Account User or Token Creator grant."
    )
    return [CheckResult(f"projects/{project}", not holders, "global", detail)]


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Read the project's IAM policy and judge it."""
    return judge(unit, project_iam_policy(session, unit))
