"""Shared RDS collector: the region's DB instances, described once per scan session."""

from __future__ import annotations

from typing import Any

from bot.providers.aws.checks._common import collected, paginate

PERMISSIONS = ("rds:DescribeDBInstances",)


def db_instances(session: Any, region: str) -> list[dict[str, Any]]:
    """Every DB instance of the region."""

    def collect() -> list[dict[str, Any]]:
        rds = session.client("rds", region)
        return paginate(rds, "describe_db_instances", "DBInstances")

    return list(collected(session, f"rds.db_instances:{region}", collect))
