"""`cspm-bot scan findings`: every finding of a scan (250 failing here, more than any old cap),
as a table, JSON, CSV and OCSF, passing ones with --all, muted ones marked. `bot.cli.main`
runs in this process against SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.logs import RedactingFilter
from bot.ocsf import CLASS_UID, OCSF_VERSION, REQUIRED_FIELDS
from bot.scheduling.mutes import MuteService
from bot.services.findings import FindingsService
from storage.models import Finding
from tests.conftest import make_settings
from tests.support.findings import FAILING, FAILING_TOTAL, PASSING, seed_many_findings

ALL_TOTAL = FAILING_TOTAL + PASSING[2]


@pytest.fixture
def seeded(
    database_url: str, runtime_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A scan with 250 failing findings (one muted) and 30 passing; the CLI pointed at it."""
    rt = runtime_factory(make_settings(database_url))
    scan_id = seed_many_findings(rt)
    with rt.db.read() as s:
        first = s.query(Finding).filter_by(scan_id=scan_id, check_id="aws.iam.root_mfa")
        muted_id = first.order_by(Finding.id).first().id
    MuteService(rt.db, lambda: datetime.now(UTC)).mute(muted_id, "break-glass", 7, "test")
    for name in ("HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("CSPM_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return {"scan_id": scan_id, "rt": rt}


def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [h for h in saved if not any(isinstance(f, RedactingFilter) for f in h.filters)]
    try:
        code = main(list(argv))
    finally:
        root.handlers = saved
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def test_table_lists_every_failing_finding_most_severe_first(
    seeded: dict[str, Any], capsys: Any
) -> None:
    code, out, _ = run(capsys, "scan", "findings", "web")
    assert code == 0
    head, *rest = out.splitlines()
    assert head.startswith(f"Scan #{seeded['scan_id']} of web (Completed): failing critical 9,")
    assert "1 muted" in head and "30 passed (--all lists them)" in head
    rows = [line for line in rest if line.startswith(("critical", "high", "medium", "low"))]
    assert len(rows) == FAILING_TOTAL  # more than 200: nothing is cut
    assert [r.split()[0] for r in rows] == sorted(
        (r.split()[0] for r in rows), key=["critical", "high", "medium", "low"].index
    )
    assert sum("MUTED" in r for r in rows) == 1
    assert "cis-aws-3.0 1.5" in rows[0] and "arn:aws:iam::123456789012:root-" in rows[0]
    assert out.rstrip().endswith(f"({FAILING_TOTAL} findings)")


def test_csv_has_a_header_and_a_row_per_finding(seeded: dict[str, Any], capsys: Any) -> None:
    code, out, _ = run(capsys, "scan", "findings", "web", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == FAILING_TOTAL
    assert {r["status"] for r in rows} == {"FAIL"}
    by_check = Counter(r["check_id"] for r in rows)
    assert by_check == {check: n for check, (_, _, n) in FAILING.items()}
    tls = next(r for r in rows if r["check_id"] == "aws.s3.bucket_tls_only")
    assert tls["controls"] == "cis-aws-3.0 2.1.1" and tls["region"] == "us-east-1"
    assert tls["detail"].endswith('"quoted", with a comma')  # quoting survives the round trip
    assert tls["account_id"] == "123456789012" and tls["provider"] == "aws"
    assert sum(1 for r in rows if r["muted_until"]) == 1

    code, out, _ = run(capsys, "scan", "findings", "web", "--format", "csv", "--all")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == ALL_TOTAL
    assert Counter(r["status"] for r in rows) == {"FAIL": FAILING_TOTAL, "PASS": PASSING[2]}


def test_json_and_its_alias(seeded: dict[str, Any], capsys: Any) -> None:
    code, out, _ = run(capsys, "scan", "findings", "web", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["scan_id"] == seeded["scan_id"] and data["passed"] == PASSING[2]
    assert data["failed_counts"] == {"critical": 9, "high": 60, "medium": 80, "low": 100}
    assert data["muted"] == 1 and len(data["findings"]) == FAILING_TOTAL
    assert data["findings"][0]["control_ids"] == ["cis-aws-3.0 1.5"]
    same = run(capsys, "scan", "findings", str(seeded["scan_id"]), "--format", "json")[1]
    assert json.loads(same) == data
    everything = json.loads(run(capsys, "scan", "findings", "web", "--json", "--all")[1])
    assert len(everything["findings"]) == ALL_TOTAL
    code, _, err = run(capsys, "scan", "findings", "web", "--json", "--format", "csv")
    assert code == 2 and "disagree" in err


def test_ocsf_events_have_the_required_fields(seeded: dict[str, Any], capsys: Any) -> None:
    code, out, _ = run(capsys, "scan", "findings", "web", "--format", "ocsf", "--all")
    assert code == 0
    events = json.loads(out)
    assert isinstance(events, list) and len(events) == ALL_TOTAL
    assert len(out.splitlines()) == ALL_TOTAL + 2  # one event per line inside the array
    for event in events:
        missing = [name for name in REQUIRED_FIELDS if name not in event]
        assert not missing, missing
        assert event["class_uid"] == CLASS_UID and event["type_uid"] == 200301
        assert event["category_uid"] == 2 and event["activity_id"] == 1
        assert event["metadata"]["version"] == OCSF_VERSION
        assert event["metadata"]["product"]["name"] == "cspm-bot"
        assert event["metadata"]["product"]["vendor_name"]
        assert event["finding_info"]["uid"] and event["finding_info"]["title"]
        assert event["resources"][0]["uid"] and event["resources"][0]["type"]
        assert event["status_code"] in ("PASS", "FAIL")
        assert event["severity_id"] in (2, 3, 4, 5) and event["severity"]
        assert event["compliance"]["requirements"] and event["compliance"]["standards"]
        assert event["cloud"] == {"provider": "AWS", "account": {"uid": "123456789012"}}
        assert isinstance(event["time"], int) and event["time"] > 0
    codes = Counter(e["status_code"] for e in events)
    assert codes == {"FAIL": FAILING_TOTAL, "PASS": PASSING[2]}
    assert Counter(e["status"] for e in events) == {"New": ALL_TOTAL - 1, "Suppressed": 1}
    tls = next(e for e in events if e["metadata"]["event_code"] == "aws.s3.bucket_tls_only")
    assert tls["compliance"]["requirements"] == ["cis-aws-3.0 2.1.1"]
    assert tls["resources"][0]["region"] == "us-east-1" and tls["severity"] == "Medium"
    failing_only = json.loads(run(capsys, "scan", "findings", "web", "--format", "ocsf")[1])
    assert len(failing_only) == FAILING_TOTAL


def test_streaming_reads_in_batches(seeded: dict[str, Any]) -> None:
    """The stream pages through the findings by id: with batches of 7 nothing is lost or
    repeated."""
    from storage.repositories.findings import stream_findings

    rt = seeded["rt"]
    rows = list(stream_findings(rt.db, seeded["scan_id"], failed_only=False, batch=7))
    assert len(rows) == ALL_TOTAL and len({r.id for r in rows}) == ALL_TOTAL
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    service = FindingsService(rt.db)
    source = service.source(seeded["scan_id"])
    assert sum(1 for _ in service.stream(source)) == FAILING_TOTAL


def test_a_scan_without_findings(capsys: Any, seeded: dict[str, Any]) -> None:
    from tests.support.slackbot import seed_project, seed_scan

    rt = seeded["rt"]
    seed_project(rt, "empty")
    from bot.domain import ScanStatus

    seed_scan(rt, "empty", ScanStatus.COMPLETED)
    code, out, _ = run(capsys, "scan", "findings", "empty")
    assert code == 0 and "failing none; 0 passed" in out and "SEVERITY" not in out
    assert json.loads(run(capsys, "scan", "findings", "empty", "--format", "ocsf")[1]) == []
    assert run(capsys, "scan", "findings", "empty", "--format", "csv")[1].count("\n") == 1
