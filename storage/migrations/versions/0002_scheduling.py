"""scheduling: leases, fires, digests, alerts, APScheduler job store

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    op.create_table(
        "schedule_fires",
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_by", sa.String(length=120), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=300), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "fire_time", name=op.f("pk_schedule_fires")),
    )
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("cadence", sa.String(length=10), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("all_clear", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_digest_subscriptions_channel_id")),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("ts", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["digest_subscriptions.id"],
            name=op.f("fk_digest_deliveries_subscription_id_digest_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_deliveries")),
        sa.UniqueConstraint("subscription_id", "period_end", name="uq_digest_deliveries_period"),
    )
    with op.batch_alter_table("digest_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_digest_deliveries_status", ["status", "id"], unique=False)

    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=True),
        sa.Column("post_attempts", sa.Integer(), nullable=False),
        sa.Column("last_post_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_post_error", sa.String(length=300), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("opened_scan_id", sa.Integer(), nullable=False),
        sa.Column("last_scan_id", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.String(length=24), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("support_flagged", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_scan_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_alert_incidents_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_incidents")),
    )
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.create_index(
            "uq_alert_incidents_one_open",
            ["project_id"],
            unique=True,
            sqlite_where=sa.text("is_open"),
            postgresql_where=sa.text("is_open"),
        )

    op.create_table(
        "scan_followups",
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("processed_by", sa.String(length=120), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["scans.id"],
            name=op.f("fk_scan_followups_scan_id_scans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scan_id", name=op.f("pk_scan_followups")),
    )

    # APScheduler 3's SQLAlchemyJobStore table, exactly as the job store declares it (it only
    # creates the table when missing, so the migration owns the schema).
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_apscheduler_jobs_next_run_time", ["next_run_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_apscheduler_jobs_next_run_time")
    op.drop_table("apscheduler_jobs")
    op.drop_table("scan_followups")
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alert_incidents_one_open",
            sqlite_where=sa.text("is_open"),
            postgresql_where=sa.text("is_open"),
        )
    op.drop_table("alert_incidents")
    with op.batch_alter_table("digest_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_deliveries_status")
    op.drop_table("digest_deliveries")
    op.drop_table("digest_subscriptions")
    op.drop_table("schedule_fires")
    op.drop_table("scheduler_leases")
