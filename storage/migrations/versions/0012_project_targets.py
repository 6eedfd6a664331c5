"""projects scan one account of their connector's organization (discovery)

`projects.target_id` (the AWS account id, Azure subscription id or GCP project id a
discovered project scans) and `projects.target` (what a scan needs to reach it: for AWS the
member role ARN and external ID), unique per connector so discovering again updates the
project instead of adding another.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_UNIQUE_WHERE = sa.text("target_id IS NOT NULL")


def upgrade() -> None:
    # Plain ADD COLUMNs: on SQLite a batch copy would drop and recreate `projects`, and
    # dropping it cascades to their scans.
    op.add_column("projects", sa.Column("target_id", sa.String(200), nullable=True))
    op.add_column("projects", sa.Column("target", sa.JSON(), nullable=True))
    op.create_index(
        "uq_projects_connector_target",
        "projects",
        ["connector_id", "target_id"],
        unique=True,
        sqlite_where=_UNIQUE_WHERE,
        postgresql_where=_UNIQUE_WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_projects_connector_target", table_name="projects")
    # Plain DROP COLUMNs (PostgreSQL, SQLite 3.35+), for the same reason as above.
    op.execute("ALTER TABLE projects DROP COLUMN target")
    op.execute("ALTER TABLE projects DROP COLUMN target_id")
