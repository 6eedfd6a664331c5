"""Azure SQL servers have auditing enabled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks.collect import (
    ArmReader,
    properties,
    resource_label,
    sql_server_auditing,
    sql_servers,
)

PERMISSIONS = ("Microsoft.Sql/servers/read", "Microsoft.Sql/servers/auditingSettings/read")
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.sql.auditing",
    provider="azure",
    title="SQL servers have auditing enabled",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("4.1.1",)},
    remediation="SQL server → Security → Auditing: enable server-level auditing to a "
    "storage account, Log Analytics workspace or Event Hub.",
)


def judge(server: Mapping[str, Any], auditing: Mapping[str, Any]) -> CheckResult:
    """Pass when the server's auditing policy state is Enabled."""
    state = str(properties(auditing).get("state") or "Disabled")
    passed = state.lower() == "enabled"
    return CheckResult(
        resource=resource_label(server),
        passed=passed,
        region=str(server.get("location") or ""),
        detail=f"Server auditing is {state.lower()}.",
    )


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Read each SQL server's auditing policy in the subscription `unit` and judge it."""
    return [
        judge(server, sql_server_auditing(session, str(server["id"])))
        for server in sql_servers(session, unit)
        if server.get("id")
    ]
