"""The status rules, as pure functions."""

from __future__ import annotations

from bot.domain import ErrorCategory, JobStatus, ScanStatus
from bot.engine.status import JobOutcome, ScanStatusRules, final_status, status_message
from storage.results import JobFacts

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


def _f(unit: str, category: ErrorCategory | None) -> JobOutcome:
    return JobOutcome(unit, FAIL, category)


def test_causes_are_ordered_by_count_then_by_category() -> None:
    outcome = [
        _f("a", ErrorCategory.PERMISSION_DENIED),
        _f("b", ErrorCategory.UNKNOWN),
        _f("c", ErrorCategory.UNKNOWN),
        _f("d", ErrorCategory.INVALID_CREDENTIALS),
    ]
    assert status_message(ScanStatus.FAILED, outcome) == (
        "4 of 4 jobs failed: unknown processing error, authentication failed, permission denied"
    )


def test_a_failed_job_without_category_is_an_unknown_error() -> None:
    assert status_message(ScanStatus.FAILED, [_f("a", None)]) == (
        "1 of 1 jobs failed: unknown processing error"
    )


def test_interrupted_jobs_are_a_temporary_cause_and_are_counted() -> None:
    outcome = [
        _f("a", ErrorCategory.INVALID_CREDENTIALS),
        JobOutcome("b", JobStatus.INTERRUPTED, ErrorCategory.INVALID_CREDENTIALS),
        JobOutcome("c", JobStatus.INTERRUPTED),
        JobOutcome("d", OK),
    ]
    assert status_message(ScanStatus.PARTIALLY_COMPLETED, outcome) == (
        "3 of 4 jobs failed: temporary cloud error, authentication failed (2 interrupted) (a, b, c)"
    )


def test_running_messages() -> None:
    assert status_message(ScanStatus.QUEUED, []) == "Waiting to start"
    assert status_message(ScanStatus.RUNNING, []) == "Planning jobs"
    running = [
        JobOutcome("a", OK),
        JobOutcome("b", JobStatus.RUNNING),
        JobOutcome("c", JobStatus.QUEUED),
        JobOutcome("d", JobStatus.CANCELLED),
    ]
    assert status_message(ScanStatus.RUNNING, running) == "1 of 4 jobs finished"
    failing = [*running, _f("e", ErrorCategory.PERMISSION_DENIED)]
    assert status_message(ScanStatus.RUNNING, failing) == (
        "2 of 5 jobs finished, 1 failed: permission denied"
    )


def test_one_job_and_a_stop_by_nobody_in_particular() -> None:
    assert status_message(ScanStatus.COMPLETED, [JobOutcome("a", OK)]) == "The job succeeded"
    outcome = [JobOutcome("a", OK), JobOutcome("b", JobStatus.CANCELLED)]
    assert status_message(ScanStatus.STOPPED, outcome) == "Stopped after 1 of 2 jobs finished"


def test_partially_completed_names_three_units_and_counts_the_rest() -> None:
    outcome = [JobOutcome("ok", OK)] + [_f(f"r{i}", ErrorCategory.TEMPORARY) for i in range(5)]
    assert status_message(ScanStatus.PARTIALLY_COMPLETED, outcome) == (
        "5 of 6 jobs failed: temporary cloud error (r0, r1, r2 and 2 more)"
    )
    four = [JobOutcome("ok", OK)] + [_f(f"r{i}", ErrorCategory.TEMPORARY) for i in range(4)]
    assert status_message(ScanStatus.PARTIALLY_COMPLETED, four).endswith("(r0, r1, r2 and 1 more)")
    three = [JobOutcome("ok", OK)] + [_f(f"r{i}", ErrorCategory.TEMPORARY) for i in range(3)]
    assert status_message(ScanStatus.PARTIALLY_COMPLETED, three).endswith("(r0, r1, r2)")


def test_a_long_message_is_cut_to_the_limit_with_an_ellipsis() -> None:
    outcome = [JobOutcome("ok", OK)] + [_f("x" * 150, ErrorCategory.UNKNOWN) for _ in range(2)]
    message = status_message(ScanStatus.PARTIALLY_COMPLETED, outcome)
    assert len(message) == 300 and message.endswith("x…")
    assert message.startswith("2 of 3 jobs failed: unknown processing error (xxx")
    fits = [JobOutcome("ok", OK), _f("y" * (300 - 47), ErrorCategory.UNKNOWN)]
    whole = status_message(ScanStatus.PARTIALLY_COMPLETED, fits)
    assert len(whole) == 300 and whole.endswith("y)")  # exactly the limit: kept whole


def test_cancelled_jobs_are_neither_failures_nor_successes() -> None:
    assert final_status(False, [JobOutcome("a", OK), JobOutcome("b", JobStatus.CANCELLED)]) is (
        ScanStatus.COMPLETED
    )
    assert final_status(False, [JobOutcome("a", JobStatus.CANCELLED)]) is ScanStatus.FAILED
    assert final_status(False, [JobOutcome("a", FAIL)]) is ScanStatus.FAILED


def test_the_rules_the_result_writer_uses() -> None:
    rules = ScanStatusRules()
    failed = [JobFacts("eu-west-1", FAIL, ErrorCategory.PERMISSION_DENIED)]
    assert rules.running_message(0, 0, []) == "Planning jobs"
    assert rules.running_message(1, 3, []) == "1 of 3 jobs finished"
    assert rules.running_message(2, 3, failed) == (
        "2 of 3 jobs finished, 1 failed: permission denied"
    )
    ended = [JobFacts("us-east-1", OK), *failed]
    assert rules.final(False, ended, None) == (
        ScanStatus.PARTIALLY_COMPLETED,
        "1 of 2 jobs failed: permission denied (eu-west-1)",
    )
    stopped = [*ended, JobFacts("ap-south-1", JobStatus.CANCELLED)]
    assert rules.final(True, stopped, "U42") == (
        ScanStatus.STOPPED,
        "Stopped by <@U42> after 2 of 3 jobs finished",
    )
