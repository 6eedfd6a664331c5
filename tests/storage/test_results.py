"""The scan result writer on both engines: a scan's rows from running to its final status."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus
from bot.engine.status import ScanStatusRules
from storage.db import Database
from storage.models import Connector, Project, Scan
from storage.repositories import ConnectorRepo, ProjectRepo, ScanRepo
from storage.results import FindingResult, JobError, JobFinished, JobStarted, ResultWriter

DENIED = CloudError(
    ErrorCategory.PERMISSION_DENIED,
    "UnauthorizedOperation",
    "Permission denied: the scanner's IAM identity may not call ec2:DescribeRegions.",
    "Grant ec2:DescribeRegions.",
    missing_permissions=("ec2:DescribeRegions",),
)


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


def test_a_scan_is_recorded_from_running_to_its_final_status(db: Database) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    scan_id = _queued_scan(db)
    plan = writer.begin(scan_id, "host:1")
    assert (plan.scan_id, plan.stop_requested) == (scan_id, False)
    ok_job, bad_job = writer.create_jobs(scan_id, ["us-east-1", "eu-west-1"])
    finding = FindingResult("aws.s3.public", "high", "arn:aws:s3:::b", "us-east-1", False)
    writer.write(
        [JobStarted(ok_job), JobStarted(bad_job)],
        [
            JobFinished(ok_job, scan_id, "us-east-1", JobStatus.SUCCEEDED, "1 checked", [finding]),
            JobFinished(
                bad_job, scan_id, "eu-west-1", JobStatus.FAILED, "denied", errors=[JobError(DENIED)]
            ),
        ],
    )
    with db.read() as s:
        running = ScanRepo(s).get(scan_id)
        assert running is not None and running.status == ScanStatus.RUNNING.value
        assert (running.jobs_ok, running.jobs_failed) == (1, 1)
        (entry,) = ScanRepo(s).error_entries(scan_id)
        assert entry.missing_permissions == ["ec2:DescribeRegions"]
        assert [f.resource for f in ScanRepo(s).findings(scan_id)] == ["arn:aws:s3:::b"]

    assert writer.heartbeat([scan_id]) == []
    with db.unit_of_work() as s:
        ScanRepo(s).request_stop(scan_id, "slack:U1", datetime.now(UTC))
    assert writer.heartbeat([scan_id]) == [scan_id]  # a Stop made elsewhere is noticed

    assert writer.finalize(scan_id) is ScanStatus.STOPPED
    with db.read() as s:
        done = ScanRepo(s).get(scan_id)
        project = ProjectRepo(s).get_by_name("web")
        assert done is not None and done.finished_at is not None
        assert project is not None and project.last_status == ScanStatus.STOPPED.value


def test_an_orphaned_scan_gets_its_true_status(db: Database) -> None:
    writer = ResultWriter(db, ScanStatusRules())
    scan_id = _queued_scan(db)
    writer.begin(scan_id, "gone-host:1")
    (job,) = writer.create_jobs(scan_id, ["us-east-1"])
    assert [a.scan_id for a in writer.active_scans()] == [scan_id]
    interrupted = CloudError(ErrorCategory.TEMPORARY, "Interrupted", "The bot stopped.", "Re-run.")
    assert writer.mark_interrupted(scan_id, interrupted) is ScanStatus.FAILED
    with db.read() as s:
        (only,) = ScanRepo(s).jobs(scan_id)
        assert (only.id, only.status) == (job, JobStatus.INTERRUPTED.value)
        assert [e.code for e in ScanRepo(s).error_entries(scan_id)] == ["Interrupted"]
    assert writer.active_scans() == []
