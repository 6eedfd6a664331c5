"""Cloud SQL instances accept only encrypted connections (CIS GCP 6.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._sql import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._sql import ip_configuration, make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.sql.require_ssl",
    provider="gcp",
    title="Cloud SQL instances accept only encrypted connections",
    severity=Severity.HIGH,
    frameworks={"cis-gcp-2.0": ("6.4",)},
    remediation=(
        "Cloud SQL → instance → Connections → Security: allow only SSL connections (sslMode "
        "ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED)."
    ),
    semantics=(
        "Passes when sslMode is ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED, or (older "
        "API) requireSsl is true."
    ),
)

SAFE_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Pass when unencrypted connections are refused."""
    config = ip_configuration(instance)
    mode = str(config.get("sslMode") or "")
    ok = mode in SAFE_MODES or config.get("requireSsl") is True
    shown = mode or ("requireSsl" if config.get("requireSsl") else "unencrypted allowed")
    return ok, f"SSL mode: {shown}."


run = make_run(judge)
