"""Per-project scan schedules and keeping APScheduler's job store in step with the tables.

The tables are the source of truth: `projects.schedule_cron` / `schedule_tz` for scans and
`digest_subscriptions` for digests. `JobSyncer` writes the matching APScheduler jobs (only
when a trigger changed, so a job keeps its persisted next run time across restarts) and
removes jobs whose schedule is gone. A process without a running scheduler (the CLI) uses
`offline_syncer`, a paused scheduler on the same job store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bot.errors import InputError
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.cron import check_min_interval, parse_cron, parse_timezone
from bot.scheduling.digests import schedule_of
from bot.scheduling.jobs import (
    EXECUTOR,
    JOBSTORE,
    SCHEDULED_JOB_REF,
    JobKind,
    build_scheduler,
    job_id,
    parse_job_id,
)
from bot.services.projects import find_project
from storage.db import Database
from storage.repositories import AuditRepo, ProjectRepo
from storage.repositories.digests import SubscriptionRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleInfo:
    """A project's scan schedule."""

    project_id: int
    project_name: str
    cron: str | None
    timezone: str | None
    next_run: datetime | None = None


def scan_trigger(cron: str, tz_name: str | None) -> CronTrigger:
    """The trigger of a stored project schedule."""
    return parse_cron(cron, parse_timezone(tz_name))


class ScanSchedules:
    """Set, clear and list the scan schedules of projects."""

    def __init__(self, db: Database, config: SchedulingConfig) -> None:
        self.db = db
        self.config = config

    def validate(self, cron: str, tz_name: str | None, now: datetime) -> CronTrigger:
        """Check a schedule: 5 valid fields, a known time zone, not too frequent."""
        trigger = parse_cron(cron, parse_timezone(tz_name))
        check_min_interval(trigger, now, self.config.scan_schedule_min_minutes, "scan schedule")
        return trigger

    def set(
        self, project_ref: str | int, cron: str, tz_name: str | None, actor: str, now: datetime
    ) -> ScheduleInfo:
        """Give a project a schedule (replacing any), recorded in the audit log."""
        cron = " ".join((cron or "").split())
        tz = parse_timezone(tz_name).key
        trigger = self.validate(cron, tz, now)
        with self.db.unit_of_work() as s:
            project = find_project(s, project_ref)
            project.schedule_cron, project.schedule_tz = cron, tz
            AuditRepo(s).record(
                actor, "project.schedule", "project", project.id, {"cron": cron, "tz": tz}
            )
            return ScheduleInfo(
                project.id, project.name, cron, tz, trigger.get_next_fire_time(None, now)
            )

    def clear(self, project_ref: str | int, actor: str) -> ScheduleInfo:
        """Remove a project's schedule."""
        with self.db.unit_of_work() as s:
            project = find_project(s, project_ref)
            if project.schedule_cron is None:
                raise InputError(f"Project {project.name!r} has no schedule.")
            project.schedule_cron = project.schedule_tz = None
            AuditRepo(s).record(actor, "project.unschedule", "project", project.id)
            return ScheduleInfo(project.id, project.name, None, None)

    def all(self) -> list[ScheduleInfo]:
        """Every project that has a schedule, by name."""
        with self.db.read() as s:
            rows = ProjectRepo(s).scheduled()
            return [ScheduleInfo(pid, name, cron, tz) for pid, name, cron, tz in rows]


def _same_trigger(a: Any, b: Any) -> bool:
    return type(a) is type(b) and str(a) == str(b) and str(a.timezone) == str(b.timezone)


