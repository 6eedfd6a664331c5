"""Projects and their newest scan."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from storage.models import Project, Scan


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

    def with_targets(self, connector_id: int) -> dict[str, Project]:
        """A connector's discovered projects by the id of the account each scans."""
        rows = self.s.scalars(
            select(Project).where(
                Project.connector_id == connector_id, Project.target_id.is_not(None)
            )
        ).all()
        return {str(p.target_id): p for p in rows}

    def repoint(self, old_connector_id: int, new_connector_id: int) -> int:
        """Point every project of one connector at another; returns how many moved."""
        result = self.s.execute(
            update(Project)
            .where(Project.connector_id == old_connector_id)
            .values(connector_id=new_connector_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def scheduled(self) -> list[tuple[int, str, str, str | None]]:
        """(id, name, cron, time zone) of every project with a schedule, by name."""
        rows = self.s.execute(
            select(Project.id, Project.name, Project.schedule_cron, Project.schedule_tz)
            .where(Project.schedule_cron.is_not(None))
            .order_by(Project.name)
        ).all()
        return [(int(pid), str(name), str(cron), tz) for pid, name, cron, tz in rows]

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
