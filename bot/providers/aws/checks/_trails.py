"""Shared CloudTrail collector: the trails that apply to a region, with their status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.providers.aws.checks._common import collected

PERMISSIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")


@dataclass(frozen=True)
class TrailInfo:
    """A trail as DescribeTrails and GetTrailStatus describe it."""

    name: str
    arn: str
    home_region: str
    multi_region: bool
    logging: bool
    log_validation: bool = False
    kms_key_id: str = ""
    bucket: str = ""
    log_group_arn: str = ""


def _status(session: Any, arn: str, home: str) -> bool:
    def collect() -> bool:
        got = session.client("cloudtrail", home or None).get_trail_status(Name=arn)
        return bool(got.get("IsLogging"))

    return bool(collected(session, f"cloudtrail.status:{arn}", collect))


def region_trails(session: Any, region: str) -> list[TrailInfo]:
    """Every trail that applies to `region`: its own trails and every multi-region trail
    (DescribeTrails with shadow trails, in that region); logging status read in each trail's
    home region. Collected once per region and scan session."""

    def collect() -> list[TrailInfo]:
        listed = session.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
        found: dict[str, TrailInfo] = {}
        for trail in listed.get("trailList", []):
            arn = str(trail.get("TrailARN") or trail["Name"])
            if arn in found:
                continue
            home = str(trail.get("HomeRegion") or region)
            found[arn] = TrailInfo(
                name=str(trail["Name"]),
                arn=arn,
                home_region=home,
                multi_region=bool(trail.get("IsMultiRegionTrail")),
                logging=_status(session, arn, home),
                log_validation=bool(trail.get("LogFileValidationEnabled")),
                kms_key_id=str(trail.get("KmsKeyId") or ""),
                bucket=str(trail.get("S3BucketName") or ""),
                log_group_arn=str(trail.get("CloudWatchLogsLogGroupArn") or ""),
            )
        return list(found.values())

    return list(collected(session, f"cloudtrail.trails:{region}", collect))


def home_trails(session: Any, region: str) -> list[TrailInfo]:
    """The trails whose home region is `region` (each trail is judged once, at home)."""
    return [t for t in region_trails(session, region) if t.home_region == region]
