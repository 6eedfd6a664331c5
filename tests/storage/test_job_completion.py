"""Job completion at the result writer, field by field: what a claim hands the worker, what a
job's result writes (and to which scan only), how the last job finalises, and how a dead
owner's work is interrupted. The same code serves the embedded pool and Celery workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus
from bot.engine.status import ScanStatusRules
from storage.db import Database
from storage.models import Connector, Project, Scan
from storage.repositories import ConnectorRepo, ProjectRepo, ScanRepo
from storage.results import (
    PLAN_UNIT,
    FindingResult,
    JobClaim,
    JobError,
    JobFacts,
    JobFinished,
    OwnerLeases,
    OwnerRow,
    ResultWriter,
    Written,
)

LEASE = timedelta(seconds=15)
DENIED = CloudError(
    ErrorCategory.PERMISSION_DENIED,
    "AccessDenied",
    "Permission denied: iam:GetAccountSummary.",
    "Grant iam:GetAccountSummary.",
)
LONG = "x" * 400
INTERRUPTED = CloudError(ErrorCategory.TEMPORARY, "Interrupted", "The bot stopped. " + LONG, "")
RULES = ScanStatusRules()


def never(_: OwnerRow) -> bool:
    return False


def _naive(at: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone: compare in UTC without one."""
    return None if at is None else at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _scan(
    db: Database,
    name: str,
    *,
    scope: list[str] | None = None,
    check_ids: list[str] | None = None,
    target: dict[str, str] | None = None,
) -> tuple[int, int, int]:
    """(scan id, project id, connector id) of a queued scan of a new project."""
    with db.unit_of_work() as s:
        c = ConnectorRepo(s).add(
            Connector(name=f"{name}-aws", provider="aws", fingerprint="AKIA…ABCD", created_by="t")
        )
        p = ProjectRepo(s).add(
            Project(
                name=name,
                connector_id=c.id,
                created_by="t",
                scope=scope or [],
                check_ids=check_ids or [],
                target=target,
            )
        )
        scan = ScanRepo(s).add(
            Scan(project_id=p.id, connector_id=c.id, status="queued", trigger="cli",
                 requested_by="t")
        )  # fmt: skip
        p.last_scan_id = scan.id
        return scan.id, p.id, c.id


def _owner(db: Database, pid: int) -> int:
    return OwnerLeases(db).register(f"host-{pid}", pid, 5000 + pid, f"boot-{pid}", LEASE)


def _running(
    db: Database, writer: ResultWriter, name: str, units: list[str], holder: int | None = None
) -> tuple[int, int, list[int]]:
    """(scan id, project id, job ids) of a scan planned with `units` (jobs held by `holder`)."""
    scan_id, project_id, _ = _scan(db, name)
    planner = _owner(db, 1)
    writer.begin(scan_id, planner, "host-1:1")
    jobs = writer.create_jobs(scan_id, units, planner, holder)
    assert jobs is not None
    return scan_id, project_id, jobs


def test_a_claim_hands_the_worker_everything_the_job_needs(db: Database) -> None:
    writer = ResultWriter(db, RULES)
    target = {"account_id": "111122223333", "role_arn": "arn:aws:iam::111122223333:role/cspm"}
    scan_id, project_id, connector_id = _scan(
        db, "web", scope=["us-east-1"], check_ids=["aws.s3.public"], target=target
    )
    planner, worker = _owner(db, 1), _owner(db, 2)
    writer.begin(scan_id, planner, "host-1:1")
    first, second = writer.create_jobs(scan_id, ["us-east-1", "global"], planner, None) or []
    assert writer.claim_job(first, worker, never) == JobClaim(
        run=True,
        reason="claimed",
        scan_id=scan_id,
        project_id=project_id,
        connector_id=connector_id,
        unit="us-east-1",
        scope=("us-east-1",),
        check_ids=("aws.s3.public",),
        stop_requested=False,
        attempts=1,
        target=target,
    )
    with db.read() as s:
        job = next(j for j in ScanRepo(s).jobs(scan_id) if j.id == first)
        assert (job.status, job.owner_id) == (JobStatus.RUNNING.value, worker)
        assert job.started_at is not None
    with db.unit_of_work() as s:
        ScanRepo(s).request_stop(scan_id, "slack:U0STOPPER", datetime.now(UTC))
    stopped = writer.claim_job(second, worker, never)
    assert (stopped.run, stopped.stop_requested, stopped.unit) == (True, True, "global")

    plain, _, _ = _scan(db, "etl")  # a project of the connector's own account
    writer.begin(plain, planner, "host-1:1")
    (job_id,) = writer.create_jobs(plain, ["us-east-1"], planner, None) or []
    claim = writer.claim_job(job_id, worker, never)
    assert (claim.target, claim.scope, claim.check_ids) == (None, (), ())


