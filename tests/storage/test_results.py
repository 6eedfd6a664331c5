"""The scan result writer on both engines: a scan's rows from running to its final status,
written once whoever writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus
from bot.engine.status import ScanStatusRules
from storage.db import Database
from storage.models import Connector, Project, Scan
from storage.repositories import ConnectorRepo, ProjectRepo, ScanRepo
from storage.results import (
    FindingResult,
    JobError,
    JobFinished,
    OwnerLeases,
    ResultWriter,
    ScanNotQueued,
)

DENIED = CloudError(
    ErrorCategory.PERMISSION_DENIED,
    "UnauthorizedOperation",
    "Permission denied: the scanner's IAM identity may not call ec2:DescribeRegions.",
    "Grant ec2:DescribeRegions.",
    missing_permissions=("ec2:DescribeRegions",),
)
INTERRUPTED = CloudError(ErrorCategory.TEMPORARY, "Interrupted", "The bot stopped.", "Re-run.")
LEASE = timedelta(seconds=15)


def _queued_scan(db: Database) -> int:
    with db.unit_of_work() as s:
        c = ConnectorRepo(s).add(
            Connector(name="prod", provider="aws", fingerprint="AKIA…ABCD", created_by="t")
        )
        p = ProjectRepo(s).add(Project(name="web", connector_id=c.id, created_by="t"))
        scan = ScanRepo(s).add(
            Scan(project_id=p.id, connector_id=c.id, status="queued", trigger="cli",
                 requested_by="t")
        )  # fmt: skip
        p.last_scan_id = scan.id
        return scan.id


def _owners(db: Database) -> tuple[int, int]:
    leases = OwnerLeases(db)
    return (
        leases.register("host-a", 101, 5000, "boot-a", LEASE),
        leases.register("host-b", 202, 6000, "boot-b", LEASE),
    )


def never(_: object) -> bool:
    return False


def test_a_scan_is_recorded_from_running_to_its_final_status(db: Database) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    planner, runner = _owners(db)
    scan_id = _queued_scan(db)
    plan = writer.begin(scan_id, planner, "host-a:101")
    assert (plan.scan_id, plan.stop_requested) == (scan_id, False)
    try:
        writer.begin(scan_id, runner, "host-b:202")
        raise AssertionError("a running scan was begun twice")
    except ScanNotQueued:
        pass
    ok_job, bad_job = writer.create_jobs(scan_id, ["us-east-1", "eu-west-1"], planner, None) or []
    claim = writer.claim_job(ok_job, runner, never)
    assert (claim.run, claim.unit, claim.attempts) == (True, "us-east-1", 1)
    assert writer.claim_job(bad_job, runner, never).run
    finding = FindingResult("aws.s3.public", "high", "arn:aws:s3:::b", "us-east-1", False)
    first = writer.finish_job(
        JobFinished(ok_job, scan_id, "us-east-1", JobStatus.SUCCEEDED, "1 checked", [finding]),
        runner,
    )
    assert first.written and first.final is None
    with db.read() as s:
        running = ScanRepo(s).get(scan_id)
        assert running is not None and running.status == ScanStatus.RUNNING.value
        assert (running.jobs_done, running.jobs_total, running.jobs_ok) == (1, 2, 1)
        assert running.status_message == "1 of 2 jobs finished"
    last = writer.finish_job(
        JobFinished(
            bad_job, scan_id, "eu-west-1", JobStatus.FAILED, "denied", errors=[JobError(DENIED)]
        ),
        runner,
    )
    assert last.final is ScanStatus.PARTIALLY_COMPLETED  # the last job finalised the scan
    with db.read() as s:
        done = ScanRepo(s).get(scan_id)
        assert done is not None and done.finished_at is not None
        assert (done.jobs_ok, done.jobs_failed, done.jobs_done) == (1, 1, 2)
        (entry,) = ScanRepo(s).error_entries(scan_id)
        assert entry.missing_permissions == ["ec2:DescribeRegions"]
        assert [f.resource for f in ScanRepo(s).findings(scan_id)] == ["arn:aws:s3:::b"]
        project = ProjectRepo(s).get_by_name("web")
        assert project is not None and project.last_status == "partially_completed"


def test_a_redelivered_job_writes_nothing_and_is_counted(db: Database) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    planner, runner = _owners(db)
    scan_id = _queued_scan(db)
    writer.begin(scan_id, planner, "host-a:101")
    (job, other) = writer.create_jobs(scan_id, ["us-east-1", "eu-west-1"], planner, None) or []
    assert writer.claim_job(job, runner, never).run
    running = writer.claim_job(job, runner, never)  # delivered again while it runs there
    assert (running.run, running.reason) == (False, "held")
    result = JobFinished(job, scan_id, "us-east-1", JobStatus.SUCCEEDED, "ok")
    assert writer.finish_job(result, runner).written
    again = writer.claim_job(job, runner, never)  # delivered a second time
    assert (again.run, again.reason, again.attempts) == (False, "final", 3)
    assert not writer.finish_job(result, runner).written  # and a late write is refused
    held = writer.claim_job(other, planner, never)  # another process asks for a held job
    assert held.run  # nobody held it: queued in a durable queue
    assert writer.claim_job(other, runner, never).reason == "held"  # a live holder keeps it
    with db.read() as s:
        scan = ScanRepo(s).get(scan_id)
        assert scan is not None and scan.jobs_done == 1
        assert [j.attempts for j in ScanRepo(s).jobs(scan_id)] == [3, 2]


def test_dead_owners_work_is_interrupted_and_the_scan_gets_its_true_status(
    db: Database,
) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    planner, runner = _owners(db)
    scan_id = _queued_scan(db)
    writer.begin(scan_id, planner, "host-a:101")
    (job,) = writer.create_jobs(scan_id, ["us-east-1"], planner, planner) or []
    work, owners = writer.active_work()
    assert [(w.scan_id, w.owner_id, set(w.job_owner_ids)) for w in work] == [
        (scan_id, planner, {planner})
    ]
    assert set(owners) == {planner}
    assert not writer.interrupt(scan_id, {runner}, INTERRUPTED).written  # not its work
    ended = writer.interrupt(scan_id, {planner}, INTERRUPTED)
    assert ended.final is ScanStatus.FAILED
    with db.read() as s:
        (only,) = ScanRepo(s).jobs(scan_id)
        assert (only.id, only.status) == (job, JobStatus.INTERRUPTED.value)
        assert [e.code for e in ScanRepo(s).error_entries(scan_id)] == ["Interrupted"]
    # the dead owner comes back (it was only slow): nothing it writes lands
    late = JobFinished(job, scan_id, "us-east-1", JobStatus.SUCCEEDED, "ok")
    assert not writer.finish_job(late, planner).written
    assert writer.interrupt(scan_id, {planner}, INTERRUPTED).final is None
    assert writer.active_work() == ([], {})


def test_a_scan_is_finalised_once(db: Database) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    planner, _ = _owners(db)
    scan_id = _queued_scan(db)
    writer.begin(scan_id, planner, "host-a:101")
    assert writer.end_unplanned(scan_id, planner).final is ScanStatus.FAILED
    with db.read() as s:
        first = ScanRepo(s).get(scan_id)
        assert first is not None
        finished_at = first.finished_at
    assert not writer.end_unplanned(scan_id, planner).written
    assert not writer.record_plan_failure(scan_id, planner, DENIED).written
    with db.read() as s:
        again = ScanRepo(s).get(scan_id)
        assert again is not None and again.finished_at == finished_at
        assert ScanRepo(s).jobs(scan_id) == []


def test_a_stop_recorded_elsewhere_is_read_by_the_watcher(db: Database) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    planner, _ = _owners(db)
    scan_id = _queued_scan(db)
    writer.begin(scan_id, planner, "host-a:101")
    leases = OwnerLeases(db)
    assert [(f.scan_id, f.stop_requested) for f in leases.flags([scan_id])] == [(scan_id, False)]
    with db.unit_of_work() as s:
        ScanRepo(s).request_stop(scan_id, "slack:U1", datetime.now(UTC))
    assert [f.stop_requested for f in leases.flags([scan_id])] == [True]
