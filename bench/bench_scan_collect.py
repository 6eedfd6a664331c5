"""Scan phase benchmark: a whole AWS scan (every check) of an account with 300 buckets and
1,000 security groups, at CSPM_SCAN_CONCURRENCY 1 and 8, in the same run.

The account is moto in server mode behind the tests' fault proxy, which holds every request
for a fixed latency (20 ms by default) before moto answers it: on loopback a call costs
microseconds, so without it no parallelism could show. Both run in a process of their own
(the stand-in), so moto's work does not hold the scanner's GIL. Each scan runs in a fresh
child process through the real engine (ScanEngine, its embedded dispatcher, a SQLite
database, one job per unit, every check), which gives a clean peak RSS per scan.

Prints the resources, the calls the scan made (counted at the proxy), the scan phase
(planning to final status) at concurrency 1 and 8 and the speed-up (goal >= 4x), then the
child's peak RSS at 50 and at 1,300 resources (goal: within 10%).

    .venv/bin/python -m bench.bench_scan_collect [--quick] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCOPE = ["us-east-1", "eu-west-1"]
FULL = (300, 1000)  # buckets, security groups
SMALL = (20, 30)  # 50 resources
QUICK = (60, 200)


# --------------------------------------------------------------------------------------------
# The stand-in process: moto + a latency proxy, seeded on request
# --------------------------------------------------------------------------------------------


def _seed(aws: Any, buckets: int, groups: int) -> dict[str, str]:
    """Wipe the account, then seed buckets (some encrypted, some versioned) and groups (some
    open to the world); returns a fresh admin key for the scanner."""
    aws.reset()
    s3 = aws.client("s3")
    for i in range(buckets):
        name = f"bench-{i:04d}"
        s3.create_bucket(Bucket=name)
        if i % 2 == 0:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
        if i % 3 == 0:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    ec2 = aws.client("ec2", SCOPE[0])
    for i in range(groups):
        group = ec2.create_security_group(GroupName=f"bench-{i:04d}", Description="bench")
        if i % 10 == 0:
            ec2.authorize_security_group_ingress(
                GroupId=group["GroupId"],
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 22,
                        "ToPort": 22,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    }
                ],
            )
    key_id, secret = aws.create_user("bench-scanner", admin=True)
    return {"key_id": key_id, "secret": secret}


def serve(latency: float) -> None:
    """Run the stand-in; commands on stdin (`seed B G`, `calls`), one JSON answer per line."""
    from bot.playground.aws import FaultProxy, MotoStandIn

    aws = MotoStandIn().start()
    proxy = FaultProxy(aws.url).start()
    proxy.delay(latency)  # every request, forever
    print(json.dumps({"url": proxy.url}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "seed":
            answer: dict[str, Any] = _seed(aws, int(words[1]), int(words[2]))
        elif words[0] == "calls":
            answer = {"calls": proxy.count()}
        else:
            break
        print(json.dumps(answer), flush=True)
    proxy.stop()
    aws.stop()


class StandIn:
    """The stand-in process, driven from the benchmark."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bench_scan_collect",
                "--serve",
                "--latency",
                str(latency),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = str(self._read()["url"])

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the stand-in process ended")
        return dict(json.loads(line))

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------
# One scan, in a child process
# --------------------------------------------------------------------------------------------


