"""A log sink exports every log entry of the project (CIS GCP 2.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, sinks

PERMISSIONS = ("logging.sinks.list",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.logging.sink_all_entries",
    provider="gcp",
    title="A sink exports all log entries",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("2.2",)},
    remediation="Logging → Log Router → Create sink with no inclusion filter, to a bucket, "
    "BigQuery dataset or Pub/Sub topic you keep.",
    semantics="One result per project: passes when an enabled sink has an empty filter and "
    "no exclusions (the built-in _Required/_Default sinks do not count).",
)

BUILT_IN = ("_Required", "_Default")


def judge(project: str, project_sinks: Iterable[Mapping[str, Any]]) -> list[CheckResult]:
    """Pass when some user sink exports everything."""
    full = [
        str(s.get("name"))
        for s in project_sinks
        if str(s.get("name")) not in BUILT_IN
        and not str(s.get("filter") or "").strip()
        and not s.get("disabled")
        and not s.get("exclusions")
    ]
    detail = (
        f"Sink {', '.join(full)} exports every entry."
        if full
        else "No sink exports every log entry."
    )
    return [CheckResult(f"projects/{project}", bool(full), "global", detail)]


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge the project's sinks."""
    return judge(unit, sinks(session, unit))
