"""Tables of the scheduler, the failure digests and the failure alerts.

They live on `storage.models.Base` so Alembic and the test fixtures see them once this module
is imported (`storage/migrations/env.py` and `bot.scheduling` import it).

- `scheduler_leases`: one row per lease; the holder is the only process that fires schedules.
- `schedule_fires`: one row per fired occurrence of a schedule, so a second process firing the
  same occurrence (a lease hand-over race, a restart) is a no-op.
- `digest_subscriptions`: one per channel; `last_period_end` is the persisted period marker.
- `digest_deliveries`: the outbox: one row per (subscription, period end), written with the
  marker in one transaction, sent afterwards, re-sent after a crash until marked sent.
- `alert_incidents`: one open incident per project: the alert message (channel, ts) that the
  project's next statuses update or reply to, instead of posting new messages.
- `scan_followups`: each finished scan is followed up (alert, retry) exactly once.

`apscheduler_jobs` is APScheduler's own job store table, declared here exactly as its
`SQLAlchemyJobStore` declares it (so migrations own it and autogenerate leaves it alone); only
APScheduler reads and writes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UtcDateTime, utcnow


class SchedulerLease(Base):
    """A named lease: `holder` fires schedules until `expires_at` unless it renews."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScheduleFire(Base):
    """One fired occurrence of a schedule (idempotency key: job id + scheduled time)."""

    __tablename__ = "schedule_fires"

    job_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    fired_by: Mapped[str] = mapped_column(String(120))
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(300), default="claimed")
    scan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DigestSubscription(Base):
    """A channel's failure digest: daily or weekly at a local time in a time zone."""

    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40), unique=True)
    cadence: Mapped[str] = mapped_column(String(10))  # "daily" | "weekly"
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0 = Monday
    hour: Mapped[int] = mapped_column(Integer)
    minute: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    all_clear: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The end of the last period a digest was recorded for (sent, pending or skipped).
    last_period_end: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DigestDelivery(Base):
    """The digest outbox: computed, then sent; pending rows are re-sent after a restart."""

    __tablename__ = "digest_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("digest_subscriptions.id", ondelete="CASCADE")
    )
    channel_id: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    # pending → sending → sent; skipped (empty period, no all-clear); failed (gave up)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    ts: Mapped[str | None] = mapped_column(String(40), nullable=True)
    permalink: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The still-failing projects this digest listed (alerts link to the digest).
    project_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("subscription_id", "period_end", name="uq_digest_deliveries_period"),
        Index("ix_digest_deliveries_status", "status", "id"),
    )


class AlertIncident(Base):
    """One failure incident of a project and the one alert message that tracks it."""

    __tablename__ = "alert_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str | None] = mapped_column(String(40), nullable=True)  # NULL until posted
    post_attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed first posts
    last_post_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_post_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    opened_scan_id: Mapped[int] = mapped_column(Integer)
    last_scan_id: Mapped[int] = mapped_column(Integer)
    last_status: Mapped[str] = mapped_column(String(24))
    failures: Mapped[int] = mapped_column(Integer, default=1)
    support_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # Someone (the owner or the default mention) was mentioned for this incident already.
    paged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    permalink: Mapped[str | None] = mapped_column(String(300), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_by_scan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        # At most one open incident per project, enforced by the database.
        Index(
            "uq_alert_incidents_one_open",
            "project_id",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
    )


class ScanFollowup(Base):
    """A finished scan whose alert and retry decision were taken (exactly once)."""

    __tablename__ = "scan_followups"

    scan_id: Mapped[int] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    processed_by: Mapped[str] = mapped_column(String(120))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(Text, default="")


apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
"""APScheduler 3's job store table (`bot.scheduling.jobs.SharedJobStore`)."""


class ChannelSubscription(Base):
    """A channel's slice of the alerts: a kind (``findings``), the projects whose names match
    a pattern (``*`` wildcards), one provider or all, and the lowest severity it wants."""

    __tablename__ = "channel_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12), index=True)
    project_pattern: Mapped[str] = mapped_column(String(100), default="*", server_default="*")
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    min_severity: Mapped[str] = mapped_column(String(10), default="high", server_default="high")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "channel_id",
            "kind",
            "project_pattern",
            "provider",
            "min_severity",
            name="uq_channel_subscriptions_slice",
        ),
    )


class FindingsAlert(Base):
    """The findings alert of one scan in one subscribed channel (written before posting, so
    a scan's findings reach a channel once)."""

    __tablename__ = "findings_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("channel_subscriptions.id", ondelete="CASCADE")
    )
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str | None] = mapped_column(String(40), nullable=True)
    new_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolved_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("scan_id", "subscription_id", name="uq_findings_alerts_once"),
    )


class FindingMute(Base):
    """A project's finding (check, resource, region) muted until `expires_at`, and why."""

    __tablename__ = "finding_mutes"
    __table_args__ = (Index("ix_finding_mutes_project_expires", "project_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(80))
    resource: Mapped[str] = mapped_column(String(500))
    region: Mapped[str] = mapped_column(String(64), default="", server_default="")
    severity: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(300))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FailureAlertCopy(Base):
    """A failure incident's alert in a channel subscribed to ``failures`` (besides the
    project's alert channel): one per (incident, channel), written in the follow-up's
    transaction before the message is posted, so each channel gets the incident's alert once
    and its updates in the thread. ``ts`` is NULL until the message is posted."""

    __tablename__ = "failure_alert_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("alert_incidents.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str | None] = mapped_column(String(40), nullable=True)
    post_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_post_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_post_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("incident_id", "channel_id", name="uq_failure_alert_copies_once"),
    )