def test_a_claim_that_does_not_run_says_why_and_every_delivery_is_counted(
    db: Database,
) -> None:
    writer = ResultWriter(db, RULES)
    scan_id, _, (job,) = _running(db, writer, "web", ["us-east-1"])
    first, second = _owner(db, 2), _owner(db, 3)
    assert writer.claim_job(10**6, first, never) == JobClaim(False, "missing")

    assert writer.claim_job(job, first, never).reason == "claimed"
    asked: list[OwnerRow] = []

    def alive(row: OwnerRow) -> bool:
        asked.append(row)
        return False

    assert writer.claim_job(job, second, alive) == JobClaim(False, "held", scan_id, attempts=2)
    assert [(r.owner_id, r.host, r.pid, r.start_ticks) for r in asked] == [
        (first, "host-2", 2, 5002)
    ]
    taken = writer.claim_job(job, second, lambda row: True)  # its holder is shown dead
    assert (taken.run, taken.reason, taken.attempts) == (True, "taken over", 3)
    # delivered again to the process running it: it runs once, on the thread it has
    assert writer.claim_job(job, second, never) == JobClaim(False, "held", scan_id, attempts=4)
    assert writer.finish_job(
        JobFinished(job, scan_id, "us-east-1", JobStatus.SUCCEEDED, ""), second
    )
    assert writer.claim_job(job, first, never) == JobClaim(False, "final", scan_id, attempts=5)
    with db.read() as s:
        assert [j.owner_id for j in ScanRepo(s).jobs(scan_id)] == [second]


def test_a_job_queued_for_a_process_is_claimed_by_it_and_not_by_a_scan_that_ended(
    db: Database,
) -> None:
    writer = ResultWriter(db, RULES)
    mine = _owner(db, 2)
    scan_id, _, (held_for_me, other) = _running(db, writer, "web", ["a", "b"], holder=mine)
    claim = writer.claim_job(held_for_me, mine, never)  # queued in this process's memory
    assert (claim.run, claim.reason) == (True, "claimed")
    with db.unit_of_work() as s:  # the scan ended while `other` waited in a queue
        s.execute(update(Scan).where(Scan.id == scan_id).values(status="failed"))
    assert writer.claim_job(other, mine, never) == JobClaim(
        False, "scan final", scan_id, attempts=1
    )
    late = JobFinished(held_for_me, scan_id, "a", JobStatus.SUCCEEDED, "done")
    assert writer.finish_job(late, mine) == Written(False)  # the scan ended without it
    with db.read() as s:
        job = next(j for j in ScanRepo(s).jobs(scan_id) if j.id == held_for_me)
        assert (job.status, job.finished_at) == (JobStatus.RUNNING.value, None)
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None and scan.jobs_done == 0


