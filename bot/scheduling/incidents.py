"""Incidents: the rows behind the one-alert-per-incident rule, and the alert's view data.

`ScanFacts.load` reads what a finished scan's follow-up needs in one session; `transition`
moves the project's open incident (open → failing again → recovered/closed) inside the
caller's transaction; `alert_data` turns the result into the builder's `AlertData`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from bot.domain import ErrorCategory, Provider, ScanStatus
from bot.records import ErrorEntryView, ProjectInfo, ScanRow
from bot.scheduling.digest_query import FAILING, FINISHED
from bot.views.digest_models import AlertData, AlertState, RetryNotice, SupportCase
from storage.models import Connector, ErrorEntry, Project, Scan
from storage.models_scheduling import AlertIncident
from storage.repositories import ConnectorRepo, ProjectRepo, ScanRepo
from storage.repositories.alerts import IncidentRepo

_MENTION = re.compile(r"^<!subteam\^[A-Z0-9]{2,20}(\|[^<>]{1,80})?>$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,20}$")
ERROR_PRIORITY = {
    ErrorCategory.INVALID_CREDENTIALS: 0,
    ErrorCategory.ASSUME_ROLE_FAILED: 1,
    ErrorCategory.PERMISSION_DENIED: 2,
    ErrorCategory.UNKNOWN: 3,
    ErrorCategory.TEMPORARY: 4,
}
"""Which error an alert leads with: the one whose next step is most specific."""


def normalize_mention(value: str | None) -> str | None:
    """``S0123`` or ``<!subteam^S0123>`` (or ``<!here>``) as a mention; None if unusable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if _GROUP_ID.match(text):
        return f"<!subteam^{text}>"
    if _MENTION.match(text) or text in ("<!here>", "<!channel>"):
        return text
    return None


class Action(StrEnum):
    """What the alert channel gets for one follow-up."""

    NONE = "none"
    POST = "post"  # a new incident: post its one message
    UPDATE = "update"  # failing again: update the message, reply in its thread
    RECOVER = "recover"  # recovered: update the message, reply, incident closed


_STATE = {
    Action.POST: AlertState.OPEN,
    Action.UPDATE: AlertState.FAILING,
    Action.RECOVER: AlertState.RECOVERED,
}


@dataclass(frozen=True)
class ScanFacts:
    """A finished scan with its project, connector and error entries (detached rows)."""

    scan: Scan
    project: Project
    connector: Connector
    entries: Sequence[ErrorEntry]

    @classmethod
    def load(cls, s: Session, scan_id: int) -> ScanFacts | None:
        """The facts of a finished scan; None if it is not finished or its project is gone."""
        scans = ScanRepo(s)
        scan = scans.get(scan_id)
        if scan is None or scan.status not in FINISHED:
            return None
        project = ProjectRepo(s).get(scan.project_id)
        connector = ConnectorRepo(s).get(scan.connector_id)
        if project is None or connector is None:
            return None
        return cls(scan, project, connector, scans.error_entries(scan.id))

    @property
    def failing(self) -> bool:
        """Failed or Partially Completed."""
        return self.scan.status in FAILING

    @property
    def categories(self) -> tuple[ErrorCategory, ...]:
        """Error categories of the scan, most frequent first."""
        counted = Counter(ErrorCategory(e.category) for e in self.entries)
        return tuple(sorted(counted, key=lambda c: (-counted[c], ERROR_PRIORITY[c])))

    @property
    def missing_permissions(self) -> tuple[str, ...]:
        """Every missing permission any entry of the scan names, once each, in entry order."""
        seen: dict[str, None] = {}
        for entry in sorted(self.entries, key=lambda e: e.id):
            for permission in entry.missing_permissions or ():
                seen.setdefault(str(permission), None)
        return tuple(seen)

    @property
    def top_error(self) -> ErrorEntryView | None:
        """The entry the alert leads with."""
        top = min(
            self.entries,
            key=lambda e: (ERROR_PRIORITY[ErrorCategory(e.category)], e.id),
            default=None,
        )
        if top is None:
            return None
        return ErrorEntryView(
            entry_id=top.id,
            job_unit=top.unit,
            category=ErrorCategory(top.category),
            code=top.code,
            message=top.message,
            detail=top.detail,
            remediation=top.remediation,
            at=top.created_at,
            connector_id=self.connector.id,
            missing_permission=", ".join(top.missing_permissions or ()) or None,
            check_id=top.check_id,
        )


