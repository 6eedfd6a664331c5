"""Muting findings: a project's failing finding left out of alerts and counts for a while.

A mute names the finding by (check id, resource, region) within its project, so the same
finding in the project's next scans stays muted until the mute expires. Mutes are audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain import Severity
from bot.errors import InputError, NotFoundError
from bot.views.mutes import MUTE_DAYS, REASON_MAX, MuteInfo
from storage.db import Database
from storage.models_scheduling import FindingMute
from storage.repositories import AuditRepo, ProjectRepo
from storage.repositories.findings_alerts import FindingKey, MuteRepo


def _info(m: FindingMute, project_name: str) -> MuteInfo:
    return MuteInfo(
        mute_id=m.id,
        project_name=project_name,
        check_id=m.check_id,
        resource=m.resource,
        region=m.region,
        severity=Severity(m.severity),
        reason=m.reason,
        expires_at=m.expires_at,
        created_by=m.created_by,
    )


class MuteService:
    """Mute, list and lift finding mutes."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def describe(self, finding_id: int) -> tuple[str, str, str, str]:
        """(project name, check id, resource, region) of a finding, for the mute modal."""
        with self.db.read() as s:
            found = MuteRepo(s).finding(finding_id)
            if found is None:
                raise NotFoundError("That finding no longer exists.")
            finding, scan = found
            project = ProjectRepo(s).get(scan.project_id)
            name = project.name if project is not None else f"project {scan.project_id}"
            return name, finding.check_id, finding.resource, finding.region or ""

    def mute(self, finding_id: int, reason: str, days: int, actor: str) -> MuteInfo:
        """Mute a finding of a project for `days` days, with a reason (both required)."""
        reason = " ".join((reason or "").split())
        if not reason:
            raise InputError("Say why the finding may be muted.", {"reason": "A reason is needed."})
        if days not in MUTE_DAYS:
            raise InputError(f"Mute for {', '.join(map(str, MUTE_DAYS))} days.")
        now = self.now()
        with self.db.unit_of_work() as s:
            repo = MuteRepo(s)
            found = repo.finding(finding_id)
            if found is None:
                raise NotFoundError("That finding no longer exists.")
            finding, scan = found
            project = ProjectRepo(s).get(scan.project_id)
            if project is None:
                raise NotFoundError("That finding's project no longer exists.")
            mute = repo.add(
                FindingMute(
                    project_id=project.id,
                    check_id=finding.check_id,
                    resource=finding.resource,
                    region=finding.region or "",
                    severity=finding.severity,
                    reason=reason[:REASON_MAX],
                    expires_at=now + timedelta(days=days),
                    created_by=actor,
                    created_at=now,
                )
            )
            AuditRepo(s).record(
                actor,
                "finding.mute",
                "project",
                project.id,
                {
                    "check": finding.check_id,
                    "resource": finding.resource,
                    "days": days,
                    "reason": reason[:REASON_MAX],
                },
            )
            return _info(mute, project.name)

    def unmute(self, mute_id: int, actor: str) -> MuteInfo:
        """Lift a mute before it expires (audited)."""
        with self.db.unit_of_work() as s:
            repo = MuteRepo(s)
            mute = repo.get(mute_id)
            if mute is None:
                raise NotFoundError("That mute was already lifted.")
            project = ProjectRepo(s).get(mute.project_id)
            info = _info(mute, project.name if project is not None else "")
            repo.delete(mute)
            AuditRepo(s).record(
                actor, "finding.unmute", "project", mute.project_id, {"check": info.check_id}
            )
            return info

    def active(self) -> list[MuteInfo]:
        """Every mute not expired yet, soonest to expire first."""
        with self.db.read() as s:
            rows = MuteRepo(s).active(self.now())
            names: dict[int, str] = {}
            for project_id in {m.project_id for m in rows}:
                project = ProjectRepo(s).get(project_id)
                names[project_id] = project.name if project is not None else ""
            return [_info(m, names[m.project_id]) for m in rows]

    def muted_keys(self, project_id: int) -> dict[FindingKey, datetime]:
        """The muted (check, resource, region) of a project, with when each mute expires."""
        with self.db.read() as s:
            return {
                (m.check_id, m.resource, m.region): m.expires_at
                for m in MuteRepo(s).active(self.now(), project_id)
            }
