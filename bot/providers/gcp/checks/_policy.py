"""Shared reading of a project's IAM policy (bindings by member and role)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def bindings(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(role, member) for every unconditional binding of the policy."""
    pairs = []
    for binding in policy.get("bindings") or []:
        if binding.get("condition"):
            continue  # a conditional grant is narrower than the project; not judged
        for member in binding.get("members") or []:
            pairs.append((str(binding.get("role") or ""), str(member)))
    return pairs


def members_with(policy: Mapping[str, Any], roles: Iterable[str]) -> dict[str, list[str]]:
    """member → the listed roles it holds on the project."""
    wanted = set(roles)
    found: dict[str, list[str]] = {}
    for role, member in bindings(policy):
        if role in wanted:
            found.setdefault(member, []).append(role)
    return found
