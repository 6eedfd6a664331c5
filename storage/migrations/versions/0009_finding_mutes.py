"""finding mutes: a failing finding left out of alerts and counts until its mute expires

A mute names a project's finding by (check id, resource, region), with a reason, who muted it
and when it expires.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `finding_mutes`."""
    op.create_table(
        "finding_mutes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("check_id", sa.String(80), nullable=False),
        sa.Column("resource", sa.String(500), nullable=False),
        sa.Column("region", sa.String(64), nullable=False, server_default=""),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_finding_mutes_project_expires", "finding_mutes", ["project_id", "expires_at"]
    )


def downgrade() -> None:
    """Drop `finding_mutes`."""
    op.drop_index("ix_finding_mutes_project_expires", table_name="finding_mutes")
    op.drop_table("finding_mutes")
