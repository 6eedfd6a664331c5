"""Domain vocabulary shared by the scan engine, the cloud adapters, storage and every front end.

Nothing here imports Slack, SQLAlchemy or a cloud SDK: these are plain values that every layer
can pass around. The names follow the product's troubleshooting workflow for scan failures.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeAlias

Provider: TypeAlias = str
"""A cloud provider's registered name ("aws", "azure", "gcp", ...): see `bot.providers`."""


class ScanStatus(StrEnum):
    """A scan's status: the four end states plus the two live ones."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def is_active(self) -> bool:
        """True while the scan is queued or running."""
        return self in (ScanStatus.QUEUED, ScanStatus.RUNNING)

    @property
    def has_errors(self) -> bool:
        """Only Partially Completed and Failed scans carry error logs (troubleshooting step 3)."""
        return self in (ScanStatus.PARTIALLY_COMPLETED, ScanStatus.FAILED)

    @property
    def label(self) -> str:
        """The human label used on every surface."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ScanStatus.QUEUED: "Queued",
    ScanStatus.RUNNING: "Running",
    ScanStatus.COMPLETED: "Completed",
    ScanStatus.PARTIALLY_COMPLETED: "Partially Completed",
    ScanStatus.FAILED: "Failed",
    ScanStatus.STOPPED: "Stopped",
}


class JobStatus(StrEnum):
    """One job of a scan (one AWS region, Azure subscription or GCP project)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped by a user before or while it ran
    INTERRUPTED = "interrupted"  # the process died while it ran (crash recovery)

    @property
    def is_finished(self) -> bool:
        """True once the job will not change again."""
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class ErrorCategory(StrEnum):
    """Why a job failed; each category has its own next step."""

    INVALID_CREDENTIALS = "invalid_credentials"
    PERMISSION_DENIED = "permission_denied"
    # The connector's identity works but may not assume a project's role (trust policy or
    # external id): fixed on the role, not by replacing the connector.
    ASSUME_ROLE_FAILED = "assume_role_failed"
    TEMPORARY = "temporary"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Short human wording, e.g. for a status message."""
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    ErrorCategory.INVALID_CREDENTIALS: "authentication failed",
    ErrorCategory.PERMISSION_DENIED: "permission denied",
    ErrorCategory.ASSUME_ROLE_FAILED: "role assumption failed",
    ErrorCategory.TEMPORARY: "temporary cloud error",
    ErrorCategory.UNKNOWN: "unknown processing error",
}


class Severity(StrEnum):
    """A check's severity, most severe first in `ORDER`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)

GLOBAL_UNIT = "global"
"""The AWS job unit for account-wide services (IAM, S3 account settings, CloudTrail listing)."""

DB_ID_MAX = 2**31 - 1
"""The largest id (and page number) the database's integer columns hold (PostgreSQL INTEGER):
anything larger is no row, and must never reach a query."""


def looks_like_id(text: str) -> bool:
    """True when `text` is written as an id (ASCII digits), whether or not it fits."""
    digits = str(text).strip()
    return bool(digits) and digits.isascii() and digits.isdigit()


def parse_id(text: str) -> int | None:
    """The id written in `text` (ASCII digits), or None when `text` is not one or is beyond
    `DB_ID_MAX` (so it names no row)."""
    if not looks_like_id(text) or len(str(text).strip()) > 10:
        return None
    value = int(str(text).strip())
    return value if value <= DB_ID_MAX else None


# --------------------------------------------------------------------------------------------
# Credentials (write-only: never rendered, logged or stored in plain text)
# --------------------------------------------------------------------------------------------


class Credentials(Protocol):
    """Typed credentials of any provider (each provider folder defines its own class)."""

    def secret_values(self) -> list[str]:
        """Every value that must never appear in a log or message."""
        ...


def mask(value: str, keep: int = 4) -> str:
    """A masked fingerprint such as ``AKIA…WXYZ``; short values are masked whole."""
    if len(value) <= keep * 2 + 2:
        return "…" + value[-2:] if len(value) > 4 else "…"
    return f"{value[:keep]}…{value[-keep:]}"


# --------------------------------------------------------------------------------------------
# Cloud outcomes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudError:
    """A classified, redacted cloud failure: what an error-log entry is made of."""

    category: ErrorCategory
    code: str  # the provider's own code, e.g. "InvalidClientTokenId", "AADSTS7000215"
    message: str  # redacted, one line
    remediation: str  # one sentence: what the user does next
    detail: str = ""  # redacted, may be longer (the provider's full message)
    # For permission_denied: the permissions the provider named as missing, when it did
    # (e.g. ("ec2:DescribeRegions",)); filled by the adapter that classified the error.
    missing_permissions: tuple[str, ...] = ()


class CloudCallError(Exception):
    """Raised by the cloud adapters with an already classified, redacted error."""

    def __init__(self, error: CloudError) -> None:
        super().__init__(f"{error.category}: {error.code}: {error.message}")
        self.error = error


class ScanCancelled(Exception):
    """Raised at a cloud call when the user stopped the scan."""


class CancelToken:
    """Cooperative cancellation: the engine sets it, every cloud call checks it first."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask every job that holds this token to stop at its next cloud call."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once `cancel()` was called."""
        return self._event.is_set()

    def checkpoint(self) -> None:
        """Raise `ScanCancelled` if the scan was stopped."""
        if self._event.is_set():
            raise ScanCancelled()


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating credentials live against the cloud."""

    ok: bool
    account_id: str = ""  # AWS account id, Azure tenant id, GCP project id
    account_label: str = ""  # e.g. "arn:aws:iam::123456789012:user/scanner"
    scopes: tuple[str, ...] = ()  # Azure subscription ids / GCP project ids reached
    error: CloudError | None = None