def scan_child(url: str, key_id: str, secret: str, concurrency: int) -> None:
    """Run one scan through the real engine; print its figures as JSON."""
    from sqlalchemy import func, select

    from bot import providers
    from bot.engine.engine import ScanEngine
    from bot.engine.jobs import CloudJobRunner
    from bot.providers.aws.credentials import AwsCredentials
    from bot.services.scans import ScanService
    from storage.db import Database
    from storage.models import Connector, Finding, Job, Project, Scan

    for name in list(os.environ):  # the connector's key only, never the host's
        if name.startswith("AWS_"):
            del os.environ[name]
    tmp = tempfile.mkdtemp(prefix="cspm-bench-scan-")
    db = Database(f"sqlite:///{tmp}/bench.db")
    db.upgrade()
    with db.unit_of_work() as s:
        c = Connector(name="bench", provider="aws", fingerprint="-", created_by="bench")
        s.add(c)
        s.flush()
        p = Project(name="bench", connector_id=c.id, created_by="bench", scope=SCOPE)
        s.add(p)
        s.flush()
        scan = Scan(
            project_id=p.id, connector_id=c.id, status="queued", trigger="cli", requested_by="bench"
        )
        s.add(scan)
        s.flush()
        scan_id = scan.id
    endpoints = providers.endpoints(
        {"aws_endpoint_url": url, "aws_default_region": SCOPE[0]},
        timeout_seconds=60.0,
        max_attempts=3,
        concurrency=concurrency,
    )
    creds = AwsCredentials(key_id, secret)
    engine = ScanEngine(
        db,
        CloudJobRunner(endpoints),
        lambda _: ("aws", creds),
        concurrency=concurrency,
        heartbeat_seconds=1.0,
    )
    start = time.perf_counter()
    engine.dispatcher.dispatch_plan(scan_id)
    status = ScanService(db, engine).wait(scan_id)
    elapsed = time.perf_counter() - start
    assert status is not None
    with db.read() as s:
        jobs = s.scalar(select(func.count()).select_from(Job)) or 0
        findings = s.scalar(select(func.count()).select_from(Finding)) or 0
    engine.shutdown()
    db.dispose()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "status": status.label,
                "jobs": jobs,
                "findings": findings,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        ),
        flush=True,
    )


def run_scan(standin: StandIn, keys: dict[str, str], concurrency: int) -> dict[str, Any]:
    """One scan in a fresh child process; its figures plus the calls it made."""
    before = int(standin.ask("calls")["calls"])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_scan_collect",
            "--child",
            "--url",
            standin.url,
            "--concurrency",
            str(concurrency),
        ],
        cwd=ROOT,
        input=json.dumps(keys),
        capture_output=True,
        text=True,
        check=True,
    )
    figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    figures["calls"] = int(standin.ask("calls")["calls"]) - before
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 buckets / 200 groups")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per call")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        serve(args.latency)
        return
    if args.child:
        keys = json.loads(sys.stdin.read())
        scan_child(args.url, keys["key_id"], keys["secret"], args.concurrency)
        return

    buckets, groups = QUICK if args.quick else FULL
    standin = StandIn(args.latency)
    try:
        keys = standin.ask(f"seed {buckets} {groups}")
        serial = run_scan(standin, keys, 1)
        parallel = run_scan(standin, keys, args.concurrency)
        small_keys = standin.ask(f"seed {SMALL[0]} {SMALL[1]}")
        small = run_scan(standin, small_keys, args.concurrency)
    finally:
        standin.close()

    large_n, small_n = buckets + groups, sum(SMALL)
    speedup = serial["seconds"] / parallel["seconds"]
    rss_small, rss_large = small["maxrss_kib"] / 1024, parallel["maxrss_kib"] / 1024
    growth = (rss_large - rss_small) / rss_small * 100
    print(
        f"scan phase: every AWS check, scope {', '.join(SCOPE)}; moto behind a proxy that holds "
        f"every call {args.latency * 1000:.0f} ms (fixed latency added by the benchmark)"
    )
    print(f"  resources             {large_n} ({buckets} buckets, {groups} security groups)")
    for label, got in (("concurrency 1", serial), (f"concurrency {args.concurrency}", parallel)):
        print(
            f"  {label:<20}  {got['seconds']:7.2f} s   {got['calls']} calls, "
            f"{got['jobs']} jobs, {got['findings']} findings, {got['status']}"
        )
    print(f"  speed-up              {speedup:.2f}x  (goal >= 4x)")
    print(
        f"  peak RSS              {rss_small:.1f} MiB at {small_n} resources, {rss_large:.1f} MiB"
        f" at {large_n} ({growth:+.1f}%; goal within 10%)"
    )


if __name__ == "__main__":
    main()
