"""Repositories: typed queries over one session. They never commit (the unit of work does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, joinedload

from storage.models import AuditEvent, Connector, ErrorEntry, Finding, Job, Project, Scan

ACTIVE_STATUSES = ("queued", "running")


class ConnectorRepo:
    """Connectors, live ones and tombstones."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, connector_id: int) -> Connector | None:
        """A connector by id, tombstones included."""
        return self.s.get(Connector, connector_id)

    def get_live_by_name(self, name: str) -> Connector | None:
        """The live connector with this name."""
        return self.s.scalar(
            select(Connector).where(Connector.name == name, Connector.deleted_at.is_(None))
        )

    def list_live(
        self, offset: int = 0, limit: int | None = None, *, failing_only: bool = False
    ) -> Sequence[Connector]:
        """Live connectors by name (one page of them when `limit` is given); with
        `failing_only`, just those whose last validation failed."""
        query = select(Connector).where(*self._live(failing_only)).order_by(Connector.name)
        query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return self.s.scalars(query).all()

    def count_live(self, *, failing_only: bool = False) -> int:
        """How many live connectors there are (whose last validation failed)."""
        return int(
            self.s.scalar(select(func.count(Connector.id)).where(*self._live(failing_only))) or 0
        )

    @staticmethod
    def _live(failing_only: bool) -> list[Any]:
        conditions: list[Any] = [Connector.deleted_at.is_(None)]
        if failing_only:
            conditions.append(Connector.last_validation_ok.is_(False))
        return conditions

    def live_names(self) -> list[str]:
        """Names of live connectors (for "did you mean")."""
        return list(
            self.s.scalars(select(Connector.name).where(Connector.deleted_at.is_(None))).all()
        )

    def project_names_by_connector(
        self, connector_ids: Sequence[int], limit_each: int | None = None
    ) -> dict[int, list[str]]:
        """For each connector id, the names of the projects that use it, by name; only the
        first `limit_each` of each when given (so a page costs the same however many
        projects share a connector)."""
        if limit_each is None:
            query = select(Project.connector_id, Project.name).where(
                Project.connector_id.in_(connector_ids)
            )
        else:
            rank = (
                func.row_number()
                .over(partition_by=Project.connector_id, order_by=Project.name)
                .label("rank")
            )
            ranked = (
                select(Project.connector_id, Project.name, rank)
                .where(Project.connector_id.in_(connector_ids))
                .subquery()
            )
            query = select(ranked.c.connector_id, ranked.c.name).where(ranked.c.rank <= limit_each)
        result: dict[int, list[str]] = {cid: [] for cid in connector_ids}
        for cid, name in self.s.execute(query.order_by("connector_id", "name")).all():
            result[cid].append(name)
        return result

    def project_counts_by_connector(self, connector_ids: Sequence[int]) -> dict[int, int]:
        """For each connector id, how many projects use it."""
        rows = self.s.execute(
            select(Project.connector_id, func.count(Project.id))
            .where(Project.connector_id.in_(connector_ids))
            .group_by(Project.connector_id)
        ).all()
        counts = {cid: 0 for cid in connector_ids}
        counts.update({int(cid): int(n) for cid, n in rows})
        return counts

    def add(self, connector: Connector) -> Connector:
        """Stage a new connector and assign its id."""
        self.s.add(connector)
        self.s.flush()
        return connector


