"""provable scan ownership and fan-in by the database

An `owners` table (one row per process that runs scan work: host, pid, process start time,
boot id and a lease extended by its heartbeat); scans and jobs reference the process that
holds them (`owner_id`). Scans count their finished jobs (`jobs_done`), so the job that
finishes last finalises the scan wherever it ran; jobs count their deliveries (`attempts`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owners",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("start_ticks", sa.BigInteger(), nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owners")),
    )
    op.create_index(
        "uq_owners_process", "owners", ["host", "boot_id", "pid", "start_ticks"], unique=True
    )
    # Plain ADD COLUMNs: on SQLite a batch copy would drop and recreate `scans` and `jobs`,
    # and dropping them cascades to their findings and error entries.
    for table in ("scans", "jobs"):
        name = f"fk_{table}_owner_id_owners"
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} ADD COLUMN owner_id INTEGER REFERENCES owners (id)")
        else:
            op.add_column(
                table,
                sa.Column(
                    "owner_id",
                    sa.Integer(),
                    sa.ForeignKey("owners.id", name=name),
                    nullable=True,
                ),
            )
    op.add_column("scans", sa.Column("jobs_done", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_jobs_owner_id", "jobs", ["owner_id"])
    # Scans already finished count every job as done.
    op.execute(
        "UPDATE scans SET jobs_done = (SELECT COUNT(*) FROM jobs WHERE jobs.scan_id = scans.id "
        "AND jobs.status NOT IN ('queued', 'running'))"
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_id", table_name="jobs")
    # Plain DROP COLUMNs (PostgreSQL, SQLite 3.35+), for the same reason as above.
    for table, column in (
        ("jobs", "attempts"),
        ("jobs", "owner_id"),
        ("scans", "jobs_done"),
        ("scans", "owner_id"),
    ):
        if op.get_bind().dialect.name != "sqlite":
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS fk_{table}_{column}_owners")
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_index("uq_owners_process", table_name="owners")
    op.drop_table("owners")
