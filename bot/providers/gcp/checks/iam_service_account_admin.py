"""Service accounts hold no admin, owner or editor role on the project (CIS GCP 1.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks._policy import bindings
from bot.providers.gcp.checks.collect import GcpReader, project_iam_policy

PERMISSIONS = ("resourcemanager.projects.getIamPolicy",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.iam.service_account_admin",
    provider="gcp",
    title="Service accounts have no admin privileges on the project",
    severity=Severity.HIGH,
    frameworks={"cis-gcp-2.0": ("1.5",)},
    remediation=(
        "IAM → the service account's project roles: replace Owner, Editor and *Admin roles "
        "with the predefined or custom roles it needs."
    ),
    semantics=(
        "One result per user-created service account in the project policy (Google-managed "
        "service agents are skipped); fails roles/owner, roles/editor and any role whose name "
        "ends in Admin or admin."
    ),
)


def admin_role(role: str) -> bool:
    """Owner, Editor or an *Admin role."""
    return role in ("roles/owner", "roles/editor") or role.lower().endswith("admin")


def user_service_account(member: str) -> bool:
    """serviceAccount:… created in a project (not a Google-managed service agent such as
    service-N@gcp-sa-pubsub.iam.gserviceaccount.com)."""
    if not member.startswith("serviceAccount:"):
        return False
    domain = member.split(":", 1)[1].rpartition("@")[2]
    if domain.startswith("gcp-sa-"):
        return False
    return domain.endswith(".iam.gserviceaccount.com") or domain in (
        "developer.gserviceaccount.com",
        "appspot.gserviceaccount.com",
    )


def judge(project: str, policy: Mapping[str, Any]) -> list[CheckResult]:
    """One result per service account bound in the policy."""
    roles: dict[str, list[str]] = {}
    for role, member in bindings(policy):
        if user_service_account(member):
            roles.setdefault(member.split(":", 1)[1], []).append(role)
    results = []
    for email, held in sorted(roles.items()):
        admin = sorted(r for r in held if admin_role(r))
        detail = (
            f"Holds {', '.join(admin)} on projects/{project}."
            if admin
            else "No admin role on the project."
        )
        results.append(CheckResult(email, not admin, "global", detail))
    return results


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Read the project's IAM policy and judge it."""
    return judge(unit, project_iam_policy(session, unit))
