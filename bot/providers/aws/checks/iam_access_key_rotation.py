"""Active IAM user access keys are rotated within 90 days (CIS AWS 1.14)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity, mask
from bot.providers.aws.checks._common import collected, each, iam_users, paginate

MAX_AGE_DAYS = 90

PERMISSIONS = ("iam:ListUsers", "iam:ListAccessKeys")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.access_key_rotation",
    provider="aws",
    title=f"Access keys are rotated within {MAX_AGE_DAYS} days",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("1.14",)},
    remediation=(
        "Create a new access key for the user, switch its consumers over, "
        "then deactivate and delete the old key."
    ),
    scope="global",
)

clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731  (replaceable in tests)


@dataclass(frozen=True)
class AccessKey:
    """One user's access key, as the collector found it."""

    user_arn: str
    key_id: str
    status: str
    created: datetime


def collect(session: Any) -> list[AccessKey]:
    """Every access key of every IAM user (the shared user list, then ListAccessKeys per
    user on the session's call pool), read once per scan session."""
    iam = session.client("iam")

    def of_user(user: dict[str, Any]) -> list[AccessKey]:
        listed = paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=user["UserName"])
        return [
            AccessKey(
                user_arn=user["Arn"],
                key_id=meta["AccessKeyId"],
                status=meta.get("Status", "Active"),
                created=meta["CreateDate"],
            )
            for meta in listed
        ]

    def gather() -> list[AccessKey]:
        return [key for keys in each(session, of_user, iam_users(session)) for key in keys]

    return list(collected(session, "iam.access_keys", gather))


def judge(
    keys: Iterable[AccessKey], now: datetime, max_age_days: int = MAX_AGE_DAYS
) -> list[CheckResult]:
    """One result per active key: fail when older than `max_age_days`. Inactive keys are
    not judged (they cannot be used)."""
    results = []
    for key in keys:
        if key.status != "Active":
            continue
        created = key.created if key.created.tzinfo else key.created.replace(tzinfo=UTC)
        age = (now - created).days
        old = age > max_age_days
        results.append(
            CheckResult(
                resource=f"{key.user_arn} (key {mask(key.key_id)})",
                passed=not old,
                region="global",
                detail=f"Access key {mask(key.key_id)} is {age} days old"
                + (f" (limit {max_age_days})." if old else "."),
            )
        )
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect every user's keys and judge their age."""
    return judge(collect(session), clock())
