"""Shared body of the Cloud SQL checks: one result per instance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.domain import CheckResult
from bot.providers.gcp.checks.collect import GcpReader, sql_instances

PERMISSIONS = ("cloudsql.instances.list",)

Judge = Callable[[Mapping[str, Any]], tuple[bool, str]]


def ip_configuration(instance: Mapping[str, Any]) -> Mapping[str, Any]:
    """`settings.ipConfiguration` ({} when missing)."""
    return (instance.get("settings") or {}).get("ipConfiguration") or {}


def make_run(judge: Judge) -> Callable[[GcpReader, str], list[CheckResult]]:
    """The `run` of one Cloud SQL check (read replicas are judged like primaries)."""

    def run(session: GcpReader, unit: str) -> list[CheckResult]:
        """Judge every Cloud SQL instance of the project `unit`."""
        results = []
        for instance in sql_instances(session, unit):
            passed, detail = judge(instance)
            name = f"projects/{unit}/instances/{instance.get('name', '?')}"
            results.append(CheckResult(name, passed, str(instance.get("region") or ""), detail))
        return results

    return run
