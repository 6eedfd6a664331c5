"""OS Login is enabled for the project (CIS GCP 4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, compute_project, metadata_items

PERMISSIONS = ("compute.projects.get",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.os_login",
    provider="gcp",
    title="OS Login is enabled project-wide",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.4",)},
    remediation="Compute Engine → Metadata: add enable-oslogin = TRUE "
    "(`gcloud compute project-info add-metadata --metadata enable-oslogin=TRUE`).",
    semantics="One result per project, from the project-wide metadata enable-oslogin "
    "(instance-level overrides are not read).",
)


def judge(project: str, compute: Mapping[str, Any]) -> list[CheckResult]:
    """Pass when enable-oslogin is true."""
    value = metadata_items(compute, "commonInstanceMetadata").get("enable-oslogin", "")
    ok = value.lower() == "true"
    detail = "OS Login is enabled." if ok else "enable-oslogin is not TRUE in project metadata."
    return [CheckResult(f"projects/{project}", ok, "global", detail)]


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Read the project's Compute metadata and judge it."""
    return judge(unit, compute_project(session, unit))
