"""failure alerts in subscribed channels: one copy of an incident's alert per channel

`failure_alert_copies`: one row per (incident, channel subscribed to ``failures``), written
before the message is posted, so each subscribed channel gets an incident's alert once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "failure_alert_copies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("alert_incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("ts", sa.String(40), nullable=True),
        sa.Column("post_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_post_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_post_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("incident_id", "channel_id", name="uq_failure_alert_copies_once"),
    )
    op.create_index("ix_failure_alert_copies_incident_id", "failure_alert_copies", ["incident_id"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index("ix_failure_alert_copies_incident_id", table_name="failure_alert_copies")
    op.drop_table("failure_alert_copies")
