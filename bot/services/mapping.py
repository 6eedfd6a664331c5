"""Stored rows → the records every front end shows (`bot.records`), in one place."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import CloudError, ErrorCategory, Provider, ScanStatus
from bot.records import ConnectorInfo, ErrorEntryView, ProjectInfo, ScanRow
from storage.models import Connector, ErrorEntry, Project, Scan


def last_error(c: Connector) -> CloudError | None:
    """A connector's last failed validation as a classified error (None if it did not fail)."""
    if c.last_validation_ok is not False or c.last_validation_category is None:
        return None
    return CloudError(
        category=ErrorCategory(c.last_validation_category),
        code=c.last_validation_code or "",
        message=c.last_validation_message or "",
        remediation=c.last_validation_remediation or "",
        missing_permissions=tuple(c.last_validation_missing or ()),
    )


def connector_info(
    c: Connector, projects: Sequence[str] = (), count: int | None = None
) -> ConnectorInfo:
    """A connector with the names (maybe only the first) and number of its projects."""
    return ConnectorInfo(
        connector_id=c.id,
        name=c.name,
        provider=Provider(c.provider),
        fingerprint=c.fingerprint,
        account_id=c.account_id,
        account_label=c.account_label,
        projects=tuple(projects),
        project_count=len(projects) if count is None else count,
        created_by=c.created_by,
        created_at=c.created_at,
        last_validated_at=c.last_validated_at,
        last_validation_ok=c.last_validation_ok,
        last_error=last_error(c),
        deleted=c.is_deleted,
    )


def project_info(p: Project, scan: Scan | None) -> ProjectInfo:
    """A project (its connector loaded) with its newest scan."""
    return ProjectInfo(
        project_id=p.id,
        name=p.name,
        provider=Provider(p.connector.provider),
        connector_id=p.connector_id,
        connector_name=p.connector.name,
        scope=tuple(p.scope),
        check_ids=tuple(p.check_ids),
        alert_channel=p.alert_channel,
        schedule_cron=p.schedule_cron,
        schedule_tz=p.schedule_tz,
        last_scan_id=scan.id if scan else None,
        last_status=ScanStatus(scan.status) if scan else None,
        last_status_message=scan.status_message if scan else "Never scanned",
        last_scan_at=(scan.finished_at or scan.started_at or scan.created_at) if scan else None,
        owner=p.owner,
    )


def scan_row(scan: Scan, project_name: str, provider: Provider | None) -> ScanRow:
    """A scan of a project reached through a connector of `provider`."""
    return ScanRow(
        scan_id=scan.id,
        project_id=scan.project_id,
        status=ScanStatus(scan.status),
        trigger=scan.trigger,
        requested_by=scan.requested_by,
        queued_at=scan.created_at,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        jobs_ok=scan.jobs_ok,
        jobs_failed=scan.jobs_failed,
        jobs_total=scan.jobs_total,
        status_message=scan.status_message,
        project_name=project_name,
        connector_id=scan.connector_id,
        provider=provider,
        stopped_by=scan.stopped_by,
    )


def error_entry(e: ErrorEntry, connector_id: int | None) -> ErrorEntryView:
    """An error-log entry; `connector_id` is the live connector to fix, if any."""
    missing = ", ".join(e.missing_permissions or ())
    return ErrorEntryView(
        entry_id=e.id,
        job_unit=e.unit,
        category=ErrorCategory(e.category),
        code=e.code,
        message=e.message,
        detail=e.detail,
        remediation=e.remediation,
        at=e.created_at,
        connector_id=connector_id,
        missing_permission=missing or None,
    )
