"""Pure rules for a scan's status and its one-line status message."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import ErrorCategory, JobStatus, ScanStatus
from storage.results import JobFacts

MESSAGE_LIMIT = 300
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


@dataclass(frozen=True)
class JobOutcome:
    """What the status rules need to know about one job."""

    unit: str
    status: JobStatus
    category: ErrorCategory | None = None  # the job's main error category when it failed


def is_failed(status: JobStatus) -> bool:
    """Failed and interrupted jobs count as failed; cancelled ones do not."""
    return status in (JobStatus.FAILED, JobStatus.INTERRUPTED)


def final_status(stop_requested: bool, jobs: Sequence[JobOutcome]) -> ScanStatus:
    """Stopped when a Stop actually stopped something (a job was cancelled, or the scan
    ended before it had jobs); otherwise what the jobs say: Completed (all ok), Failed (all
    failed) or Partially Completed. A Stop that came after every job had ended stops nothing."""
    if stop_requested and (not jobs or any(j.status is JobStatus.CANCELLED for j in jobs)):
        return ScanStatus.STOPPED
    ok = sum(1 for j in jobs if j.status is JobStatus.SUCCEEDED)
    failed = sum(1 for j in jobs if is_failed(j.status))
    if failed == 0 and ok > 0:
        return ScanStatus.COMPLETED
    if ok == 0:
        return ScanStatus.FAILED
    return ScanStatus.PARTIALLY_COMPLETED


def _causes(jobs: Sequence[JobOutcome]) -> str:
    counts = Counter(
        (j.category or ErrorCategory.UNKNOWN)
        if j.status is JobStatus.FAILED
        else ErrorCategory.TEMPORARY
        for j in jobs
        if is_failed(j.status)
    )
    order = list(ErrorCategory)
    parts = [
        c.label for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    ]
    interrupted = sum(1 for j in jobs if j.status is JobStatus.INTERRUPTED)
    text = ", ".join(parts)
    if interrupted:
        text += f" ({interrupted} interrupted)"
    return text


def actor_name(actor: str | None) -> str | None:
    """Who did something, as people read it: a Slack user (recorded ``slack:U123`` or
    ``U123``) as a mention ``<@U123>``, a CLI user (``cli:alice``) by name."""
    if not actor:
        return None
    if actor.startswith("cli:"):
        return actor.removeprefix("cli:") or actor
    user = actor.removeprefix("slack:")
    if _SLACK_USER.match(user):
        return f"<@{user}>"
    return actor


def status_message(
    status: ScanStatus, jobs: Sequence[JobOutcome], stopped_by: str | None = None
) -> str:
    """The status tooltip, e.g. "2 of 5 jobs failed: authentication failed"."""
    total = len(jobs)
    done = sum(1 for j in jobs if j.status.is_finished and j.status is not JobStatus.CANCELLED)
    failed_jobs = [j for j in jobs if is_failed(j.status)]
    if status is ScanStatus.QUEUED:
        message = "Waiting to start"
    elif status is ScanStatus.RUNNING:
        message = f"{done} of {total} jobs finished" if total else "Planning jobs"
        if failed_jobs:
            message += f", {len(failed_jobs)} failed: {_causes(jobs)}"
    elif status is ScanStatus.COMPLETED:
        message = f"All {total} jobs succeeded" if total != 1 else "The job succeeded"
    elif status is ScanStatus.STOPPED:
        name = actor_name(stopped_by)
        who = f" by {name}" if name else ""
        message = f"Stopped{who} after {done} of {total} jobs finished"
    else:
        message = f"{len(failed_jobs)} of {total} jobs failed: {_causes(jobs)}"
        if status is ScanStatus.PARTIALLY_COMPLETED:
            units = ", ".join(j.unit for j in failed_jobs[:3])
            more = f" and {len(failed_jobs) - 3} more" if len(failed_jobs) > 3 else ""
            message += f" ({units}{more})"
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


class ScanStatusRules:
    """These rules in the shape the result writer takes (`storage.results.StatusRules`)."""

    def running_message(self, done: int, total: int, failed: Sequence[JobFacts]) -> str:
        """The message of a running scan: `done` of `total` jobs ended, `failed` of them
        failed."""
        if not total:
            return "Planning jobs"
        message = f"{done} of {total} jobs finished"
        if failed:
            message += f", {len(failed)} failed: {_causes(_outcomes(failed))}"
        return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"

    def final(
        self, stop_requested: bool, jobs: Sequence[JobFacts], stopped_by: str | None
    ) -> tuple[ScanStatus, str]:
        """The final status and message of a scan whose jobs all ended."""
        outcomes = _outcomes(jobs)
        status = final_status(stop_requested, outcomes)
        return status, status_message(status, outcomes, stopped_by)


def _outcomes(jobs: Sequence[JobFacts]) -> list[JobOutcome]:
    return [JobOutcome(j.unit, j.status, j.category) for j in jobs]
