"""Projects: named scan configurations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import providers
from bot.domain import Provider, ScanStatus
from bot.errors import InputError, NotFoundError
from bot.providers import checks_for
from bot.services.connectors import check_name
from bot.suggest import closest
from storage.db import Database
from storage.models import Project, Scan
from storage.repositories import AuditRepo, ConnectorRepo, ProjectRepo


@dataclass(frozen=True)
class ProjectInfo:
    """A project and its newest scan, for lists."""

    id: int
    name: str
    provider: Provider
    connector_id: int
    connector_name: str
    scope: tuple[str, ...]
    check_ids: tuple[str, ...]
    alert_channel: str | None
    last_scan_id: int | None
    last_status: ScanStatus | None
    last_status_message: str
    last_scan_at: datetime | None


def _info(p: Project, scan: Scan | None) -> ProjectInfo:
    return ProjectInfo(
        id=p.id,
        name=p.name,
        provider=Provider(p.connector.provider),
        connector_id=p.connector_id,
        connector_name=p.connector.name,
        scope=tuple(p.scope),
        check_ids=tuple(p.check_ids),
        alert_channel=p.alert_channel,
        last_scan_id=scan.id if scan else None,
        last_status=ScanStatus(scan.status) if scan else None,
        last_status_message=scan.status_message if scan else "Never scanned",
        last_scan_at=(scan.finished_at or scan.started_at or scan.created_at) if scan else None,
    )


def find_project(s: Session, ref: str | int) -> Project:
    """A project by name or id, with "did you mean" suggestions when missing."""
    repo = ProjectRepo(s)
    found = None
    if isinstance(ref, int) or str(ref).isdigit():
        found = repo.get(int(ref))
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
    ) -> ProjectInfo:
        """Create a project on a live connector, checking its scope and check ids."""
        name = check_name(name)
        try:
            return self._add(name, connector, actor, scope, check_ids, alert_channel)
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
                    created_by=actor,
                )
            )
            AuditRepo(s).record(actor, "project.create", "project", p.id, {"name": name})
            return _info(p, None)

    def get(self, ref: str | int) -> ProjectInfo:
        """One project with its newest scan."""
        with self.db.read() as s:
            p = find_project(s, ref)
            scan = s.get(Scan, p.last_scan_id) if p.last_scan_id else None
            return _info(p, scan)

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
            return [_info(p, scan) for p, scan in rows], total

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
