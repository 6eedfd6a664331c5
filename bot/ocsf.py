"""Findings as OCSF events: a pure mapping, records in, dicts out.

It follows the Open Cybersecurity Schema Framework **1.3.0**, class **Compliance Finding**
(``class_uid`` 2003, category Findings, ``category_uid`` 2), activity Create
(``type_uid`` 200301): one event per finding of a scan, passing ones included when asked.

How our data fills the class:

- ``metadata``: ``version`` (the schema version above), ``product`` (name, vendor_name,
  version of cspm-bot), ``event_code`` (the check id), ``uid`` (``scan-<id>-finding-<id>``).
- ``finding_info``: ``uid`` stable across scans (``<check id>:<region or global>:<resource>``),
  ``title`` (the check's title), ``desc`` (the finding's one-line detail, if any).
- ``resources``: one resource with ``uid`` (id/ARN as the cloud gives it), ``region``,
  ``type`` (the service part of the check id, e.g. ``s3``); no region for global resources.
- ``status_code`` ``PASS``/``FAIL`` (the check's verdict as the source reports it),
  ``status_id``/``status``: 1 ``New``, or 3 ``Suppressed`` while a mute covers the finding.
- ``severity_id``/``severity``: 5 Critical, 4 High, 3 Medium, 2 Low.
- ``compliance``: ``control`` (the check id), ``requirements`` (the benchmark control ids as
  ``<framework> <control>``, e.g. ``cis-aws-3.0 1.4``), ``standards`` (the benchmarks' titles),
  ``status_id``/``status`` 1 ``Pass`` or 3 ``Fail``.
- ``cloud``: ``provider`` (``AWS``, ``Azure``, ``GCP``) and ``account.uid``; ``time`` is when
  the scan finished (or started) in epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain import Severity
from bot.records import FindingItem, ScanRow

OCSF_VERSION = "1.3.0"
CLASS_UID = 2003
CLASS_NAME = "Compliance Finding"
CATEGORY_UID = 2
CATEGORY_NAME = "Findings"
ACTIVITY_CREATE = 1
PRODUCT = {"name": "cspm-bot", "vendor_name": "cspm-bot"}

REQUIRED_FIELDS = (
    "activity_id",
    "category_uid",
    "class_uid",
    "type_uid",
    "severity_id",
    "time",
    "metadata",
    "finding_info",
    "compliance",
)
"""The attributes the class requires (besides the recommended ones we also fill)."""

SEVERITY_IDS: Mapping[Severity, tuple[int, str]] = {
    Severity.CRITICAL: (5, "Critical"),
    Severity.HIGH: (4, "High"),
    Severity.MEDIUM: (3, "Medium"),
    Severity.LOW: (2, "Low"),
}
CLOUD_PROVIDERS: Mapping[str, str] = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}


def _epoch_ms(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def finding_uid(item: FindingItem) -> str:
    """The same finding in every scan: ``<check id>:<region or global>:<resource>``."""
    return f"{item.check_id}:{item.region or 'global'}:{item.resource}"


def compliance_finding(
    item: FindingItem,
    scan: ScanRow,
    account_id: str,
    *,
    product_version: str,
    standards: Mapping[str, str],
) -> dict[str, Any]:
    """One finding as an OCSF Compliance Finding (Create) event.

    `standards` maps framework ids to their titles (``cis-aws-3.0`` → the CIS benchmark's
    full name); `product_version` is cspm-bot's version.
    """
    severity_id, severity = SEVERITY_IDS[item.severity]
    muted = item.muted_until is not None
    status_id, status = (3, "Suppressed") if muted else (1, "New")
    parts = item.check_id.split(".")
    resource_type = parts[1] if len(parts) > 2 else parts[0]
    provider = str(scan.provider or "")
    resource: dict[str, Any] = {"uid": item.resource, "type": resource_type}
    if item.region:
        resource["region"] = item.region
    finding_info: dict[str, Any] = {"uid": finding_uid(item), "title": item.title}
    if item.detail:
        finding_info["desc"] = item.detail
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": f"{CLASS_NAME}: Create",
        "time": _epoch_ms(scan.finished_at or scan.started_at or scan.queued_at),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_code": "PASS" if item.passed else "FAIL",
        "metadata": {
            "version": OCSF_VERSION,
            "product": dict(PRODUCT, version=product_version),
            "event_code": item.check_id,
            "uid": f"scan-{scan.scan_id}-finding-{item.finding_id}",
        },
        "finding_info": finding_info,
        "resources": [resource],
        "compliance": {
            "control": item.check_id,
            "requirements": list(item.control_ids),
            "standards": [
                standards.get(fw, fw) for fw, ids in sorted(item.controls.items()) if ids
            ],
            "status_id": 1 if item.passed else 3,
            "status": "Pass" if item.passed else "Fail",
        },
        "cloud": {
            "provider": CLOUD_PROVIDERS.get(provider, provider),
            "account": {"uid": account_id},
        },
        "unmapped": {"project": scan.project_name, "scan_id": scan.scan_id},
    }
    if muted and item.muted_until is not None:
        event["unmapped"]["muted_until"] = item.muted_until.isoformat()
    return event
