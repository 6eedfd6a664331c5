"""Cloud KMS encryption keys rotate at least every 90 days (CIS GCP 1.10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, crypto_keys

MAX_PERIOD_SECONDS = 90 * 24 * 3600

PERMISSIONS = ("cloudkms.locations.list", "cloudkms.keyRings.list", "cloudkms.cryptoKeys.list")
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.kms.key_rotation",
    provider="gcp",
    title="KMS encryption keys rotate within 90 days",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("1.10",)},
    remediation=(
        "Set a rotation period of 90 days or less: `gcloud kms keys update KEY --keyring RING "
        "--location LOC --rotation-period 90d --next-rotation-time TIME`."
    ),
    semantics=(
        "Only symmetric ENCRYPT_DECRYPT keys whose primary version is enabled are judged "
        "(asymmetric keys cannot rotate automatically)."
    ),
)


def period_seconds(value: Any) -> int | None:
    """A protobuf duration such as "7776000s" in seconds (None when unset)."""
    text = str(value or "").strip()
    if not text.endswith("s"):
        return None
    try:
        return int(float(text[:-1]))
    except ValueError:
        return None


def judge(key: Mapping[str, Any]) -> CheckResult:
    """Pass when the rotation period is set and at most 90 days."""
    name = str(key.get("name") or "?")
    location = name.split("/")[3] if name.count("/") >= 3 else ""
    period = period_seconds(key.get("rotationPeriod"))
    ok = period is not None and period <= MAX_PERIOD_SECONDS
    detail = (
        "No automatic rotation."
        if period is None
        else f"Rotates every {period // 86400} days" + ("." if ok else " (limit 90).")
    )
    return CheckResult(name, ok, location, detail)


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge every enabled symmetric key of the project `unit`."""
    return [
        judge(k)
        for k in crypto_keys(session, unit)
        if k.get("purpose") == "ENCRYPT_DECRYPT"
        and str((k.get("primary") or {}).get("state", "ENABLED")) == "ENABLED"
    ]
