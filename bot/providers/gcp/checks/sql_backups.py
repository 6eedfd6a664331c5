"""Cloud SQL instances have automated backups (CIS GCP 6.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._sql import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._sql import make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.sql.automated_backups",
    provider="gcp",
    title="Cloud SQL instances have automated backups",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("6.7",)},
    remediation="Cloud SQL → instance → Edit → Data protection: enable automated backups.",
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Pass when automated backups are enabled."""
    backup = (instance.get("settings") or {}).get("backupConfiguration") or {}
    ok = backup.get("enabled") is True
    return ok, "Automated backups are " + ("on." if ok else "off.")


run = make_run(judge)
