"""Instances do not use the default service account (CIS GCP 4.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run

DEFAULT_SA_SUFFIX = "-compute@developer.gserviceaccount.com"

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.default_service_account",
    provider="gcp",
    title="Instances do not use the default service account",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.1",)},
    remediation=(
        "Stop the instance and set a dedicated, least-privileged service account (Edit → Identity"
        " and API access)."
    ),
    semantics=(
        "GKE nodes are skipped; fails an instance whose service account is PROJECT_NUMBER-"
        "compute@developer.gserviceaccount.com."
    ),
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail an instance that runs as the Compute Engine default service account."""
    emails = [str(a.get("email")) for a in instance.get("serviceAccounts") or []]
    default = [e for e in emails if e.endswith(DEFAULT_SA_SUFFIX)]
    if default:
        return False, f"Runs as the default service account {default[0]}."
    return True, f"Runs as {', '.join(emails)}." if emails else "No service account."


run = make_run(judge, skip_gke=True)
