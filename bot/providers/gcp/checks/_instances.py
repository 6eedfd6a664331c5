"""Shared body of the Compute instance checks: one result per instance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.domain import CheckResult
from bot.providers.gcp.checks.collect import GcpReader, instances

PERMISSIONS = ("compute.instances.list",)

Judge = Callable[[Mapping[str, Any]], tuple[bool, str]]


def label(instance: Mapping[str, Any]) -> str:
    """projects/P/zones/Z/instances/N, from the instance's selfLink."""
    link = str(instance.get("selfLink") or instance.get("name") or "?")
    return link.split("/compute/v1/", 1)[-1]


def zone(instance: Mapping[str, Any]) -> str:
    """The instance's zone name."""
    return str(instance.get("zone") or "").rsplit("/", 1)[-1]


def gke_node(instance: Mapping[str, Any]) -> bool:
    """GKE nodes are managed by GKE (CIS leaves them out of the instance controls)."""
    return str(instance.get("name") or "").startswith("gke-")


def make_run(judge: Judge, skip_gke: bool = False) -> Callable[[GcpReader, str], list[CheckResult]]:
    """The `run` of one instance check: judge every instance of the project."""

    def run(session: GcpReader, unit: str) -> list[CheckResult]:
        """Judge every Compute instance of the project `unit`."""
        results = []
        for instance in instances(session, unit):
            if skip_gke and gke_node(instance):
                continue
            passed, detail = judge(instance)
            results.append(CheckResult(label(instance), passed, zone(instance), detail))
        return results

    return run
