"""Shared body of the S3 object-level logging checks (CIS AWS 3.8 write, 3.9 read): a logging
multi-region trail records S3 data events of that kind for all buckets."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckResult
from bot.providers.aws.checks._common import collected
from bot.providers.aws.checks._trails import PERMISSIONS as _TRAIL_PERMISSIONS
from bot.providers.aws.checks._trails import region_trails

PERMISSIONS = (*_TRAIL_PERMISSIONS, "cloudtrail:GetEventSelectors")

SEMANTICS = (
    "Passes when a logging multi-region trail has an event selector (basic or advanced) that "
    "records S3 object data events for all buckets, of this kind (ReadWriteType All or the "
    "matching one; advanced selectors without a readOnly field count for both)."
)

ALL_BUCKETS = ("arn:aws:s3", "arn:aws:s3:::", "arn:aws-cn:s3", "arn:aws-us-gov:s3")


@dataclass(frozen=True)
class Selectors:
    """A trail's event selectors."""

    trail: str
    basic: tuple[Mapping[str, Any], ...]
    advanced: tuple[Mapping[str, Any], ...]


def trail_selectors(session: Any) -> list[Selectors]:
    """The event selectors of every logging multi-region trail (read once per scan)."""

    def collect() -> list[Selectors]:
        found = []
        for trail in region_trails(session, session.default_region):
            if not (trail.multi_region and trail.logging):
                continue
            client = session.client("cloudtrail", trail.home_region)
            got = client.get_event_selectors(TrailName=trail.arn)
            found.append(
                Selectors(
                    trail.name,
                    tuple(got.get("EventSelectors") or ()),
                    tuple(got.get("AdvancedEventSelectors") or ()),
                )
            )
        return found

    return list(collected(session, "cloudtrail.event_selectors", collect))


def _basic_records(selector: Mapping[str, Any], kind: str) -> bool:
    if str(selector.get("ReadWriteType", "All")) not in ("All", kind):
        return False
    for resource in selector.get("DataResources") or []:
        if resource.get("Type") != "AWS::S3::Object":
            continue
        if any(str(v).rstrip("/") in ALL_BUCKETS for v in resource.get("Values") or []):
            return True
    return False


def _advanced_records(selector: Mapping[str, Any], kind: str) -> bool:
    fields = {str(f.get("Field")): f for f in selector.get("FieldSelectors") or []}
    category = fields.get("eventCategory", {}).get("Equals") or []
    resource = fields.get("resources.type", {}).get("Equals") or []
    if "Data" not in category or "AWS::S3::Object" not in resource:
        return False
    if "resources.ARN" in fields:  # limited to some buckets
        return False
    read_only = fields.get("readOnly", {}).get("Equals")
    if not read_only:
        return True
    wanted = "true" if kind == "ReadOnly" else "false"
    return wanted in [str(v).lower() for v in read_only]


def judge(selectors: Iterable[Selectors], kind: str, account_id: str) -> list[CheckResult]:
    """One account result: `kind` is "WriteOnly" or "ReadOnly"."""
    good = [
        s.trail
        for s in selectors
        if any(_basic_records(b, kind) for b in s.basic)
        or any(_advanced_records(a, kind) for a in s.advanced)
    ]
    what = "write" if kind == "WriteOnly" else "read"
    detail = (
        f"Trail {', '.join(sorted(good))} records S3 object-level {what} events."
        if good
        else f"No logging multi-region trail records S3 object-level {what} events."
    )
    return [CheckResult(account_id, bool(good), "global", detail)]


def make_run(kind: str) -> Callable[[Any, str], list[CheckResult]]:
    """The `run` of one control."""

    def run(session: Any, unit: str) -> list[CheckResult]:
        """Read the trails' event selectors and judge them."""
        return judge(trail_selectors(session), kind, session.account_id)

    return run
