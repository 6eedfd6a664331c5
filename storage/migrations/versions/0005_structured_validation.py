"""structured validation results: one column per field instead of one line of text

Connectors get `last_validation_category`, `_code`, `_message`, `_remediation` and `_missing`
(the missing permissions) in place of `last_validation_error` ("<label>: <message> (<code>)");
error-log entries get `missing_permissions`. Existing rows are converted once, here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The category labels the old one-line text started with (as `ErrorCategory.label` had them
# when that text was written), and the next step shown for each.
_LABELS = {
    "authentication failed": "invalid_credentials",
    "permission denied": "permission_denied",
    "temporary cloud error": "temporary",
    "unknown processing error": "unknown",
}
_REMEDIATION = {
    "invalid_credentials": "Replace the connector with working credentials.",
    "permission_denied": "Grant the missing permission to the identity.",
    "temporary": "Try again in a few minutes.",
    "unknown": "Contact support if it keeps failing.",
}
_TRAILING_CODE = re.compile(r"\s*\(([^()]{1,120})\)\s*$")
_PERMISSION = re.compile(r"\b([a-z0-9-]+:[A-Za-z0-9*]+)\b")


def _parse_old_text(text: str) -> tuple[str, str, str]:
    """(category, code, message) of an old one-line validation error."""
    text = text.strip()
    category = "unknown"
    for label, value in _LABELS.items():
        if text.startswith(label + ":"):
            category, text = value, text[len(label) + 1 :].strip()
            break
    code = ""
    found = _TRAILING_CODE.search(text)
    if found:
        code, text = found.group(1), text[: found.start()]
    return category, code, text.strip() or "The cloud rejected the credentials."


def _permissions_in(category: str, message: str) -> list[str]:
    if category != "permission_denied":
        return []
    found = _PERMISSION.search(message)
    return [found.group(1)] if found else []


def upgrade() -> None:
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_validation_category", sa.String(length=24), nullable=True)
        )
        batch_op.add_column(sa.Column("last_validation_code", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("last_validation_message", sa.String(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_validation_remediation", sa.String(length=500), nullable=True)
        )
        batch_op.add_column(sa.Column("last_validation_missing", sa.JSON(), nullable=True))
    with op.batch_alter_table("error_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("missing_permissions", sa.JSON(), nullable=False, server_default="[]")
        )

    bind = op.get_bind()
    connectors = sa.table(
        "connectors",
        sa.column("id", sa.Integer),
        sa.column("last_validation_ok", sa.Boolean),
        sa.column("last_validation_error", sa.Text),
        sa.column("last_validation_category", sa.String),
        sa.column("last_validation_code", sa.String),
        sa.column("last_validation_message", sa.String),
        sa.column("last_validation_remediation", sa.String),
        sa.column("last_validation_missing", sa.JSON),
    )
    rows = bind.execute(
        sa.select(connectors.c.id, connectors.c.last_validation_error).where(
            connectors.c.last_validation_ok.is_(False)
        )
    ).all()
    for connector_id, text in rows:
        category, code, message = _parse_old_text(text or "")
        bind.execute(
            connectors.update()
            .where(connectors.c.id == connector_id)
            .values(
                last_validation_category=category,
                last_validation_code=code[:120],
                last_validation_message=message[:500],
                last_validation_remediation=_REMEDIATION[category],
                last_validation_missing=_permissions_in(category, message),
            )
        )

    entries = sa.table(
        "error_entries",
        sa.column("id", sa.Integer),
        sa.column("category", sa.String),
        sa.column("message", sa.String),
        sa.column("missing_permissions", sa.JSON),
    )
    denied = bind.execute(
        sa.select(entries.c.id, entries.c.message).where(entries.c.category == "permission_denied")
    ).all()
    for entry_id, message in denied:
        found = _permissions_in("permission_denied", message or "")
        if found:
            bind.execute(
                entries.update().where(entries.c.id == entry_id).values(missing_permissions=found)
            )

    # A plain ALTER (PostgreSQL, SQLite 3.35+): a batch copy would drop and recreate the
    # table, which SQLite refuses while projects and scans reference its rows.
    op.execute("ALTER TABLE connectors DROP COLUMN last_validation_error")


def downgrade() -> None:
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_validation_error", sa.Text(), nullable=True))
    bind = op.get_bind()
    connectors = sa.table(
        "connectors",
        sa.column("id", sa.Integer),
        sa.column("last_validation_error", sa.Text),
        sa.column("last_validation_category", sa.String),
        sa.column("last_validation_code", sa.String),
        sa.column("last_validation_message", sa.String),
    )
    labels = {value: label for label, value in _LABELS.items()}
    rows = bind.execute(
        sa.select(
            connectors.c.id,
            connectors.c.last_validation_category,
            connectors.c.last_validation_code,
            connectors.c.last_validation_message,
        ).where(connectors.c.last_validation_category.is_not(None))
    ).all()
    for connector_id, category, code, message in rows:
        label = labels.get(category, "unknown processing error")
        text = f"{label}: {message}" + (f" ({code})" if code else "")
        bind.execute(
            connectors.update()
            .where(connectors.c.id == connector_id)
            .values(last_validation_error=text)
        )
    for column in ("category", "code", "message", "remediation", "missing"):
        op.execute(f"ALTER TABLE connectors DROP COLUMN last_validation_{column}")
    op.execute("ALTER TABLE error_entries DROP COLUMN missing_permissions")
