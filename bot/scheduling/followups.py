"""What happens after a scan ends: the incident alert, the automatic retry, support flags.

Each finished scan is followed up exactly once (`scan_followups` row, inserted in the same
transaction as the incident change). The engine listener follows up the scans of this process
at once; the scheduler's sweep picks up scans that ended elsewhere (the CLI, a process that
died) within `followup_sweep_minutes`.

One alert per incident: the first Failed / Partially Completed scan of a project opens an
incident and posts one message to the project's alert channel.

Paging: the alert mentions the project's owner (`projects.owner`, else `CSPM_ALERT_MENTION`)
only when a person is needed: the failure is not temporary, or the automatic retries are used
up (or switched off). While an automatic retry is pending the message says when it runs and
mentions nobody. Each incident pages once (`alert_incidents.paged`), again only when it
escalates to a support case. The repeated-failures streak counts the scans a person or a
schedule started; automatic retries neither count nor break it. The project's next statuses
update that message (chat.update) and reply in its thread: still failing → a thread reply;
Completed → the message shows "recovered" and the incident closes. The incident row is written
before the message is posted; one whose message could not be posted yet (ts NULL) is posted
by the next tick.

Routing: every channel with a ``failures`` subscription matching the project (name pattern,
provider; `/cspm subscribe failures`) gets the incident's alert too, once per channel (a
`failure_alert_copies` row per incident and channel, written in the follow-up's transaction
before posting; unposted copies are posted by the next ticks like the incident's own
message), updated in place and replied to in its thread like the alert channel's. Subscribed
channels never get a mention (the owner is paged in the project's alert channel, which the
copy names); the project's alert channel itself is never sent a copy. A project without an
alert channel opens incidents when a channel subscribes to its failures. A channel whose
subscription was removed gets nothing more (not even the recovery).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import ErrorCategory
from bot.owners import owner_mention
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.delivery import Deliverer
from bot.scheduling.digest_query import FAILING, FINISHED, streak_of
from bot.scheduling.findings_alerts import matches
from bot.scheduling.incidents import (
    Action,
    ScanFacts,
    alert_data,
    normalize_mention,
    transition,
)
from bot.views.alert import build_alert, build_alert_reply
from bot.views.digest_models import AlertData, RetryNotice, SupportCase, SupportReason
from storage.db import Database
from storage.models import Connector, Project, Scan
from storage.models_scheduling import AlertIncident, FailureAlertCopy
from storage.repositories import ScanRepo
from storage.repositories.alerts import FailureCopyRepo, FollowupRepo, IncidentRepo
from storage.repositories.digests import DeliveryRepo
from storage.repositories.findings_alerts import ChannelSubscriptionRepo

log = logging.getLogger(__name__)

MAX_POST_ATTEMPTS = 12
RETRY_TRIGGER = "retry"
"""The trigger of the scans the scheduler starts as automatic retries."""


def repost_backoff(attempts: int) -> timedelta:
    """Wait before posting an incident's alert again after `attempts` failures (30 s … 1 h)."""
    return timedelta(seconds=min(3600.0, 30.0 * 2 ** max(0, attempts - 1)))


def retry_delay(attempt: int, base_seconds: float, factor: float) -> timedelta:
    """Wait before retry `attempt` (1-based): base * factor**(attempt-1)."""
    return timedelta(seconds=base_seconds * factor ** max(0, attempt - 1))


@dataclass(frozen=True)
class CopyPlan:
    """The incident's alert in one subscribed channel: its row, and its message once posted."""

    copy_id: int
    channel_id: str
    ts: str | None


@dataclass(frozen=True)
class Decision:
    """The outcome of following up one scan."""

    scan_id: int
    project_id: int
    action: Action
    alert: AlertData | None = None
    incident_id: int | None = None
    channel_id: str | None = None
    ts: str | None = None
    escalated: bool = False
    paged: bool = False
    retry: RetryNotice | None = None
    retry_after_scan_id: int | None = None
    support: tuple[SupportCase, ...] = ()
    copies: tuple[CopyPlan, ...] = ()

    @property
    def summary(self) -> str:
        """One line for logs and the followup row."""
        parts = [self.action.value]
        if self.paged:
            parts.append("paged")
        if self.copies:
            parts.append(f"{len(self.copies)} subscribed channel(s)")
        if self.retry:
            parts.append(f"retry {self.retry.attempt}/{self.retry.max_attempts}")
        if self.support:
            parts.append("support: " + ",".join(c.reason.value for c in self.support))
        return "; ".join(parts)