def test_a_result_is_written_whole_to_its_job_and_scan_only(db: Database) -> None:
    writer = ResultWriter(db, RULES)
    worker = _owner(db, 2)
    scan_id, project_id, (denied, fine) = _running(db, writer, "web", ["global", "us-east-1"])
    other_scan, _, (other_job,) = _running(db, writer, "etl", ["us-east-1"])
    for job in (denied, fine, other_job):
        assert writer.claim_job(job, worker, never).run
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    findings = [
        FindingResult("aws.iam.root_mfa", "high", "r" * 600, "g" * 70, False, "d" * 1200),
        FindingResult("aws.iam.root_keys", "critical", "root", "global", False),
        FindingResult("aws.iam.policy", "low", "user/a", "global", True),
    ]
    result = JobFinished(
        denied, scan_id, "global", JobStatus.FAILED, LONG, findings,
        [JobError(DENIED, "aws.iam.summary")], at,
    )  # fmt: skip
    assert writer.finish_job(result, worker) == Written(True, project_id)
    with db.read() as s:
        repo = ScanRepo(s)
        job = next(j for j in repo.jobs(scan_id) if j.id == denied)
        assert (job.status, job.message) == (JobStatus.FAILED.value, LONG[:300])
        assert _naive(job.finished_at) == _naive(at)
        assert (job.findings_failed, job.findings_total) == (2, 3)
        rows = sorted(repo.findings(scan_id), key=lambda f: f.check_id)
        assert [(f.job_id, f.check_id, f.passed) for f in rows] == [
            (denied, "aws.iam.policy", True),
            (denied, "aws.iam.root_keys", False),
            (denied, "aws.iam.root_mfa", False),
        ]
        cut = rows[2]
        assert (len(cut.resource), len(cut.region), len(cut.detail)) == (500, 64, 1000)
        (entry,) = repo.error_entries(scan_id)
        assert (entry.job_id, entry.check_id, entry.unit) == (denied, "aws.iam.summary", "global")
        scan = repo.get(scan_id)
        assert scan is not None and scan.status == ScanStatus.RUNNING.value
        assert (scan.jobs_done, scan.jobs_ok, scan.jobs_failed) == (1, 0, 1)
        failed = [JobFacts("global", JobStatus.FAILED, ErrorCategory.PERMISSION_DENIED)]
        assert scan.status_message == RULES.running_message(1, 2, failed)
        assert ErrorCategory.PERMISSION_DENIED.label in scan.status_message
        untouched = repo.get(other_scan)
        assert untouched is not None and (untouched.jobs_done, untouched.jobs_failed) == (0, 0)
        assert repo.findings(other_scan) == [] and repo.error_entries(other_scan) == []

    last = JobFinished(fine, scan_id, "us-east-1", JobStatus.SUCCEEDED, "7 checked")
    assert writer.finish_job(last, worker) == Written(
        True, project_id, ScanStatus.PARTIALLY_COMPLETED
    )
    with db.read() as s:
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None and scan.finished_at is not None
        assert (scan.jobs_total, scan.jobs_done, scan.jobs_ok, scan.jobs_failed) == (2, 2, 1, 1)
        facts = [
            JobFacts("global", JobStatus.FAILED, ErrorCategory.PERMISSION_DENIED),
            JobFacts("us-east-1", JobStatus.SUCCEEDED),
        ]
        assert (scan.status, scan.status_message) == (
            ScanStatus.PARTIALLY_COMPLETED.value,
            RULES.final(False, facts, None)[1],
        )
        assert ErrorCategory.PERMISSION_DENIED.label in scan.status_message
        project = ProjectRepo(s).get_by_name("web")
        assert project is not None and project.last_status == "partially_completed"
        other = ScanRepo(s).get(other_scan)
        assert other is not None and other.status == ScanStatus.RUNNING.value
        assert other.finished_at is None


def test_a_result_from_a_process_that_does_not_hold_the_job_changes_nothing(
    db: Database,
) -> None:
    writer = ResultWriter(db, RULES)
    worker, stranger = _owner(db, 2), _owner(db, 3)
    scan_id, project_id, (job, _) = _running(db, writer, "web", ["a", "b"])
    assert writer.claim_job(job, worker, never).run
    stray = JobFinished(job, scan_id, "a", JobStatus.FAILED, "late", errors=[JobError(DENIED)])
    assert writer.finish_job(stray, stranger) == Written(False)
    with db.read() as s:
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None and (scan.jobs_done, scan.jobs_failed) == (0, 0)
        assert ScanRepo(s).error_entries(scan_id) == []
    assert writer.finish_job(stray, worker) == Written(True, project_id)
    assert writer.finish_job(stray, worker) == Written(False)  # written once


def test_interrupted_and_cancelled_jobs_are_counted_as_what_they_are(db: Database) -> None:
    writer = ResultWriter(db, RULES)
    worker = _owner(db, 2)
    scan_id, _, jobs = _running(db, writer, "web", ["a", "b", "c"])
    for job in jobs:
        writer.claim_job(job, worker, never)
    writer.interrupt_job(JobFinished(jobs[0], scan_id, "a", JobStatus.INTERRUPTED, "bye"), worker)
    writer.finish_job(JobFinished(jobs[1], scan_id, "b", JobStatus.CANCELLED, "stop"), worker)
    with db.read() as s:
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None and (scan.jobs_done, scan.jobs_ok, scan.jobs_failed) == (2, 0, 1)


