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


def test_a_stop_that_cancelled_a_job_wins_over_everything() -> None:
    outcome = jobs(OK, FAIL, JobStatus.CANCELLED)
    assert final_status(True, outcome) is ScanStatus.STOPPED
    assert status_message(ScanStatus.STOPPED, outcome, "slack:U123") == (
        "Stopped by <@U123> after 2 of 3 jobs finished"
    )


def test_a_stop_before_any_job_existed_is_stopped() -> None:
    assert final_status(True, []) is ScanStatus.STOPPED


def test_a_stop_after_every_job_ended_stopped_nothing() -> None:
    assert final_status(True, jobs(OK, OK)) is ScanStatus.COMPLETED
    assert final_status(True, jobs(OK, FAIL)) is ScanStatus.PARTIALLY_COMPLETED
    assert final_status(True, jobs(FAIL, FAIL)) is ScanStatus.FAILED


def test_who_stopped_it_is_a_mention_or_a_name_never_the_internal_form() -> None:
    cancelled = jobs(OK, JobStatus.CANCELLED)
    by_slack = status_message(ScanStatus.STOPPED, cancelled, "slack:U0ABC123")
    by_cli = status_message(ScanStatus.STOPPED, cancelled, "cli:alice")
    assert by_slack == "Stopped by <@U0ABC123> after 1 of 2 jobs finished"
    assert by_cli == "Stopped by alice after 1 of 2 jobs finished"
    assert "slack:" not in by_slack and "cli:" not in by_cli


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
