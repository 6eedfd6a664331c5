"""projects.last_status: count projects per status without touching scans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_status", sa.String(length=24), nullable=True))
        batch_op.create_index(batch_op.f("ix_projects_last_status"), ["last_status"])
    op.execute(
        "UPDATE projects SET last_status = "
        "(SELECT scans.status FROM scans WHERE scans.id = projects.last_scan_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_last_status"))
        batch_op.drop_column("last_status")
