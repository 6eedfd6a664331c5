"""Migration 0010 on a database with finished scans: their jobs count as done."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database
from storage.migrate import current_revision, upgrade


def test_0010_counts_the_jobs_of_existing_scans_as_done(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db.engine, "0009")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO connectors (id, name, provider, account_id, account_label, "
                    "scopes, fingerprint, created_by, created_at) VALUES (1, 'c', 'aws', '', "
                    "'', '[]', 'f', 't', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO projects (id, name, connector_id, scope, check_ids, "
                    "created_by, created_at) VALUES (1, 'p', 1, '[]', '[]', 't', "
                    "CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO scans (id, project_id, connector_id, status, status_message, "
                    "trigger, requested_by, created_at, jobs_total, jobs_ok, jobs_failed) "
                    "VALUES (1, 1, 1, 'partially_completed', '', 'cli', 't', "
                    "CURRENT_TIMESTAMP, 2, 1, 1)"
                )
            )
            for job_id, status in ((1, "succeeded"), (2, "failed")):
                conn.execute(
                    text(
                        "INSERT INTO jobs (id, scan_id, unit, status, message, "
                        "findings_failed, findings_total) VALUES (:i, 1, 'u', :s, '', 0, 0)"
                    ),
                    {"i": job_id, "s": status},
                )
        db.upgrade()
        assert (current_revision(db.engine) or "") >= "0010"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT jobs_done FROM scans")).scalar() == 2
            assert conn.execute(text("SELECT SUM(attempts) FROM jobs")).scalar() == 0
    finally:
        db.dispose()
