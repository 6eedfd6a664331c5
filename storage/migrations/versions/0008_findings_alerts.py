"""findings alerts: channel subscriptions and the one findings alert per scan and channel

`channel_subscriptions`: a channel's slice of the alerts (kind, project name pattern,
provider, lowest severity). `findings_alerts`: one row per (scan, subscription), written
before the message is posted, so each scan's findings reach each channel once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "channel_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("project_pattern", sa.String(100), nullable=False, server_default="*"),
        sa.Column("provider", sa.String(20), nullable=True),
        sa.Column("min_severity", sa.String(10), nullable=False, server_default="high"),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "channel_id",
            "kind",
            "project_pattern",
            "provider",
            "min_severity",
            name="uq_channel_subscriptions_slice",
        ),
    )
    op.create_index("ix_channel_subscriptions_kind", "channel_subscriptions", ["kind"])
    op.create_table(
        "findings_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "scan_id", sa.Integer(), sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey("channel_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("ts", sa.String(40), nullable=True),
        sa.Column("new_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("resolved_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scan_id", "subscription_id", name="uq_findings_alerts_once"),
    )


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_table("findings_alerts")
    op.drop_index("ix_channel_subscriptions_kind", table_name="channel_subscriptions")
    op.drop_table("channel_subscriptions")
