"""No security group admits 0.0.0.0/0 or ::/0 to RDP, tcp 3389 (CIS AWS 5.2, 5.3)."""

from __future__ import annotations

from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import region_of
from bot.providers.aws.checks._ports import judge_port, security_groups

PORT = 3389

PERMISSIONS = ("ec2:DescribeSecurityGroups",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.sg_rdp_open",
    provider="aws",
    title="Security groups do not open RDP (3389) to the internet",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("5.2", "5.3")},
    remediation=(
        "Remove the inbound rule that admits 0.0.0.0/0 or ::/0 to port 3389; allow known "
        "ranges only, or use Fleet Manager."
    ),
    scope="regional",
    semantics=(
        "Judged for port 3389 alone, IPv4 (0.0.0.0/0, 5.2) and IPv6 (::/0, 5.3) sources both; "
        "a rule for all traffic or a port range that includes 3389 counts."
    ),
)


def run(session: Any, unit: str) -> list[CheckResult]:
    """Judge the region's security groups for port 3389."""
    region = region_of(unit) or session.default_region
    return judge_port(security_groups(session, region), region, PORT, "RDP")
