"""SQLAlchemy 2.x typed models. Enum-like columns hold the `bot.domain` StrEnum values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Timezone-aware now, the only clock storage uses."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Store UTC, always hand back timezone-aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Connector(Base):
    """A cloud integration. Credentials are encrypted; deleting keeps a tombstone row."""

    __tablename__ = "connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    provider: Mapped[str] = mapped_column(String(10))
    account_id: Mapped[str] = mapped_column(String(200), default="")
    account_label: Mapped[str] = mapped_column(String(300), default="")
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    fingerprint: Mapped[str] = mapped_column(String(80))
    # NULL once deleted: the secret material is destroyed, the row stays for history.
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("connectors.id"), nullable=True)
    last_validated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_validation_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # The last failed validation's classified error, one column per field (all NULL after a
    # successful validation or before the first one).
    last_validation_category: Mapped[str | None] = mapped_column(String(24), nullable=True)
    last_validation_code: Mapped[str | None] = mapped_column(String(120), nullable=True)
    last_validation_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_validation_remediation: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_validation_missing: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    projects: Mapped[list[Project]] = relationship(back_populates="connector")

    __table_args__ = (
        # Live connector names are unique; tombstones may repeat a name.
        Index(
            "uq_connectors_live_name",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    @property
    def is_deleted(self) -> bool:
        """True for a tombstone."""
        return self.deleted_at is not None


class Project(Base):
    """A named scan configuration: connector, scope, checks, schedule and alert channel."""

    __tablename__ = "projects"
    __table_args__ = (
        # A connector's projects by name: counted and listed a few at a time per connector.
        Index("ix_projects_connector_name", "connector_id", "name"),
        # One project per discovered account of a connector: discovery again updates it.
        Index(
            "uq_projects_connector_target",
            "connector_id",
            "target_id",
            unique=True,
            sqlite_where=text("target_id IS NOT NULL"),
            postgresql_where=text("target_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id"))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: everything reachable
    check_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all checks
    schedule_cron: Mapped[str | None] = mapped_column(String(100), nullable=True)
    schedule_tz: Mapped[str | None] = mapped_column(String(64), nullable=True)
    alert_channel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Who alerts mention: a Slack user id (U…/W…) or user-group id (S…); NULL: the default.
    owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Denormalised pointer to the newest scan, so project lists filter by status and page
    # without scanning history (no FK: scans already reference projects).
    last_scan_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # ... and its status, so counting projects per status never touches the scans table.
    last_status: Mapped[str | None] = mapped_column(String(24), nullable=True, index=True)
    # The account, subscription or project of the connector's organization this project scans
    # (set by discovery; NULL: what the connector's own identity reaches). `target_id` is the
    # cloud's id of it (AWS account id, Azure subscription id, GCP project id); `target` what
    # a scan needs to reach it (AWS: account_id, role_arn, external_id). Not secret.
    target_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    target: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)

    connector: Mapped[Connector] = relationship(back_populates="projects")


class Scan(Base):
    """One execution of a project."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id"))
    status: Mapped[str] = mapped_column(String(24))
    status_message: Mapped[str] = mapped_column(String(300), default="")
    trigger: Mapped[str] = mapped_column(String(20))  # manual, schedule, rerun, cli, retry
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stop_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stopped_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)  # host:pid, for people
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The process that planned it (or holds it queued in memory): its lease is its liveness.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"), nullable=True)
    jobs_total: Mapped[int] = mapped_column(Integer, default=0)
    # Jobs that reached a final status; the job whose result makes it reach jobs_total
    # finalises the scan.
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)
    jobs_ok: Mapped[int] = mapped_column(Integer, default=0)
    jobs_failed: Mapped[int] = mapped_column(Integer, default=0)

    jobs: Mapped[list[Job]] = relationship(back_populates="scan", order_by="Job.id")

    __table_args__ = (
        # History of one project and its latest scan.
        Index("ix_scans_project_created", "project_id", "created_at", "id"),
        # Failed scans since a time (digests).
        Index("ix_scans_status_finished", "status", "finished_at"),
        # One active scan per project, enforced by the database itself.
        Index(
            "uq_scans_one_active_per_project",
            "project_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


class Job(Base):
    """One unit of a scan: an AWS region or "global", an Azure subscription, a GCP project."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    unit: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    findings_failed: Mapped[int] = mapped_column(Integer, default=0)
    findings_total: Mapped[int] = mapped_column(Integer, default=0)
    # The process running it (or holding it queued in its memory); NULL while a durable queue
    # holds it.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"), nullable=True, index=True)
    # Deliveries of the job to a runner: more than 1 means it was delivered again (a
    # redelivered job whose result is already written does nothing but count here).
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    scan: Mapped[Scan] = relationship(back_populates="jobs")


class Owner(Base):
    """A process that runs scan work, identified so its death can be proven.

    On its own host a process is dead when its pid is gone or now belongs to a process that
    started at another time (`start_ticks`), or when the host rebooted (`boot_id` changed).
    Elsewhere only its lease tells: it is extended by the process's heartbeat.
    """

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    # Process start time in clock ticks since boot (/proc/<pid>/stat field 22); 0 if unknown.
    start_ticks: Mapped[int] = mapped_column(BigInteger)
    boot_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("uq_owners_process", "host", "boot_id", "pid", "start_ticks", unique=True),
    )


class ErrorEntry(Base):
    """A classified, redacted error of a failed job (one entry of a scan's error log)."""

    __tablename__ = "error_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True
    )
    unit: Mapped[str] = mapped_column(String(120), default="")
    check_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    category: Mapped[str] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(String(500))
    detail: Mapped[str] = mapped_column(Text, default="")
    remediation: Mapped[str] = mapped_column(String(500))
    # For permission_denied: the permissions the cloud named as missing (may be empty).
    missing_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Finding(Base):
    """A check's verdict on one resource."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True
    )
    check_id: Mapped[str] = mapped_column(String(80))
    resource: Mapped[str] = mapped_column(String(500))
    region: Mapped[str] = mapped_column(String(64), default="")
    severity: Mapped[str] = mapped_column(String(10))
    passed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(String(1000), default="")


class AuditEvent(Base):
    """Who did what: every mutation from any front end."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KeyCheck(Base):
    """The key check value: proof of which key the connectors' secrets are encrypted with.

    One row at most (id 1): a Fernet token of a known constant made with the key that
    encrypts, and that key's id (a one-way fingerprint, never the key). A key that cannot
    decrypt the token is not the key the connectors were saved with.
    """

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