def test_a_stopped_scan_names_who_stopped_it(db: Database) -> None:
    writer = ResultWriter(db, RULES)
    worker = _owner(db, 2)
    scan_id, _, (cancelled, done) = _running(db, writer, "web", ["a", "b"])
    for job in (cancelled, done):
        writer.claim_job(job, worker, never)
    with db.unit_of_work() as s:
        ScanRepo(s).request_stop(scan_id, "slack:U0STOPPER", datetime.now(UTC))
    writer.finish_job(JobFinished(done, scan_id, "b", JobStatus.SUCCEEDED, ""), worker)
    final = writer.finish_job(JobFinished(cancelled, scan_id, "a", JobStatus.CANCELLED, ""), worker)
    assert final.final is ScanStatus.STOPPED
    with db.read() as s:
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None
        assert scan.status_message == "Stopped by <@U0STOPPER> after 1 of 2 jobs finished"


def test_a_dead_owners_jobs_end_interrupted_in_its_scan_only(db: Database) -> None:
    writer = ResultWriter(db, RULES)
    dead, live = _owner(db, 2), _owner(db, 3)
    scan_id, project_id, (lost, busy, failed) = _running(db, writer, "web", ["a", "b", "c"])
    other_scan, _, (other_job,) = _running(db, writer, "etl", ["a"])
    for job, holder in ((lost, dead), (busy, live), (failed, live), (other_job, dead)):
        writer.claim_job(job, holder, never)
    writer.finish_job(JobFinished(failed, scan_id, "c", JobStatus.FAILED, "denied"), live)

    assert writer.interrupt(scan_id, set(), INTERRUPTED) == Written(False)
    assert writer.interrupt(scan_id, {dead}, INTERRUPTED) == Written(True, project_id)
    with db.read() as s:
        repo = ScanRepo(s)
        job = next(j for j in repo.jobs(scan_id) if j.id == lost)
        assert (job.status, job.message) == (
            JobStatus.INTERRUPTED.value,
            INTERRUPTED.message[:300],
        )
        assert job.finished_at is not None
        (entry,) = repo.error_entries(scan_id)
        assert (entry.job_id, entry.unit, entry.code) == (lost, "a", "Interrupted")
        scan = repo.get(scan_id)
        assert scan is not None and (scan.jobs_done, scan.jobs_failed) == (2, 2)
        assert scan.status == ScanStatus.RUNNING.value  # `busy` still runs on a live process
        (untouched,) = repo.jobs(other_scan)
        assert untouched.status == JobStatus.RUNNING.value  # another scan's: its own recovery
    assert writer.interrupt(scan_id, {dead}, INTERRUPTED) == Written(False, project_id)
    assert writer.interrupt(scan_id, {live}, INTERRUPTED) == Written(
        True, project_id, ScanStatus.FAILED
    )
    assert writer.interrupt(scan_id, {live}, INTERRUPTED) == Written(False)  # final: once


def test_a_scan_whose_planner_died_before_its_jobs_ends_with_one_interrupted_job(
    db: Database,
) -> None:
    writer = ResultWriter(db, RULES)
    planner, other = _owner(db, 2), _owner(db, 3)
    scan_id, project_id, _ = _scan(db, "web")
    writer.begin(scan_id, planner, "host-2:2")
    assert writer.interrupt(scan_id, {other}, INTERRUPTED) == Written(False, project_id)
    assert writer.interrupt(scan_id, {planner}, INTERRUPTED) == Written(
        True, project_id, ScanStatus.FAILED
    )
    with db.read() as s:
        (job,) = ScanRepo(s).jobs(scan_id)
        assert (job.unit, job.status) == (PLAN_UNIT, JobStatus.INTERRUPTED.value)
        (entry,) = ScanRepo(s).error_entries(scan_id)
        assert (entry.job_id, entry.code) == (job.id, "Interrupted")
        scan = ScanRepo(s).get(scan_id)  # the counts are the jobs' own: the plan job counts
        assert scan is not None
        assert (scan.jobs_total, scan.jobs_done, scan.jobs_ok, scan.jobs_failed) == (1, 1, 0, 1)


def test_a_scan_that_could_not_be_planned_counts_its_one_failed_job(db: Database) -> None:
    writer = ResultWriter(db, RULES)
    planner = _owner(db, 2)
    scan_id, project_id, _ = _scan(db, "web")
    writer.begin(scan_id, planner, "host-2:2")
    assert writer.record_plan_failure(scan_id, planner, DENIED) == Written(
        True, project_id, ScanStatus.FAILED
    )
    with db.read() as s:
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None
        assert (scan.jobs_total, scan.jobs_done, scan.jobs_ok, scan.jobs_failed) == (1, 1, 0, 1)
        assert ErrorCategory.PERMISSION_DENIED.label in (scan.status_message or "")