RetryScheduler = Callable[[int, int, datetime], None]
"""schedule_retry(project_id, after_scan_id, at)."""


class FollowupService:
    """Alerts, retries and support flags for finished scans."""

    def __init__(
        self,
        db: Database,
        config: SchedulingConfig,
        now: Callable[[], datetime],
        holder: str,
        deliverer: Callable[[], Deliverer | None],
        schedule_retry: RetryScheduler | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.now = now
        self.holder = holder
        self._deliverer = deliverer
        self.schedule_retry = schedule_retry
        self.mention = normalize_mention(config.alert_mention)
        if config.alert_mention and self.mention is None:
            log.warning(
                "CSPM_ALERT_MENTION %r is not a user group id (S…) or <!subteam^S…>; ignored",
                config.alert_mention,
            )

    def _mention_for(self, project: Project) -> str | None:
        """Who the project's alerts ping: its owner, else the configured default."""
        return owner_mention(project.owner) or self.mention

    # --- deciding ---------------------------------------------------------------------------
    def _history(self, s: Session, scan: Scan, depth: int) -> list[tuple[str, str]]:
        return ScanRepo(s).finished_history(scan.project_id, scan.id, FINISHED, depth)

    def _support(
        self,
        scan: Scan,
        project: Project,
        connector: Connector,
        categories: Sequence[ErrorCategory],
        streak: int,
    ) -> tuple[SupportCase, ...]:
        cases = []

        def case(reason: SupportReason, detail: str) -> SupportCase:
            return SupportCase(project.id, project.name, reason, detail, scan.id, connector.id)

        window = timedelta(hours=self.config.support_new_connector_hours)
        if (
            ErrorCategory.INVALID_CREDENTIALS in categories
            and scan.created_at - connector.created_at < window
        ):
            cases.append(
                case(
                    SupportReason.NEW_CONNECTOR_AUTH,
                    "the connector was created less than "
                    f"{self.config.support_new_connector_hours:g} h ago and is still rejected",
                )
            )
        if scan.trigger != RETRY_TRIGGER and streak >= self.config.support_failure_streak:
            cases.append(case(SupportReason.REPEATED_FAILURES, f"failed {streak} times in a row"))
        if ErrorCategory.UNKNOWN in categories:
            cases.append(
                case(SupportReason.UNKNOWN_ERRORS, "the error log shows unknown processing errors")
            )
        return tuple(cases)

    def _retry(
        self,
        scan: Scan,
        project: Project,
        categories: Sequence[ErrorCategory],
        history: Sequence[tuple[str, str]],
    ) -> tuple[RetryNotice | None, bool]:
        """The retry to schedule (if any) and whether the cap was reached."""
        if (
            scan.status not in FAILING
            or set(categories) != {ErrorCategory.TEMPORARY}
            or project.last_scan_id != scan.id
        ):
            return None, False
        done = 0
        for _status, trigger in history:
            if trigger != RETRY_TRIGGER:
                break
            done += 1
        cap = self.config.retry_max_attempts
        if cap <= 0:  # automatic retries switched off
            return None, False
        if done >= cap:
            return None, True
        attempt = done + 1
        at = self.now() + retry_delay(
            attempt, self.config.retry_base_seconds, self.config.retry_factor
        )
        return RetryNotice(attempt, cap, at), False

    def _decide(self, s: Session, scan_id: int) -> Decision | None:
        facts = ScanFacts.load(s, scan_id)
        if facts is None:
            return None
        scan, project = facts.scan, facts.project
        categories = facts.categories
        # enough history for the streak with every retry in between, and for the retries
        per_run = max(0, self.config.retry_max_attempts) + 1
        depth = per_run * (self.config.support_failure_streak + 1) + 2
        history = self._history(s, scan, depth)
        streak = streak_of(st for st, trigger in history if trigger != RETRY_TRIGGER)
        support = (
            self._support(scan, project, facts.connector, categories, streak)
            if facts.failing
            else ()
        )
        retry, exhausted = self._retry(scan, project, categories, history)
        routed = self._routed_channels(s, project, facts.connector)
        moved = transition(s, facts, bool(support), self.now(), routed=bool(routed))
        incident = moved.incident
        alert = None
        page = False
        copies: tuple[CopyPlan, ...] = ()
        if incident is not None:
            copies = self._copies(s, incident, moved.action, routed)
            # a person is needed unless an automatic retry may still fix it; they are paged
            # in the project's alert channel (a project without one pages nobody)
            needs_person = facts.failing and retry is None and bool(incident.channel_id)
            page = needs_person and (not incident.paged or moved.escalated)
            incident.paged = incident.paged or page
            alert = alert_data(
                facts,
                incident,
                moved.action,
                support=support,
                retry=retry,
                retries_exhausted=exhausted,
                mention=self._mention_for(project) if page else None,
                digest_link=DeliveryRepo(s).latest_link_listing(project.id),
            )
        return Decision(
            scan_id=scan.id,
            project_id=project.id,
            action=moved.action,
            alert=alert,
            incident_id=incident.id if incident is not None else None,
            channel_id=(incident.channel_id or None) if incident is not None else None,
            ts=incident.ts if incident is not None else None,
            escalated=moved.escalated,
            paged=page,
            retry=retry,
            retry_after_scan_id=scan.id if retry else None,
            support=support,
            copies=copies,
        )

    def _routed_channels(self, s: Session, project: Project, connector: Connector) -> list[str]:
        """The channels subscribed to this project's failures, its alert channel left out."""
        channels: dict[str, None] = {}
        for sub in ChannelSubscriptionRepo(s).of_kind("failures"):
            if sub.channel_id != project.alert_channel and matches(
                sub, project.name, connector.provider
            ):
                channels.setdefault(sub.channel_id, None)
        return list(channels)

    def _copies(
        self, s: Session, incident: AlertIncident, action: Action, routed: Sequence[str]
    ) -> tuple[CopyPlan, ...]:
        """The incident's copy in each subscribed channel (added for a channel that has none
        yet while the project fails; a recovery only reaches channels that saw the alert)."""
        if action is Action.NONE:
            return ()
        repo = FailureCopyRepo(s)
        have = {c.channel_id: c for c in repo.of_incident(incident.id)}
        plans = []
        for channel in routed:
            copy = have.get(channel)
            if copy is None:
                if action is Action.RECOVER:
                    continue
                copy = repo.add(
                    FailureAlertCopy(
                        incident_id=incident.id,
                        channel_id=channel,
                        ts=None,
                        post_attempts=0,
                        created_at=self.now(),
                    )
                )
            elif copy.ts is None and action is Action.RECOVER:
                continue
            plans.append(CopyPlan(copy.id, channel, copy.ts))
        return tuple(plans)

    # --- acting -----------------------------------------------------------------------------
    def process(self, scan_id: int) -> Decision | None:
        """Follow up one finished scan (once, whichever process gets there first)."""
        try:
            with self.db.unit_of_work() as s:
                followups = FollowupRepo(s)
                followups.claim(scan_id, self.holder, self.now())
                decision = self._decide(s, scan_id)
                if decision is None:
                    return None
                followups.set_outcome(scan_id, decision.summary)
        except IntegrityError:
            log.debug("scan %s was already followed up", scan_id)
            return None
        if decision.retry is not None and self.schedule_retry is not None:
            self.schedule_retry(decision.project_id, decision.scan_id, decision.retry.at)
        self._notify(decision)
        return decision

    def _notify(self, decision: Decision) -> None:
        deliverer = self._deliverer()
        alert = decision.alert
        if deliverer is None or alert is None:
            return
        if decision.channel_id is not None:
            self._notify_channel(deliverer, decision, alert, decision.channel_id)
        copy = _routed(alert, decision.channel_id)
        for plan in decision.copies:
            if plan.ts is None:
                self._post_copy(deliverer, plan.copy_id, plan.channel_id, copy)
                continue
            deliverer.update(plan.channel_id, plan.ts, build_alert(copy))
            deliverer.post(plan.channel_id, build_alert_reply(copy), thread_ts=plan.ts)

    def _notify_channel(
        self, deliverer: Deliverer, decision: Decision, alert: AlertData, channel: str
    ) -> None:
        ts = decision.ts
        if decision.action is Action.POST or (decision.action is Action.UPDATE and ts is None):
            self._post_incident(deliverer, decision.incident_id, channel, alert)
            return
        if ts is None:  # recovered before its first message could be posted: nothing to fix
            return
        deliverer.update(channel, ts, build_alert(_without_mention(alert)))  # no ping on edit
        deliverer.post(channel, build_alert_reply(alert), thread_ts=ts)  # pings when paging

    def _post_incident(
        self, deliverer: Deliverer, incident_id: int | None, channel: str, alert: AlertData
    ) -> None:
        result = deliverer.post(channel, build_alert(alert))
        link = deliverer.permalink(channel, result.ts) if result.ok and result.ts else None
        if incident_id is None:
            return
        with self.db.unit_of_work() as s:
            incident = IncidentRepo(s).get(incident_id)
            if incident is None or incident.ts is not None:
                return
            if result.ok:
                incident.ts = result.ts
                incident.permalink = link
                incident.last_post_error = None
            else:
                log.warning("alert for %s not posted: %s", alert.project.name, result.error)
                incident.post_attempts += 1
                incident.last_post_error = (result.error or "unknown error")[:300]
            incident.last_post_at = self.now()

    def _post_copy(
        self, deliverer: Deliverer, copy_id: int, channel: str, alert: AlertData
    ) -> None:
        result = deliverer.post(channel, build_alert(alert))
        with self.db.unit_of_work() as s:
            copy = FailureCopyRepo(s).get(copy_id)
            if copy is None or copy.ts is not None:
                return
            if result.ok and result.ts:
                copy.ts = result.ts
                copy.last_post_error = None
            else:
                log.warning(
                    "alert for %s not posted to %s: %s", alert.project.name, channel, result.error
                )
                copy.post_attempts += 1
                copy.last_post_error = (result.error or "unknown error")[:300]
            copy.last_post_at = self.now()

    # --- recovery ---------------------------------------------------------------------------
    def unfollowed_scans(self, limit: int = 200) -> list[int]:
        """Scans that ended in the sweep window and were not followed up yet."""
        cutoff = self.now() - timedelta(minutes=self.config.followup_sweep_minutes)
        with self.db.read() as s:
            return FollowupRepo(s).unfollowed(FINISHED, cutoff, limit)

    def sweep(self) -> int:
        """Follow up scans that ended without this process seeing them."""
        done = 0
        for scan_id in self.unfollowed_scans():
            if self.process(scan_id) is not None:
                done += 1
        return done

    def repost_unposted(self) -> int:
        """Post the message of open incidents whose first post failed, in the alert channel
        or a subscribed one (with backoff, and giving up after `MAX_POST_ATTEMPTS`: the digest
        still lists the failure)."""
        deliverer = self._deliverer()
        if deliverer is None:
            return 0
        now = self.now()
        with self.db.read() as s:
            pending = [
                (i.id, i.last_scan_id, i.channel_id)
                for i in IncidentRepo(s).unposted(MAX_POST_ATTEMPTS)
                if i.last_post_at is None or i.last_post_at + repost_backoff(i.post_attempts) <= now
            ]
            copies = [
                (c.id, c.channel_id, i.id, i.last_scan_id, i.channel_id)
                for c, i in FailureCopyRepo(s).unposted(MAX_POST_ATTEMPTS)
                if c.last_post_at is None or c.last_post_at + repost_backoff(c.post_attempts) <= now
            ]
        posted = 0
        for incident_id, scan_id, channel in pending:
            alert = self.rebuild(incident_id, scan_id)
            if alert is not None:
                self._post_incident(deliverer, incident_id, channel, alert)
                posted += 1
        for copy_id, channel, incident_id, scan_id, home in copies:
            alert = self.rebuild(incident_id, scan_id)
            if alert is not None:
                self._post_copy(deliverer, copy_id, channel, _routed(alert, home or None))
                posted += 1
        return posted

    def rebuild(self, incident_id: int, scan_id: int) -> AlertData | None:
        """The alert data of an open incident, from its latest scan."""
        with self.db.read() as s:
            incident = IncidentRepo(s).get(incident_id)
            facts = ScanFacts.load(s, scan_id)
            if incident is None or facts is None:
                return None
            return alert_data(
                facts,
                incident,
                Action.POST,
                mention=self._mention_for(facts.project) if incident.paged else None,
                digest_link=DeliveryRepo(s).latest_link_listing(facts.project.id),
            )

    def incidents(self, project_id: int | None = None) -> list[dict[str, object]]:
        """Incident rows (newest first), for operators and tests."""
        with self.db.read() as s:
            return [
                {
                    "id": i.id,
                    "project_id": i.project_id,
                    "channel_id": i.channel_id,
                    "ts": i.ts,
                    "is_open": i.is_open,
                    "failures": i.failures,
                    "support_flagged": i.support_flagged,
                    "paged": i.paged,
                    "permalink": i.permalink,
                    "last_scan_id": i.last_scan_id,
                    "last_status": i.last_status,
                }
                for i in IncidentRepo(s).recent(project_id)
            ]


def _without_mention(alert: AlertData) -> AlertData:
    return replace(alert, mention=None)


def _routed(alert: AlertData, home_channel: str | None) -> AlertData:
    """The alert as a subscribed channel gets it: no mention, the alert channel named."""
    return replace(alert, mention=None, routed=True, home_channel=home_channel)
