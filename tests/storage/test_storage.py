"""Storage on SQLite and (when configured) PostgreSQL: migrations, constraints, indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.migrate import current_revision
from storage.models import Connector, Project, Scan
from storage.repositories import ConnectorRepo, ProjectRepo, ScanRepo


def _connector(name: str = "prod") -> Connector:
    return Connector(name=name, provider="aws", fingerprint="AKIA…ABCD", created_by="test")


def _project(s, name: str = "web") -> Project:
    c = ConnectorRepo(s).add(_connector(f"c-{name}"))
    return ProjectRepo(s).add(Project(name=name, connector_id=c.id, created_by="test"))


def test_migrations_reach_head_and_are_idempotent(db: Database) -> None:
    assert current_revision(db.engine) is not None
    db.upgrade()  # second run is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "connectors",
        "projects",
        "scans",
        "jobs",
        "error_entries",
        "findings",
        "audit_events",
    } <= tables


def test_hot_query_indexes_exist(db: Database) -> None:
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("scans")}
    assert {
        "ix_scans_project_created",
        "ix_scans_status_finished",
        "uq_scans_one_active_per_project",
    } <= names


def test_a_connectors_projects_are_counted_and_named_a_few_at_a_time(db: Database) -> None:
    with db.unit_of_work() as s:
        repo, projects = ConnectorRepo(s), ProjectRepo(s)
        busy, idle = repo.add(_connector("busy")), repo.add(_connector("idle"))
        for i in range(30):
            projects.add(Project(name=f"p{i:02d}", connector_id=busy.id, created_by="test"))
        s.flush()
        ids = [busy.id, idle.id]
        assert repo.project_counts_by_connector(ids) == {busy.id: 30, idle.id: 0}
        firsts = repo.project_names_by_connector(ids, limit_each=5)
        assert firsts == {busy.id: ["p00", "p01", "p02", "p03", "p04"], idle.id: []}
        assert len(repo.project_names_by_connector(ids)[busy.id]) == 30
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("projects")}
    assert "ix_projects_connector_name" in names


def test_sqlite_pragmas(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    database.dispose()


def test_one_active_scan_per_project_is_enforced_by_the_database(db: Database) -> None:
    with db.unit_of_work() as s:
        p = _project(s)
        ScanRepo(s).add(
            Scan(
                project_id=p.id,
                connector_id=p.connector_id,
                status="running",
                trigger="cli",
                requested_by="a",
            )
        )
        project_id, connector_id = p.id, p.connector_id
    with pytest.raises(IntegrityError), db.unit_of_work() as s:
        s.add(
            Scan(
                project_id=project_id,
                connector_id=connector_id,
                status="queued",
                trigger="cli",
                requested_by="b",
            )
        )
    # finished scans do not count
    with db.unit_of_work() as s:
        for _ in range(3):
            s.add(
                Scan(
                    project_id=project_id,
                    connector_id=connector_id,
                    status="failed",
                    trigger="cli",
                    requested_by="c",
                )
            )
    with db.read() as s:
        assert ScanRepo(s).count_history(project_id) == 4


def test_live_connector_names_are_unique_but_tombstones_may_repeat(db: Database) -> None:
    with db.unit_of_work() as s:
        old = ConnectorRepo(s).add(_connector("prod"))
        old.deleted_at = datetime.now(UTC)
        old.secret_ciphertext = None
    with db.unit_of_work() as s:
        ConnectorRepo(s).add(_connector("prod"))
    with pytest.raises(IntegrityError), db.unit_of_work() as s:
        ConnectorRepo(s).add(_connector("prod"))


def test_repositories_never_commit(db: Database) -> None:
    with db.read() as s:  # read() always rolls back
        ConnectorRepo(s).add(_connector("ghost"))
    with db.read() as s:
        assert ConnectorRepo(s).get_live_by_name("ghost") is None


def test_datetimes_come_back_timezone_aware(db: Database) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with db.unit_of_work() as s:
        c = ConnectorRepo(s).add(_connector())
        c.created_at = when
        cid = c.id
    with db.read() as s:
        got = ConnectorRepo(s).get(cid)
        assert got is not None and got.created_at == when and got.created_at.tzinfo is not None


def test_project_page_filters_by_latest_status(db: Database) -> None:
    with db.unit_of_work() as s:
        for i, status in enumerate(["failed", "completed", "failed", None]):
            p = _project(s, f"p{i}")
            if status:
                scan = ScanRepo(s).add(
                    Scan(
                        project_id=p.id,
                        connector_id=p.connector_id,
                        status=status,
                        trigger="cli",
                        requested_by="t",
                        finished_at=datetime.now(UTC),
                    )
                )
                p.last_scan_id = scan.id
                p.last_status = scan.status
    with db.read() as s:
        repo = ProjectRepo(s)
        assert [p.name for p, _ in repo.page_with_last_scan("failed", 0, 10)] == ["p0", "p2"]
        assert repo.count("failed") == 2
        assert repo.count() == 4
        assert repo.count("never") == 1
        assert repo.status_counts() == {"failed": 2, "completed": 1, None: 1}


def test_failed_since_uses_half_open_window(db: Database) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with db.unit_of_work() as s:
        p = _project(s)
        for h in range(5):
            s.add(
                Scan(
                    project_id=p.id,
                    connector_id=p.connector_id,
                    status="failed",
                    trigger="schedule",
                    requested_by="t",
                    finished_at=t0 + timedelta(hours=h),
                )
            )
    with db.read() as s:
        got = ScanRepo(s).finished_since(
            t0 + timedelta(hours=1), t0 + timedelta(hours=3), ["failed", "partially_completed"]
        )
        assert [x.finished_at for x in got] == [t0 + timedelta(hours=1), t0 + timedelta(hours=2)]


def test_models_and_migrations_agree(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import storage.models_scheduling  # noqa: F401  (registers its tables on Base.metadata)
    from storage.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # APScheduler owns its own table; nothing else may differ.
    diff = [d for d in diff if "apscheduler_jobs" not in str(d)]
    assert diff == []
