"""Cloud Audit Logs record data access for all services (CIS GCP 2.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, project_iam_policy

LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")

PERMISSIONS = ("resourcemanager.projects.getIamPolicy",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.logging.audit_config",
    provider="gcp",
    title="Data Access audit logs are on for all services",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("2.1",)},
    remediation=(
        "IAM → Audit Logs → Default configuration: Admin Read, Data Read and Data Write, with "
        "no exempted members."
    ),
    semantics=(
        "One result per project: passes when the project policy's auditConfigs for "
        "allServices enables ADMIN_READ, DATA_READ and DATA_WRITE with no exempted members "
        "(settings inherited from a folder or organization are not read)."
    ),
)


def judge(project: str, policy: Mapping[str, Any]) -> list[CheckResult]:
    """Pass when allServices logs every type with no exemptions."""
    configs = [c for c in policy.get("auditConfigs") or [] if c.get("service") == "allServices"]
    logged: set[str] = set()
    exempted: list[str] = []
    for config in configs:
        for log in config.get("auditLogConfigs") or []:
            logged.add(str(log.get("logType")))
            exempted += [str(m) for m in log.get("exemptedMembers") or []]
    missing = [t for t in LOG_TYPES if t not in logged]
    if not configs:
        detail = "No audit configuration for allServices."
    elif missing or exempted:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"exempted {', '.join(sorted(set(exempted)))}"] if exempted else []
        detail = "allServices: " + "; ".join(parts) + "."
    else:
        detail = "allServices logs " + ", ".join(LOG_TYPES) + "."
    ok = bool(configs) and not missing and not exempted
    return [CheckResult(f"projects/{project}", ok, "global", detail)]


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Read the project's IAM policy and judge it."""
    return judge(unit, project_iam_policy(session, unit))
