"""Realistic view data for the builder tests (every field overridable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus, Severity
from bot.records import (
    ConnectorInfo,
    ErrorEntryView,
    FailingFinding,
    JobRow,
    ProjectInfo,
    ProjectRow,
    ScanRow,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LONG_NAME = "prod-" + "x" * 195  # 200 characters
NASTY = "<!channel> & <@U123> *bold* `code` ```fence``` > quote"

AWS_REGIONS = [
    "global", "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
    "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
    "ap-southeast-1", "ap-southeast-2", "ca-central-1", "sa-east-1",
]  # fmt: skip


def jobs(failed: int = 2, total: int = 17) -> list[JobRow]:
    """AWS jobs, the first `failed` of them failed with an auth error."""
    out = []
    for i, unit in enumerate(AWS_REGIONS[:total]):
        if i < failed:
            out.append(
                JobRow(
                    unit,
                    JobStatus.FAILED,
                    "The security token included in the request is invalid.",
                    ErrorCategory.INVALID_CREDENTIALS,
                )
            )
        else:
            out.append(JobRow(unit, JobStatus.SUCCEEDED))
    return out


def project_row(project_id: int = 1, **kw: Any) -> ProjectRow:
    values: dict[str, Any] = {
        "project_id": project_id,
        "name": f"prod-aws-{project_id}",
        "provider": "aws",
        "connector_name": "prod-key",
        "status": ScanStatus.PARTIALLY_COMPLETED,
        "status_message": "2 of 17 jobs failed: authentication failed",
        "last_scan_id": 1000 + project_id,
        "last_scan_at": T0,
        "jobs": None,
    }
    values.update(kw)
    return ProjectRow(**values)


def project(**kw: Any) -> ProjectInfo:
    values: dict[str, Any] = {
        "project_id": 1,
        "name": "prod-aws",
        "provider": "aws",
        "connector_name": "prod-key",
    }
    values.update(kw)
    return ProjectInfo(**values)


def scan_row(scan_id: int = 42, status: ScanStatus = ScanStatus.FAILED, **kw: Any) -> ScanRow:
    values: dict[str, Any] = {
        "scan_id": scan_id,
        "project_id": 1,
        "status": status,
        "trigger": "manual",
        "requested_by": "U024BE7LH",
        "queued_at": T0,
        "started_at": T0,
        "finished_at": None if status.is_active else T0 + timedelta(minutes=3, seconds=12),
        "jobs_ok": 15,
        "jobs_failed": 2,
        "jobs_total": 17,
        "status_message": "2 of 17 jobs failed: authentication failed",
    }
    values.update(kw)
    return ScanRow(**values)


def entry(
    entry_id: int = 1, category: ErrorCategory = ErrorCategory.INVALID_CREDENTIALS, **kw: Any
) -> ErrorEntryView:
    codes = {
        ErrorCategory.INVALID_CREDENTIALS: "InvalidClientTokenId",
        ErrorCategory.PERMISSION_DENIED: "AccessDenied",
        ErrorCategory.ASSUME_ROLE_FAILED: "AccessDenied",
        ErrorCategory.TEMPORARY: "Throttling",
        ErrorCategory.UNKNOWN: "InternalFailure",
    }
    values: dict[str, Any] = {
        "entry_id": entry_id,
        "job_unit": "us-east-1",
        "category": category,
        "code": codes[category],
        "message": "The security token included in the request is invalid.",
        "detail": "An error occurred (InvalidClientTokenId) when calling the "
        "GetCallerIdentity operation: The security token included in the request is invalid.",
        "remediation": "Replace the connector with valid credentials.",
        "at": T0,
        "connector_id": 7,
        "missing_permission": "ec2:DescribeRegions"
        if category is ErrorCategory.PERMISSION_DENIED
        else None,
    }
    values.update(kw)
    return ErrorEntryView(**values)


def connector(connector_id: int = 7, **kw: Any) -> ConnectorInfo:
    values: dict[str, Any] = {
        "connector_id": connector_id,
        "name": "prod-key",
        "provider": "aws",
        "fingerprint": "AKIA…WXYZ",
        "account_id": "123456789012",
        "projects": ["prod-aws", "prod-aws-eu"],
        "last_validated_at": T0,
        "last_validation_ok": False,
        "last_error": CloudError(
            ErrorCategory.INVALID_CREDENTIALS,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "Replace the connector with new credentials.",
        ),
        "created_by": "U024BE7LH",
        "created_at": T0,
    }
    values.update(kw)
    return ConnectorInfo(**values)


def finding(i: int = 0, severity: Severity = Severity.HIGH, **kw: Any) -> FailingFinding:
    values: dict[str, Any] = {
        "check_id": "aws.s3.public_access_block",
        "title": "S3 bucket blocks public access",
        "severity": severity,
        "resource": f"arn:aws:s3:::bucket-{i}",
        "region": "eu-west-1",
    }
    values.update(kw)
    return FailingFinding(**values)
