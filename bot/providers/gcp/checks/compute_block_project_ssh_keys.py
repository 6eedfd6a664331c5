"""Instances block project-wide SSH keys (CIS GCP 4.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run
from bot.providers.gcp.checks.collect import metadata_items

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.block_project_ssh_keys",
    provider="gcp",
    title="Instances block project-wide SSH keys",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.3",)},
    remediation="Set the instance metadata block-project-ssh-keys to TRUE (or use OS Login).",
    semantics="Fails unless the instance metadata block-project-ssh-keys is true.",
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Pass when block-project-ssh-keys is true."""
    value = metadata_items(instance).get("block-project-ssh-keys", "").lower()
    ok = value == "true"
    return ok, "Project-wide SSH keys are " + ("blocked." if ok else "accepted.")


run = make_run(judge)
