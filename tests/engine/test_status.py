"""The status rules, as pure functions."""

from __future__ import annotations

from bot.domain import ErrorCategory, JobStatus, ScanStatus
from bot.engine.status import JobOutcome, final_status, status_message

OK = JobStatus.SUCCEEDED
FAIL = JobStatus.FAILED


def jobs(*statuses: JobStatus, category: ErrorCategory | None = None) -> list[JobOutcome]:
    return [
        JobOutcome(f"unit-{i}", st, category if st is FAIL else None)
        for i, st in enumerate(statuses)
    ]


def test_every_job_succeeded_is_completed() -> None:
    outcome = jobs(OK, OK, OK)
    assert final_status(False, outcome) is ScanStatus.COMPLETED
    assert status_message(ScanStatus.COMPLETED, outcome) == "All 3 jobs succeeded"


def test_some_failed_is_partially_completed_and_names_units() -> None:
    outcome = jobs(OK, FAIL, OK, FAIL, OK, category=ErrorCategory.TEMPORARY)
    status = final_status(False, outcome)
    assert status is ScanStatus.PARTIALLY_COMPLETED
    assert status_message(status, outcome) == (
        "2 of 5 jobs failed: temporary cloud error (unit-1, unit-3)"
    )


def test_every_job_failed_is_failed_with_the_cause() -> None:
    outcome = jobs(FAIL, FAIL, category=ErrorCategory.INVALID_CREDENTIALS)
    assert final_status(False, outcome) is ScanStatus.FAILED
    assert status_message(ScanStatus.FAILED, outcome) == "2 of 2 jobs failed: authentication failed"


def test_stopped_wins_over_everything() -> None:
    outcome = jobs(OK, FAIL, JobStatus.CANCELLED)
    assert final_status(True, outcome) is ScanStatus.STOPPED
    assert status_message(ScanStatus.STOPPED, outcome, "U123") == (
        "Stopped by U123 after 2 of 3 jobs finished"
    )


def test_interrupted_jobs_count_as_failed() -> None:
    outcome = [JobOutcome("a", OK), JobOutcome("b", JobStatus.INTERRUPTED)]
    status = final_status(False, outcome)
    assert status is ScanStatus.PARTIALLY_COMPLETED
    assert "1 interrupted" in status_message(status, outcome)


def test_no_jobs_is_failed() -> None:
    assert final_status(False, []) is ScanStatus.FAILED


def test_message_is_bounded() -> None:
    outcome = [JobOutcome("x" * 120, FAIL, ErrorCategory.UNKNOWN) for _ in range(3)] + [
        JobOutcome("ok", OK)
    ]
    assert len(status_message(ScanStatus.PARTIALLY_COMPLETED, outcome)) <= 300
