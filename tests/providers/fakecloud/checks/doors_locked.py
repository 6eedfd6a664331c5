"""Every door is locked."""

from __future__ import annotations

from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity

PERMISSIONS = ("fake:ListDoors",)

META = CheckMeta(
    id="fakecloud.doors.locked",
    provider="fakecloud",
    title="Doors are locked",
    severity=Severity.HIGH,
    remediation="Lock the door.",
)


def run(session: Any, unit: str) -> list[CheckResult]:
    """Fail every open door of the building `unit`."""
    session.cancel.checkpoint()
    return [
        CheckResult(resource=f"{unit}/{door}", passed=state == "locked", detail=f"Door {state}.")
        for door, state in sorted(session.doors.items())
    ]
