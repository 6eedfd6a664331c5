"""on-call: project owners, paged incidents, permalinks of alerts and digests

Projects get `owner` (a Slack user id ``U…`` or user-group id ``S…`` that alerts mention).
Alert incidents get `paged` (someone was mentioned for this incident already) and
`permalink` (the link to the alert message, its thread). Digest deliveries get `permalink`
and `project_ids` (the still-failing projects the digest listed), so an alert can link to
the digest that reported its project.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns (all nullable or defaulted: existing rows stay valid)."""
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("owner", sa.String(40), nullable=True))
    with op.batch_alter_table("alert_incidents") as batch:
        batch.add_column(
            sa.Column("paged", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("permalink", sa.String(300), nullable=True))
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.add_column(sa.Column("permalink", sa.String(300), nullable=True))
        batch.add_column(sa.Column("project_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.drop_column("project_ids")
        batch.drop_column("permalink")
    with op.batch_alter_table("alert_incidents") as batch:
        batch.drop_column("permalink")
        batch.drop_column("paged")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("owner")
