"""Projects: named scan configurations."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import providers
from bot.domain import DB_ID_MAX, ErrorCategory, JobStatus, ScanStatus, parse_id
from bot.errors import InputError, NotFoundError
from bot.owners import parse_owner
from bot.providers import checks_for
from bot.records import JobRow, Page, ProjectInfo, ProjectRow
from bot.services.mapping import project_info
from bot.services.names import check_name
from bot.suggest import closest
from storage.db import Database
from storage.models import Project
from storage.repositories import AuditRepo, ConnectorRepo, ProjectRepo, ScanRepo


def find_project(s: Session, ref: str | int) -> Project:
    """A project by name or id, with "did you mean" suggestions when missing."""
    repo = ProjectRepo(s)
    found = None
    project_id = ref if isinstance(ref, int) else parse_id(str(ref))
    if project_id is not None and 0 <= project_id <= DB_ID_MAX:
        found = repo.get(project_id)
    if found is None:
        found = repo.get_by_name(str(ref).strip())
    if found is None:
        raise NotFoundError(f"No project named {ref!r}.", closest(str(ref), repo.names()))
    return found


class ProjectService:
    """Create and list projects."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        name: str,
        connector: str,
        actor: str,
        scope: Sequence[str] = (),
        check_ids: Sequence[str] = (),
        alert_channel: str | None = None,
        owner: str | None = None,
    ) -> ProjectInfo:
        """Create a project on a live connector, checking its scope and check ids; `owner`
        (a user or user group, see `bot.owners.parse_owner`) is who its alerts mention."""
        name = check_name(name)
        owner_id = parse_owner(owner) if owner is not None else None
        try:
            return self._add(name, connector, actor, scope, check_ids, alert_channel, owner_id)
        except IntegrityError:  # a concurrent add won the race for the name
            raise InputError(
                f"A project named {name!r} already exists.", {"name": "This name is taken."}
            ) from None

    def _add(
        self,
        name: str,
        connector: str,
        actor: str,
        scope: Sequence[str],
        check_ids: Sequence[str],
        alert_channel: str | None,
        owner: str | None = None,
    ) -> ProjectInfo:
        with self.db.unit_of_work() as s:
            repo = ConnectorRepo(s)
            c = repo.get_live_by_name(connector.strip())
            if c is None:
                raise NotFoundError(
                    f"No connector named {connector!r}.", closest(connector, repo.live_names())
                )
            provider = c.provider
            scope = [u.strip() for u in scope if u.strip()]
            spec = providers.get(provider)
            if spec.check_scope is not None:
                spec.check_scope(scope)
            known = {chk.meta.id for chk in checks_for(provider)}
            unknown = [cid for cid in check_ids if cid not in known]
            if unknown:
                raise InputError(
                    f"Unknown {provider} checks: {', '.join(unknown)}. "
                    f"Known: {', '.join(sorted(known))}.",
                    {"checks": "Unknown check id."},
                )
            if ProjectRepo(s).get_by_name(name):
                raise InputError(
                    f"A project named {name!r} already exists.", {"name": "This name is taken."}
                )
            p = ProjectRepo(s).add(
                Project(
                    name=name,
                    connector_id=c.id,
                    scope=scope,
                    check_ids=list(check_ids),
                    alert_channel=alert_channel,
                    owner=owner,
                    created_by=actor,
                )
            )
            AuditRepo(s).record(actor, "project.create", "project", p.id, {"name": name})
            return project_info(p, None)

    def set_owner(self, ref: str | int, owner: str | None, actor: str) -> ProjectInfo:
        """Set (or with None clear) who a project's alerts mention; audited."""
        owner_id = parse_owner(owner) if owner is not None else None
        with self.db.unit_of_work() as s:
            p = find_project(s, ref)
            before = p.owner
            p.owner = owner_id
            AuditRepo(s).record(
                actor, "project.owner", "project", p.id, {"from": before, "to": owner_id}
            )
            scan = ScanRepo(s).get(p.last_scan_id) if p.last_scan_id else None
            return project_info(p, scan)

    def get(self, ref: str | int) -> ProjectInfo:
        """One project with its newest scan."""
        with self.db.read() as s:
            p = find_project(s, ref)
            scan = ScanRepo(s).get(p.last_scan_id) if p.last_scan_id else None
            return project_info(p, scan)

    def get_or_none(self, project_id: int) -> ProjectInfo | None:
        """A project by id with its newest scan, or None when it does not exist."""
        with self.db.read() as s:
            p = ProjectRepo(s).get(project_id)
            if p is None:
                return None
            scan = ScanRepo(s).get(p.last_scan_id) if p.last_scan_id else None
            return project_info(p, scan)

    def page(
        self, status: ScanStatus | None = None, page: int = 0, per_page: int = 20
    ) -> tuple[list[ProjectInfo], int]:
        """One page of projects by name (filtered by newest scan status) and the total."""
        with self.db.read() as s:
            repo = ProjectRepo(s)
            rows = repo.page_with_last_scan(
                status.value if status else None, page * per_page, per_page
            )
            total = repo.count(status.value if status else None)
            return [project_info(p, scan) for p, scan in rows], total

    def rows(
        self,
        status: ScanStatus | None = None,
        page: int = 0,
        expanded: frozenset[int] = frozenset(),
        per_page: int = 20,
    ) -> Page[ProjectRow]:
        """One page of the projects list (a page past the end shows the last); the rows in
        `expanded` carry their newest scan's jobs."""
        with self.db.read() as s:
            repo = ProjectRepo(s)
            key = status.value if status else None
            total = repo.count(key)
            pages = max(1, math.ceil(total / per_page))
            page = min(max(0, page), pages - 1)
            rows = []
            for p, scan in repo.page_with_last_scan(key, page * per_page, per_page):
                info = project_info(p, scan)
                jobs = None
                if p.id in expanded and info.last_scan_id is not None:
                    jobs = _jobs(s, info.last_scan_id)
                rows.append(project_row(info, jobs))
            return Page(rows, page, pages, total)

    def status_counts(self) -> dict[ScanStatus | None, int]:
        """How many projects are in each status (None: never scanned)."""
        with self.db.read() as s:
            return {
                (ScanStatus(k) if k else None): v for k, v in ProjectRepo(s).status_counts().items()
            }

    def names(self) -> list[str]:
        """Every project name (for suggestions)."""
        with self.db.read() as s:
            return ProjectRepo(s).names()


def project_row(p: ProjectInfo, jobs: Sequence[JobRow] | None = None) -> ProjectRow:
    """A project as a projects-list row (expanded when `jobs` is given)."""
    return ProjectRow(
        project_id=p.project_id,
        name=p.name,
        provider=p.provider,
        connector_name=p.connector_name,
        status=p.last_status,
        status_message=p.last_status_message if p.last_status else "",
        last_scan_id=p.last_scan_id,
        last_scan_at=p.last_scan_at,
        jobs=jobs,
    )


def _jobs(s: Session, scan_id: int) -> list[JobRow]:
    repo = ScanRepo(s)
    categories: dict[str, ErrorCategory] = {}
    for e in repo.error_entries(scan_id):
        categories.setdefault(e.unit, ErrorCategory(e.category))
    return [
        JobRow(
            j.unit,
            JobStatus(j.status),
            "" if j.status == JobStatus.SUCCEEDED.value else j.message,
            categories.get(j.unit),
        )
        for j in repo.jobs(scan_id)
    ]