class JobSyncer:
    """Writes the APScheduler jobs that the tables call for."""

    def __init__(self, scheduler: BaseScheduler, db: Database, config: SchedulingConfig) -> None:
        self.scheduler = scheduler
        self.db = db
        self.config = config

    def _put(self, jid: str, trigger: Any, args: tuple[Any, ...], name: str) -> datetime | None:
        existing = self.scheduler.get_job(jid, JOBSTORE)
        if (
            existing is not None
            and _same_trigger(existing.trigger, trigger)
            and tuple(existing.args) == args
        ):
            return existing.next_run_time  # unchanged: keep its persisted next run time
        job = self.scheduler.add_job(
            SCHEDULED_JOB_REF,
            trigger=trigger,
            args=args,
            id=jid,
            name=name,
            executor=EXECUTOR,
            jobstore=JOBSTORE,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=None,  # the dispatch decides what a late run does
            max_instances=1,
        )
        return getattr(job, "next_run_time", None)  # None while the scheduler is not started

    def _drop(self, jid: str) -> None:
        self.scheduler.remove_job(jid, JOBSTORE)

    def _desired(self) -> dict[str, tuple[Any, tuple[Any, ...], str]]:
        desired: dict[str, tuple[Any, tuple[Any, ...], str]] = {}
        with self.db.read() as s:
            for pid, name, cron, tz in ProjectRepo(s).scheduled():
                try:
                    trigger = scan_trigger(cron or "", tz)
                except InputError as exc:
                    log.error("project %s has an unusable schedule %r: %s", name, cron, exc.message)
                    continue
                jid = job_id(JobKind.SCAN, pid)
                desired[jid] = (trigger, (JobKind.SCAN.value, pid), f"scan {name}")
            for sub in SubscriptionRepo(s).all():
                jid = job_id(JobKind.DIGEST, sub.id)
                desired[jid] = (
                    schedule_of(sub).trigger(),
                    (JobKind.DIGEST.value, sub.id),
                    f"digest {sub.channel_id}",
                )
        return desired

    def sync_all(self) -> tuple[int, int]:
        """Make the job store match the tables; returns (written or kept, removed)."""
        desired = self._desired()
        for jid, (trigger, args, name) in desired.items():
            self._put(jid, trigger, args, name)
        removed = 0
        for job in self.scheduler.get_jobs(JOBSTORE):
            parsed = parse_job_id(job.id)
            if parsed and parsed[0] is not JobKind.RETRY and job.id not in desired:
                self._drop(job.id)
                removed += 1
        return len(desired), removed

    def sync_scan(self, project_id: int) -> datetime | None:
        """Write or remove one project's scan job; returns its next run time."""
        jid = job_id(JobKind.SCAN, project_id)
        with self.db.read() as s:
            project = ProjectRepo(s).get(project_id)
            cron = project.schedule_cron if project else None
            tz, name = (project.schedule_tz, project.name) if project else (None, "")
        if not cron:
            self._drop(jid)
            return None
        return self._put(
            jid, scan_trigger(cron, tz), (JobKind.SCAN.value, project_id), f"scan {name}"
        )

    def sync_digest(self, subscription_id: int) -> datetime | None:
        """Write or remove one subscription's digest job; returns its next run time."""
        jid = job_id(JobKind.DIGEST, subscription_id)
        with self.db.read() as s:
            sub = SubscriptionRepo(s).get(subscription_id)
            if sub is None:
                self._drop(jid)
                return None
            trigger, channel = schedule_of(sub).trigger(), sub.channel_id
        return self._put(jid, trigger, (JobKind.DIGEST.value, subscription_id), f"digest {channel}")

    def schedule_retry(self, project_id: int, after_scan_id: int, at: datetime) -> None:
        """A one-off retry of a project's failed scan `after_scan_id` at `at` (persisted)."""
        self.scheduler.add_job(
            SCHEDULED_JOB_REF,
            trigger=DateTrigger(run_date=at),
            args=(JobKind.RETRY.value, project_id, after_scan_id),
            id=job_id(JobKind.RETRY, project_id),
            name=f"retry project {project_id} after scan {after_scan_id}",
            executor=EXECUTOR,
            jobstore=JOBSTORE,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def next_run_times(self) -> dict[str, datetime | None]:
        """Every stored job with its persisted next run time."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs(JOBSTORE)}


def _offline_dispatch(jid: str, args: tuple[Any, ...], when: datetime) -> None:
    raise RuntimeError("the offline scheduler never runs jobs")


@contextmanager
def offline_syncer(db: Database, config: SchedulingConfig) -> Iterator[JobSyncer]:
    """A `JobSyncer` on a paused scheduler: writes jobs without running any (CLI, tests)."""
    scheduler = build_scheduler(db.engine, _offline_dispatch, max_workers=1, quiet=True)
    scheduler.start(paused=True)
    try:
        yield JobSyncer(scheduler, db, config)
    finally:
        scheduler.shutdown(wait=False)