@dataclass(frozen=True)
class Transition:
    """What `transition` did to the project's incident."""

    action: Action
    incident: AlertIncident | None
    escalated: bool = False  # support was flagged by this scan for the first time


def transition(
    s: Session, facts: ScanFacts, flag_support: bool, now: datetime, routed: bool = False
) -> Transition:
    """Move the project's open incident for this scan (in the caller's transaction).

    A failing project opens an incident when it has an alert channel or when `routed` (some
    channel subscribes to its failures); without an alert channel the incident's
    `channel_id` is "" and only the subscribed channels get its alert."""
    scan, project = facts.scan, facts.project
    incidents = IncidentRepo(s)
    incident = incidents.open_for_project(project.id)
    if incident is not None and scan.id <= incident.last_scan_id:
        return Transition(Action.NONE, None)  # older than what the incident already shows
    if facts.failing and incident is None:
        if not project.alert_channel and not routed:
            return Transition(Action.NONE, None)
        incident = AlertIncident(
            project_id=project.id,
            channel_id=project.alert_channel or "",
            ts=None,
            post_attempts=0,
            is_open=True,
            opened_scan_id=scan.id,
            last_scan_id=scan.id,
            last_status=scan.status,
            failures=1,
            support_flagged=flag_support,
            paged=False,
            opened_at=now,
            updated_at=now,
        )
        incidents.add(incident)
        return Transition(Action.POST, incident)
    if incident is None:
        return Transition(Action.NONE, None)
    if facts.failing:
        escalated = flag_support and not incident.support_flagged
        incident.failures += 1
        incident.support_flagged = incident.support_flagged or flag_support
        action = Action.UPDATE
    elif scan.status == ScanStatus.COMPLETED.value:
        escalated = False
        incident.is_open = False
        incident.closed_at = now
        incident.closed_by_scan_id = scan.id
        action = Action.RECOVER
    else:  # Stopped: says nothing about the failure
        return Transition(Action.NONE, None)
    incident.last_scan_id, incident.last_status = scan.id, scan.status
    incident.updated_at = now
    return Transition(action, incident, escalated)


def alert_data(
    facts: ScanFacts,
    incident: AlertIncident,
    action: Action,
    *,
    support: Sequence[SupportCase] = (),
    retry: RetryNotice | None = None,
    retries_exhausted: bool = False,
    mention: str | None = None,
    digest_link: str | None = None,
) -> AlertData:
    """The builder's data for an incident after `action` (POST/UPDATE/RECOVER)."""
    scan, project, connector = facts.scan, facts.project, facts.connector
    return AlertData(
        project=ProjectInfo(project.id, project.name, Provider(connector.provider), connector.name),
        scan=ScanRow(
            scan_id=scan.id,
            project_id=project.id,
            status=ScanStatus(scan.status),
            trigger=scan.trigger,
            requested_by=scan.requested_by,
            queued_at=scan.created_at,
            started_at=scan.started_at,
            finished_at=scan.finished_at,
            jobs_ok=scan.jobs_ok,
            jobs_failed=scan.jobs_failed,
            jobs_total=scan.jobs_total,
            status_message=scan.status_message,
            project_name=project.name,
            connector_id=connector.id,
            provider=Provider(connector.provider),
            stopped_by=scan.stopped_by,
        ),
        state=_STATE.get(action, AlertState.OPEN),
        top_error=facts.top_error,
        categories=facts.categories,
        failures=incident.failures,
        opened_at=incident.opened_at,
        first_scan_id=incident.opened_scan_id,
        connector_id=connector.id,
        support=tuple(support),
        retry=retry,
        retries_exhausted=retries_exhausted,
        mention=mention,
        account_id=connector.account_id or None,
        missing_permissions=facts.missing_permissions,
        digest_link=digest_link,
    )
