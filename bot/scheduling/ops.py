"""The operations front ends call: set/clear scan schedules, (un)subscribe digests, list them.

Each operation writes the table (the source of truth) and then the APScheduler job, through
the running `SchedulingService` of this process if there is one, else through a paused
scheduler on the same job store (`offline_syncer`), so the CLI can change schedules while the
bot runs elsewhere: the leader's scheduler reads the job store again on its next tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.scheduling.clock import system_now
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.cron import DigestSchedule, parse_digest_schedule
from bot.scheduling.digest_query import SupportPolicy
from bot.scheduling.digests import DIGEST_KIND, DigestService, SubscriptionInfo
from bot.scheduling.findings_alerts import FindingsAlerts, SubscriptionSpec
from bot.scheduling.jobs import JobKind, job_id
from bot.scheduling.schedules import JobSyncer, ScanSchedules, ScheduleInfo, offline_syncer

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.views.findings_alert import SubscriptionInfo as ChannelSubscriptionInfo

DEFAULT_DIGEST_TIME = ("daily", "09:00")
"""The schedule a channel's digest gets when `/cspm subscribe digest` creates it."""


def support_policy(config: SchedulingConfig) -> SupportPolicy:
    """The support thresholds of a configuration."""
    return SupportPolicy(
        failure_streak=config.support_failure_streak,
        new_connector_window=timedelta(hours=config.support_new_connector_hours),
    )


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription with its persisted next run time."""

    subscription: SubscriptionInfo
    next_run: datetime | None


@dataclass(frozen=True)
class PendingRetry:
    """An automatic retry waiting to run: the project (id and name) and when."""

    project_id: int
    project: str
    at: datetime | None


class SchedulingOps:
    """Schedule and subscription changes: the table first, then the job."""

    def __init__(
        self,
        rt: Runtime,
        jobs: JobSyncer,
        config: SchedulingConfig,
        now: Callable[[], datetime] = system_now,
    ) -> None:
        self.rt = rt
        self.jobs = jobs
        self.config = config
        self.now = now
        self.digests = DigestService(rt.db, support_policy(config), now, "ops", lambda: None)
        self.schedules = ScanSchedules(rt.db, config)

    # --- scan schedules ---------------------------------------------------------------------
    def set_scan_schedule(
        self, project: str | int, cron: str, tz: str | None, actor: str
    ) -> ScheduleInfo:
        """Validate and store a project's schedule and write its job."""
        info = self.schedules.set(project, cron, tz, actor, self.now())
        return replace(info, next_run=self.jobs.sync_scan(info.project_id))

    def clear_scan_schedule(self, project: str | int, actor: str) -> ScheduleInfo:
        """Remove a project's schedule and its job."""
        info = self.schedules.clear(project, actor)
        self.jobs.sync_scan(info.project_id)
        return info

    def list_scan_schedules(self) -> list[ScheduleInfo]:
        """Scheduled projects with their persisted next run times."""
        runs = self.jobs.next_run_times()
        return [
            replace(i, next_run=runs.get(job_id(JobKind.SCAN, i.project_id)))
            for i in self.schedules.all()
        ]

    # --- digests ----------------------------------------------------------------------------
    def subscribe_digest(
        self, channel_id: str, schedule: DigestSchedule, all_clear: bool, actor: str
    ) -> tuple[SubscriptionView, bool]:
        """Create or replace a channel's digest; True in the tuple when it replaced one."""
        info, replaced = self.digests.subscribe(channel_id, schedule, all_clear, actor)
        return SubscriptionView(info, self.jobs.sync_digest(info.id)), replaced

    def unsubscribe_digest(self, channel_id: str) -> SubscriptionInfo | None:
        """Remove a channel's digest and its job."""
        info = self.digests.unsubscribe(channel_id)
        if info is not None:
            self.jobs.sync_digest(info.id)
        return info

    # --- channel subscriptions (findings, failures, digest slices) ---------------------------
    def subscribe_channel(
        self, channel_id: str, spec: SubscriptionSpec, actor: str
    ) -> tuple[ChannelSubscriptionInfo, bool, SubscriptionView | None]:
        """Add a channel's slice; a digest slice also gives the channel a digest (daily at
        09:00 in the default time zone) if it had none. Returns the slice, whether it is new,
        and for a digest slice the channel's digest."""
        alerts = FindingsAlerts(self.rt.db, self.now, lambda: None)
        info, created = alerts.subscribe(channel_id, spec, actor)
        if spec.kind != DIGEST_KIND:
            return info, created, None
        sub = self.digests.for_channel(channel_id)
        if sub is None:
            default = parse_digest_schedule(
                list(DEFAULT_DIGEST_TIME), self.config.digest_default_timezone
            )
            view, _ = self.subscribe_digest(channel_id, default, all_clear=True, actor=actor)
        else:
            view = SubscriptionView(
                sub, self.jobs.next_run_times().get(job_id(JobKind.DIGEST, sub.id))
            )
        listed = alerts.subscriptions(channel_id)
        return (
            next((r for r in listed if r.subscription_id == info.subscription_id), info),
            created,
            view,
        )

    def unsubscribe_channel(self, subscription_id: int, actor: str) -> ChannelSubscriptionInfo:
        """Remove a slice; the channel's last digest slice takes the channel's digest with it
        (its digest stops: `/cspm digest subscribe` gives it the whole digest again)."""
        alerts = FindingsAlerts(self.rt.db, self.now, lambda: None)
        info = alerts.unsubscribe(subscription_id, actor)
        if info.kind == DIGEST_KIND and not any(
            r.kind == DIGEST_KIND for r in alerts.subscriptions(info.channel_id)
        ):
            self.unsubscribe_digest(info.channel_id)
        return info

    def list_subscriptions(self) -> list[SubscriptionView]:
        """Every subscription with its persisted next run time."""
        runs = self.jobs.next_run_times()
        return [
            SubscriptionView(s, runs.get(job_id(JobKind.DIGEST, s.id))) for s in self.digests.all()
        ]

    def retries(self) -> list[PendingRetry]:
        """Pending automatic retries by project name (soonest first); a retry whose project
        was deleted meanwhile is left out."""
        out: list[PendingRetry] = []
        for jid, when in self.jobs.next_run_times().items():
            kind, _, target = jid.partition(":")
            if kind != JobKind.RETRY.value or not target.isdigit():
                continue
            project = self.rt.projects.get_or_none(int(target))
            if project is not None:
                out.append(PendingRetry(project.project_id, project.name, when))
        return sorted(out, key=lambda r: (r.at is None, r.at or datetime.min, r.project))


@contextmanager
def scheduling_ops(rt: Runtime) -> Iterator[SchedulingOps]:
    """The ops of this process's running scheduling service, or offline ones."""
    service = rt.scheduling
    if service is not None:
        yield service.ops
        return
    config = SchedulingConfig.from_settings(rt.settings)
    with offline_syncer(rt.db, config) as jobs:
        yield SchedulingOps(rt, jobs, config)
