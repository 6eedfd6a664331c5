"""Migration 0012 on a database with projects: they keep everything and scan no discovered
account; discovered accounts are unique per connector."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.migrate import current_revision, upgrade

_PROJECT = (
    "INSERT INTO projects (id, name, connector_id, scope, check_ids, created_by, created_at"
    "{cols}) VALUES (:id, :name, 1, '[\"us-east-1\"]', '[]', 't', CURRENT_TIMESTAMP{vals})"
)


def test_0012_adds_project_targets_unique_per_connector(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db.engine, "0011")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO connectors (id, name, provider, account_id, account_label, "
                    "scopes, fingerprint, created_by, created_at) VALUES (1, 'c', 'aws', '', "
                    "'', '[]', 'f', 't', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(text(_PROJECT.format(cols="", vals="")), {"id": 1, "name": "web"})
        upgrade(db.engine, "0012")
        assert current_revision(db.engine) == "0012"
        with_target = _PROJECT.format(cols=", target_id, target", vals=", :t, :target")
        with db.engine.begin() as conn:
            row = conn.execute(text("SELECT scope, target_id, target FROM projects")).one()
            assert row.target_id is None and row.target is None and "us-east-1" in str(row.scope)
            conn.execute(text(_PROJECT.format(cols="", vals="")), {"id": 2, "name": "web-2"})
            conn.execute(
                text(with_target), {"id": 3, "name": "m1", "t": "210987654321", "target": "{}"}
            )
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(
                text(with_target), {"id": 4, "name": "m2", "t": "210987654321", "target": "{}"}
            )
    finally:
        db.dispose()
