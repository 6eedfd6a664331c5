"""Migration 0005 turns the one-line validation error of a 0004 database into columns."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy import text

from bot import providers
from bot.domain import ErrorCategory
from bot.secretbox import SecretBox
from bot.services.connectors import ConnectorService
from bot.services.scans import ScanService
from storage.db import Database
from storage.migrate import current_revision, upgrade

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _old_rows(db: Database) -> None:
    """Rows as a 0004 database holds them: the error as text, no permission columns."""
    with db.engine.begin() as conn:
        insert_connector = text(
            "INSERT INTO connectors (id, name, provider, account_id, account_label, scopes, "
            "fingerprint, created_by, created_at, last_validated_at, last_validation_ok, "
            "last_validation_error) VALUES (:id, :name, 'aws', '123456789012', '', '[]', "
            "'AKIA…ABCD', 'cli:alice', :at, :at, :ok, :error)"
        )
        conn.execute(
            insert_connector,
            [
                {
                    "id": 1,
                    "name": "denied",
                    "at": T0,
                    "ok": False,
                    "error": "permission denied: Permission denied: the scanner's IAM identity "
                    "may not call ec2:DescribeRegions. (UnauthorizedOperation)",
                },
                {
                    "id": 2,
                    "name": "rejected",
                    "at": T0,
                    "ok": False,
                    "error": "authentication failed: AWS rejected the credentials "
                    "(InvalidClientTokenId) (InvalidClientTokenId)",
                },
                {"id": 3, "name": "fine", "at": T0, "ok": True, "error": None},
            ],
        )
        conn.execute(
            text(
                "INSERT INTO projects (id, name, connector_id, scope, check_ids, created_by, "
                "created_at) VALUES (1, 'web', 1, '[]', '[]', 'cli:alice', :at)"
            ),
            {"at": T0},
        )
        conn.execute(
            text(
                "INSERT INTO scans (id, project_id, connector_id, status, status_message, "
                "trigger, requested_by, created_at, jobs_total, jobs_ok, jobs_failed) VALUES "
                "(1, 1, 1, 'failed', '1 of 1 jobs failed', 'cli', 'cli:alice', :at, 1, 0, 1)"
            ),
            {"at": T0},
        )
        conn.execute(
            text(
                "INSERT INTO error_entries (scan_id, unit, category, code, message, detail, "
                "remediation, created_at) VALUES (1, 'us-east-1', 'permission_denied', "
                "'UnauthorizedOperation', 'Permission denied: the scanner''s IAM identity may "
                "not call ec2:DescribeRegions.', '', 'Grant it.', :at)"
            ),
            {"at": T0},
        )


def test_0005_upgrades_a_0004_database_with_old_text_rows(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db.engine, "0004")
        assert current_revision(db.engine) == "0004"
        _old_rows(db)

        upgrade(db.engine, "0005")
        assert current_revision(db.engine) == "0005"
        db.upgrade()  # and on to the newest revision

        connectors = ConnectorService(db, SecretBox([Fernet.generate_key()]), providers.endpoints())
        denied = connectors.get("denied").last_error
        assert denied is not None
        assert denied.category is ErrorCategory.PERMISSION_DENIED
        assert denied.code == "UnauthorizedOperation"
        assert denied.message.endswith("may not call ec2:DescribeRegions.")
        assert denied.missing_permissions == ("ec2:DescribeRegions",)
        assert denied.remediation

        rejected = connectors.get("rejected").last_error
        assert rejected is not None
        assert rejected.category is ErrorCategory.INVALID_CREDENTIALS
        assert rejected.code == "InvalidClientTokenId"
        assert rejected.missing_permissions == ()
        assert connectors.get("fine").last_error is None

        scans = ScanService(db, engine=None)  # type: ignore[arg-type]  # reads only
        (entry,) = scans.errors(1)
        assert entry.missing_permission == "ec2:DescribeRegions"
    finally:
        db.dispose()