class ProjectRepo:
    """Projects and their latest scan."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, project_id: int) -> Project | None:
        """A project by id."""
        return self.s.get(Project, project_id)

    def get_by_name(self, name: str) -> Project | None:
        """A project by its unique name."""
        return self.s.scalar(select(Project).where(Project.name == name))

    def names(self) -> list[str]:
        """Every project name."""
        return list(self.s.scalars(select(Project.name)).all())

    def using_connector(self, connector_id: int) -> Sequence[Project]:
        """Projects pointing at a connector."""
        return self.s.scalars(
            select(Project).where(Project.connector_id == connector_id).order_by(Project.name)
        ).all()

    def repoint(self, old_connector_id: int, new_connector_id: int) -> int:
        """Point every project of one connector at another; returns how many moved."""
        result = self.s.execute(
            update(Project)
            .where(Project.connector_id == old_connector_id)
            .values(connector_id=new_connector_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    @staticmethod
    def _status_filter(query: Any, status: str | None) -> Any:
        if status == "never":
            return query.where(Project.last_status.is_(None))
        if status:
            return query.where(Project.last_status == status)
        return query

    def page_with_last_scan(
        self, status: str | None, offset: int, limit: int
    ) -> list[tuple[Project, Scan | None]]:
        """One page of projects by name with their newest scan, optionally by its status."""
        query = (
            select(Project, Scan)
            .outerjoin(Scan, Scan.id == Project.last_scan_id)
            .options(joinedload(Project.connector))
        )
        rows = self.s.execute(
            self._status_filter(query, status).order_by(Project.name).offset(offset).limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def count(self, status: str | None = None) -> int:
        """How many projects (whose newest scan has `status`, if given)."""
        query = self._status_filter(select(func.count(Project.id)), status)
        return int(self.s.scalar(query) or 0)

    def status_counts(self) -> dict[str | None, int]:
        """Projects per status of their newest scan (None: never scanned)."""
        rows = self.s.execute(
            select(Project.last_status, func.count(Project.id)).group_by(Project.last_status)
        ).all()
        return {status: int(n) for status, n in rows}

    def set_last_status(self, scan_id: int, status: str) -> None:
        """Record a scan's status on its project, if it is the project's newest scan."""
        self.s.execute(
            update(Project).where(Project.last_scan_id == scan_id).values(last_status=status)
        )

    def add(self, project: Project) -> Project:
        """Stage a new project and assign its id."""
        self.s.add(project)
        self.s.flush()
        return project


class ScanRepo:
    """Scans, jobs, error entries and findings."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, scan_id: int) -> Scan | None:
        """A scan by id."""
        return self.s.get(Scan, scan_id)

    def add(self, scan: Scan) -> Scan:
        """Stage a new scan and assign its id."""
        self.s.add(scan)
        self.s.flush()
        return scan

    def active_for_project(self, project_id: int) -> Scan | None:
        """The queued or running scan of a project, if any."""
        return self.s.scalar(
            select(Scan).where(Scan.project_id == project_id, Scan.status.in_(ACTIVE_STATUSES))
        )

    def active(self) -> Sequence[Scan]:
        """Every queued or running scan."""
        return self.s.scalars(select(Scan).where(Scan.status.in_(ACTIVE_STATUSES))).all()

    def history(self, project_id: int, offset: int, limit: int) -> Sequence[Scan]:
        """A project's scans, newest first."""
        return self.s.scalars(
            select(Scan)
            .where(Scan.project_id == project_id)
            .order_by(Scan.created_at.desc(), Scan.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()

    def count_history(self, project_id: int) -> int:
        """How many scans a project has."""
        return int(
            self.s.scalar(select(func.count(Scan.id)).where(Scan.project_id == project_id)) or 0
        )

    def finished_since(
        self, since: datetime, until: datetime, statuses: Sequence[str]
    ) -> Sequence[Scan]:
        """Scans with one of `statuses` that finished in [since, until)."""
        return self.s.scalars(
            select(Scan)
            .where(
                Scan.status.in_(statuses),
                and_(Scan.finished_at >= since, Scan.finished_at < until),
            )
            .order_by(Scan.finished_at)
        ).all()

    def jobs(self, scan_id: int) -> Sequence[Job]:
        """A scan's jobs in creation order."""
        return self.s.scalars(select(Job).where(Job.scan_id == scan_id).order_by(Job.id)).all()

    def error_entries(self, scan_id: int) -> Sequence[ErrorEntry]:
        """A scan's error log entries in the order they happened."""
        return self.s.scalars(
            select(ErrorEntry).where(ErrorEntry.scan_id == scan_id).order_by(ErrorEntry.id)
        ).all()

    def findings(self, scan_id: int, failed_only: bool = False) -> Sequence[Finding]:
        """A scan's findings."""
        query = select(Finding).where(Finding.scan_id == scan_id)
        if failed_only:
            query = query.where(Finding.passed.is_(False))
        return self.s.scalars(query.order_by(Finding.id)).all()

    def finding_counts(self, scan_id: int) -> dict[tuple[str, bool], int]:
        """(severity, passed) -> count for one scan."""
        rows = self.s.execute(
            select(Finding.severity, Finding.passed, func.count(Finding.id))
            .where(Finding.scan_id == scan_id)
            .group_by(Finding.severity, Finding.passed)
        ).all()
        return {(sev, bool(passed)): int(n) for sev, passed, n in rows}


class AuditRepo:
    """The audit log."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def record(
        self,
        actor: str,
        action: str,
        target_type: str,
        target_id: object,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Stage one audit event (committed with the mutation it describes)."""
        self.s.add(
            AuditEvent(
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                detail=detail or {},
            )
        )

    def recent(self, limit: int = 50) -> Sequence[AuditEvent]:
        """The newest events first."""
        return self.s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()
