"""AWS Config records every supported resource type in every region (CIS AWS 3.3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import region_of

PERMISSIONS = (
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.config.recorder_enabled",
    provider="aws",
    title="AWS Config is recording in every region",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("3.3",)},
    remediation=(
        "AWS Config → Settings: record all resource types, with a delivery channel, and start "
        "recording (in every region)."
    ),
    scope="regional",
    semantics=(
        "Judged per region: passes when a recorder records all supported resource types, is "
        "recording and its last status is not a failure."
    ),
)


def judge(
    recorders: Iterable[Mapping[str, Any]],
    statuses: Iterable[Mapping[str, Any]],
    account_id: str,
    region: str,
) -> list[CheckResult]:
    """One result per region."""
    by_name = {str(s.get("name")): s for s in statuses}
    problems = []
    ok = False
    recorders = list(recorders)
    for recorder in recorders:
        name = str(recorder.get("name"))
        status = by_name.get(name, {})
        all_types = bool((recorder.get("recordingGroup") or {}).get("allSupported"))
        recording = bool(status.get("recording"))
        failed = str(status.get("lastStatus") or "").upper() == "FAILURE"
        if all_types and recording and not failed:
            ok = True
        else:
            why = [
                w
                for w, bad in (
                    ("not all resource types", not all_types),
                    ("not recording", not recording),
                    ("last delivery failed", failed),
                )
                if bad
            ]
            problems.append(f"{name}: {', '.join(why)}")
    if ok:
        detail = "A recorder records all resource types."
    elif problems:
        detail = "; ".join(problems) + "."
    else:
        detail = "No configuration recorder."
    return [CheckResult(account_id, ok, region, detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's recorders and their status and judge them."""
    region = region_of(unit) or session.default_region
    config = session.client("config", region)
    recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
    statuses = config.describe_configuration_recorder_status().get(
        "ConfigurationRecordersStatus", []
    )
    return judge(recorders, statuses, session.account_id, region)
