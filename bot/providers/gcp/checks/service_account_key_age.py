"""User-managed service-account keys are rotated within 90 days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, service_accounts, user_managed_keys

PERMISSIONS = ("iam.serviceAccounts.list", "iam.serviceAccountKeys.list")
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.iam.service_account_key_age",
    provider="gcp",
    title="Service-account keys are younger than 90 days",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("1.7",)},
    remediation="Create a new key, move its users over, then delete the old key; better, "
    "replace keys with workload identity federation or attached service accounts.",
)

MAX_AGE = timedelta(days=90)


def parse_time(value: str) -> datetime | None:
    """An RFC 3339 timestamp as Google writes it, or None."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def judge(email: str, key: Mapping[str, Any], now: datetime) -> CheckResult:
    """Pass when the key is younger than 90 days (or disabled)."""
    key_id = str(key.get("name") or "").rsplit("/", 1)[-1]
    resource = f"{email}/keys/{key_id}"
    created = parse_time(str(key.get("validAfterTime") or ""))
    if key.get("disabled"):
        return CheckResult(resource, True, "global", "The key is disabled.")
    if created is None:
        return CheckResult(resource, False, "global", "The key's creation time is unknown.")
    age = now - created
    return CheckResult(
        resource=resource,
        passed=age <= MAX_AGE,
        region="global",
        detail=f"Created {created:%Y-%m-%d}, {age.days} days ago.",
    )


def run(session: GcpReader, unit: str, now: datetime | None = None) -> list[CheckResult]:
    """Judge every user-managed key of every service account in the project `unit`."""
    moment = now or datetime.now(UTC)
    results: list[CheckResult] = []
    for account in service_accounts(session, unit):
        email = str(account.get("email") or "")
        if not email:
            continue
        results.extend(judge(email, key, moment) for key in user_managed_keys(session, unit, email))
    return results
