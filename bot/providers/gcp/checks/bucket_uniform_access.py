"""Cloud Storage buckets use uniform bucket-level access (IAM only, no object ACLs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, buckets

PERMISSIONS = ("storage.buckets.list",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.storage.uniform_access",
    provider="gcp",
    title="Buckets use uniform bucket-level access",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("5.2",)},
    remediation="Bucket → Permissions → Switch to uniform access "
    "(`gcloud storage buckets update gs://BUCKET --uniform-bucket-level-access`).",
)


def judge(bucket: Mapping[str, Any]) -> CheckResult:
    """Pass when `iamConfiguration.uniformBucketLevelAccess.enabled` is true."""
    config = (bucket.get("iamConfiguration") or {}).get("uniformBucketLevelAccess") or {}
    enabled = config.get("enabled") is True
    return CheckResult(
        resource=f"gs://{bucket.get('name', '?')}",
        passed=enabled,
        region=str(bucket.get("location") or ""),
        detail="Uniform bucket-level access is on."
        if enabled
        else "Object ACLs can grant access outside IAM (fine-grained access control).",
    )


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge every bucket of the project `unit`."""
    return [judge(bucket) for bucket in buckets(session, unit)]
