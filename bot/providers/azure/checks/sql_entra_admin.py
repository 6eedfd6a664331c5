"""SQL servers have a Microsoft Entra ID administrator (CIS Azure 4.1.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, sql_server_children, sql_servers

PERMISSIONS = ("Microsoft.Sql/servers/read", "Microsoft.Sql/servers/administrators/read")
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.sql.entra_admin",
    provider="azure",
    title="SQL servers have an Entra ID administrator",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("4.1.4",)},
    remediation="SQL server → Microsoft Entra ID → Set admin (a group, not a person).",
)


def judge(server: Mapping[str, Any], admins: Iterable[Mapping[str, Any]]) -> CheckResult:
    """Pass when an ActiveDirectory administrator is set."""
    names = [
        str(prop(a, "login") or a.get("name") or "?")
        for a in admins
        if str(prop(a, "administratorType") or "ActiveDirectory") == "ActiveDirectory"
    ]
    detail = f"Entra ID admin: {', '.join(names)}." if names else "No Entra ID administrator."
    return result(server, bool(names), detail)


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Read each SQL server's administrators in the subscription `unit` and judge them."""
    return [
        judge(s, sql_server_children(session, str(s["id"]), "administrators"))
        for s in sql_servers(session, unit)
        if s.get("id")
    ]