@dataclass(frozen=True)
class CloudEndpoints:
    """Where the cloud SDKs send their calls (sovereign clouds, proxies, test stand-ins).

    `urls` holds each provider's endpoint settings by name (``"azure_arm_url"``, ...): every
    provider declares its own with their defaults (`bot.providers.spec.EndpointSetting`), and
    the settings fill them in. The other fields apply to every provider.
    """

    urls: Mapping[str, str | None] = field(default_factory=dict)
    ca_bundle: str | None = None
    timeout_seconds: float = 20.0
    max_attempts: int = 3  # retry budget for temporary errors, first attempt included
    concurrency: int = 8  # per-resource calls one job makes at once (CSPM_SCAN_CONCURRENCY)

    def url(self, name: str) -> str:
        """A required endpoint setting (KeyError when it is neither set nor defaulted)."""
        value = self.urls.get(name)
        if not value:
            raise KeyError(f"endpoint setting {name!r} is not configured")
        return value

    def optional(self, name: str) -> str | None:
        """An endpoint setting that may be unset (None)."""
        return self.urls.get(name) or None


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one resource."""

    resource: str
    passed: bool
    region: str = ""
    detail: str = ""


@dataclass(frozen=True)
class CheckMeta:
    """A check's metadata, kept as data beside its code."""

    id: str
    provider: Provider
    title: str
    severity: Severity
    remediation: str
    scope: str = "unit"  # AWS: "global" runs in the global job, "regional" in each region job
    frameworks: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """Benchmark control ids by framework, e.g. ``{"cis-aws-3.0": ("1.4",)}`` (lists are
    accepted and stored as tuples)."""
    semantics: str = ""
    """How the verdict is reached where readings of the control differ (empty: as titled)."""

    def __post_init__(self) -> None:
        frozen = {str(k): tuple(str(c) for c in v) for k, v in dict(self.frameworks).items()}
        object.__setattr__(self, "frameworks", frozen)

    def controls(self, framework: str) -> tuple[str, ...]:
        """The control ids this check covers in `framework` (empty when unmapped)."""
        return tuple(self.frameworks.get(framework, ()))


@dataclass(frozen=True)
class DiscoveredTarget:
    """One account, subscription or project a connector's identity can scan, as discovery
    found it: the cloud's id for it, its name, what a scan needs to reach it (`target`, e.g.
    the AWS member role; not secret) and the project scope that covers it."""

    target_id: str
    name: str
    target: Mapping[str, str] = field(default_factory=dict)
    scope: tuple[str, ...] = ()


@dataclass
class JobPlan:
    """One unit of a scan: an AWS region (or "global"), an Azure subscription, a GCP project."""

    unit: str
    check_ids: list[str] = field(default_factory=list)
