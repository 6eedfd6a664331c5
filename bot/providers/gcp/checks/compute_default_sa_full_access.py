"""Instances do not give the default service account full API access (CIS GCP 4.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run

DEFAULT_SA_SUFFIX = "-compute@developer.gserviceaccount.com"
FULL_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.default_sa_full_access",
    provider="gcp",
    title="Instances do not give the default service account full API access",
    severity=Severity.HIGH,
    frameworks={"cis-gcp-2.0": ("4.2",)},
    remediation=(
        "Stop the instance and either use a dedicated service account or limit the default one's "
        "access scopes (no cloud-platform scope)."
    ),
    semantics=(
        "GKE nodes are skipped; fails the default service account with the cloud-platform scope."
    ),
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail the default service account with the cloud-platform (all APIs) scope."""
    for account in instance.get("serviceAccounts") or []:
        email = str(account.get("email"))
        if email.endswith(DEFAULT_SA_SUFFIX) and FULL_SCOPE in (account.get("scopes") or []):
            return False, f"{email} has full access to all Cloud APIs."
    return True, "No default service account with full API access."


run = make_run(judge, skip_gke=True)
