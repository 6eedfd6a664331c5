"""Scans on Celery workers survive what happens to machines: workers killed with SIGKILL in
the middle of jobs, and Redis restarting during a scan. Real processes throughout: ``cspm-bot
worker --queues scans`` against AWS on loopback (moto behind the fault proxy, slowed down so
that jobs are in progress when the blow falls), one PostgreSQL or SQLite database, Redis."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.domain import JobStatus
from bot.providers.aws.units import global_units
from storage.models import ErrorEntry, Finding, Job, Owner, Scan
from tests.conftest import PG_ENV, _reset_postgres, make_settings
from tests.support.distributed import make_broker, wait_until

REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]
PROJECTS = ["web", "api", "data", "ml"]
KILLS = 10


def _seed(rt: Any, aws: Any, projects: list[str]) -> None:
    key_id, secret = aws.create_user("scanner", admin=True)
    rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    for name in projects:
        rt.projects.add(name, "prod-aws", actor="test", scope=REGIONS)


def _running_job_of(rt: Any, pid: int) -> int | None:
    """A job running right now in the worker process `pid`."""
    with rt.db.read() as s:
        row = s.execute(
            select(Job.id)
            .join(Owner, Owner.id == Job.owner_id)
            .where(Job.status == JobStatus.RUNNING.value, Owner.pid == pid)
            .limit(1)
        ).first()
    return None if row is None else int(row[0])


def _job(rt: Any, job_id: int) -> Job:
    with rt.db.read() as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _assert_written_once(rt: Any, scan_ids: list[int]) -> None:
    with rt.db.read() as s:
        dup_findings = s.execute(
            select(Finding.job_id, Finding.check_id, Finding.resource, Finding.region)
            .where(Finding.scan_id.in_(scan_ids))
            .group_by(Finding.job_id, Finding.check_id, Finding.resource, Finding.region)
            .having(func.count() > 1)
        ).all()
        dup_errors = s.execute(
            select(ErrorEntry.job_id, ErrorEntry.check_id, ErrorEntry.code)
            .where(ErrorEntry.scan_id.in_(scan_ids))
            .group_by(ErrorEntry.job_id, ErrorEntry.check_id, ErrorEntry.code)
            .having(func.count() > 1)
        ).all()
        scans = s.scalars(select(Scan).where(Scan.id.in_(scan_ids))).all()
        for scan in scans:
            assert scan.jobs_done == scan.jobs_total > 0, scan.id
            assert scan.jobs_ok + scan.jobs_failed == scan.jobs_total, scan.id
    assert dup_findings == [] and dup_errors == []


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """PostgreSQL when configured (the deployment's database), else SQLite: one run."""
    url = os.environ.get(PG_ENV)
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path}/cspm.db"


def test_workers_killed_mid_job_ten_times_lose_nothing_and_write_nothing_twice(
    database_url: str,
    tmp_path: Path,
    aws: Any,
    aws_proxy: Any,
    runtime_factory: Any,
    workers: Any,
) -> None:
    broker = make_broker(tmp_path)
    settings = make_settings(
        database_url,
        aws_endpoint_url=aws_proxy.url,
        broker_url=broker.url,
        broker_visibility_timeout=5,  # a dead worker's job is handed out again within ~6 s
    )
    rt = runtime_factory(settings)
    _seed(rt, aws, PROJECTS)
    aws_proxy.delay(0.15)  # every cloud call: jobs last a few seconds
    group = workers(settings)
    alive = [group.start("scans", concurrency=2), group.start("scans", concurrency=2)]
    scans = [rt.scans.start(name, trigger="cli", actor="test").scan_id for name in PROJECTS]
    rng = random.Random(11)
    interrupted: list[int] = []
    kills = 0
    deadline = time.monotonic() + 240
    while kills < KILLS:
        assert time.monotonic() < deadline, f"only {kills} kills in time"
        victim = rng.choice(alive)
        job_id = _running_job_of(rt, victim.pid)
        if job_id is None:
            if all(not rt.scans.get(s).status.is_active for s in scans):
                # every scan ended before the kills were done: start the next round
                scans += [
                    rt.scans.start(name, trigger="cli", actor="test").scan_id for name in PROJECTS
                ]
            time.sleep(0.05)
            continue
        time.sleep(rng.uniform(0, 0.4))  # somewhere in the middle of the job
        victim.kill()
        kills += 1
        if _job(rt, job_id).status == JobStatus.RUNNING.value:
            interrupted.append(job_id)  # it died with its job: the broker must hand it out
        alive.remove(victim)
        alive.append(group.start("scans", concurrency=2, wait=False))

    for scan_id in scans:
        wait_until(
            lambda s=scan_id: not rt.scans.get(s).status.is_active,
            timeout=120,
            what=f"scan {scan_id} to end",
        )
    _assert_written_once(rt, scans)
    assert interrupted, "no kill hit a job in progress"
    for job_id in interrupted:
        job = _job(rt, job_id)
        assert job.attempts >= 2, f"job {job_id} was not delivered again"
        assert job.status != JobStatus.RUNNING.value
    if broker.server is not None:
        broker.server.stop()


def test_a_scan_finishes_once_redis_is_back(
    sqlite_url: str, tmp_path: Path, aws: Any, aws_proxy: Any, runtime_factory: Any, workers: Any
) -> None:
    broker = make_broker(tmp_path, persistent=True)
    if broker.server is None:
        pytest.skip("redis-server is not installed: Redis cannot be restarted here")
    settings = make_settings(
        sqlite_url, aws_endpoint_url=aws_proxy.url, broker_url=broker.url,
        broker_visibility_timeout=10,
    )  # fmt: skip
    rt = runtime_factory(settings)
    _seed(rt, aws, ["web", "api"])
    aws_proxy.delay(0.2)
    workers(settings).start("scans", concurrency=2)
    scans = [rt.scans.start(name, trigger="cli", actor="test").scan_id for name in ("web", "api")]
    # The worker may take either scan first: wait for a first finished job of either.
    wait_until(
        lambda: any(j.status is JobStatus.SUCCEEDED for s in scans for j in rt.scans.jobs(s)),
        timeout=60,
        what="a first job",
    )
    broker.server.stop()  # Redis goes away in the middle of a scan...
    waiting = [
        j for s in scans if rt.scans.get(s).status.is_active for j in rt.scans.jobs(s)
        if j.status is JobStatus.QUEUED
    ]  # fmt: skip
    assert waiting, "no job was left to hand out when Redis stopped: nothing was tested"
    time.sleep(3)
    broker.server.start()  # ...and comes back on the same port with its append-only file
    for scan_id in scans:
        final = wait_until(
            lambda s=scan_id: (row := rt.scans.get(s)) and not row.status.is_active and row,
            timeout=120,
            what=f"scan {scan_id} to end",
        )
        assert (
            final.jobs_ok + final.jobs_failed
            == final.jobs_total
            == len(REGIONS) + len(global_units())
        )
    _assert_written_once(rt, scans)
    broker.server.stop()
