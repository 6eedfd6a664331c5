"""Cloud Storage buckets are not public through IAM (allUsers / allAuthenticatedUsers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, bucket_iam_policy, buckets

PERMISSIONS = ("storage.buckets.list", "storage.buckets.getIamPolicy")
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.storage.public_bucket",
    provider="gcp",
    title="Buckets are not public via IAM",
    severity=Severity.HIGH,
    frameworks={"cis-gcp-2.0": ("5.1",)},
    remediation="Remove the allUsers / allAuthenticatedUsers bindings from the bucket's IAM "
    "policy and enforce public access prevention "
    "(`gcloud storage buckets update gs://BUCKET --public-access-prevention`).",
)

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def prevention_enforced(bucket: Mapping[str, Any]) -> bool:
    """Public access prevention makes public bindings ineffective."""
    return (bucket.get("iamConfiguration") or {}).get("publicAccessPrevention") == "enforced"


def public_grants(policy: Mapping[str, Any]) -> list[str]:
    """`role → member` strings for every public binding of an IAM policy."""
    grants = []
    for binding in policy.get("bindings") or []:
        for member in binding.get("members") or []:
            if member in PUBLIC_MEMBERS:
                grants.append(f"{binding.get('role', '?')} → {member}")
    return grants


def judge(bucket: Mapping[str, Any], policy: Mapping[str, Any] | None) -> CheckResult:
    """Pass when public access prevention is enforced or no binding is public."""
    name = f"gs://{bucket.get('name', '?')}"
    region = str(bucket.get("location") or "")
    if prevention_enforced(bucket):
        return CheckResult(name, True, region, "Public access prevention is enforced.")
    grants = public_grants(policy or {})
    return CheckResult(
        resource=name,
        passed=not grants,
        region=region,
        detail="Public: " + "; ".join(grants) if grants else "No public IAM bindings.",
    )


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Read the IAM policy of every bucket in the project `unit` (unless public access
    prevention already rules it out) and judge it."""
    results = []
    for bucket in buckets(session, unit):
        policy = None if prevention_enforced(bucket) else bucket_iam_policy(session, bucket["name"])
        results.append(judge(bucket, policy))
    return results
