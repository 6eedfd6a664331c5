"""No SQL server firewall rule admits the whole internet (CIS Azure 4.1.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, sql_server_children, sql_servers

PERMISSIONS = ("Microsoft.Sql/servers/read", "Microsoft.Sql/servers/firewallRules/read")
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.sql.firewall_open",
    provider="azure",
    title="SQL server firewalls do not admit 0.0.0.0/0",
    severity=Severity.HIGH,
    frameworks={"cis-azure-2.0": ("4.1.2",)},
    remediation="SQL server → Networking: delete the rule that spans 0.0.0.0–255.255.255.255 "
    "and the 'Allow Azure services' rule (0.0.0.0–0.0.0.0); use private endpoints or "
    "narrow ranges.",
    semantics="Fails a rule from 0.0.0.0 to 255.255.255.255 and the 0.0.0.0–0.0.0.0 rule "
    "that admits every Azure service (of any tenant).",
)


def open_rules(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of the rules that admit any address or all of Azure."""
    found = []
    for rule in rules:
        start = str(prop(rule, "startIpAddress") or "")
        end = str(prop(rule, "endIpAddress") or "")
        if start == "0.0.0.0" and end in ("0.0.0.0", "255.255.255.255"):  # noqa: S104
            found.append(f"{rule.get('name', '?')} ({start}–{end})")
    return found


def judge(server: Mapping[str, Any], rules: Iterable[Mapping[str, Any]]) -> CheckResult:
    """Pass when no rule admits the internet or all of Azure."""
    found = open_rules(rules)
    detail = "Open rules: " + ", ".join(found) + "." if found else "No rule admits 0.0.0.0/0."
    return result(server, not found, detail)


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Read each SQL server's firewall rules in the subscription `unit` and judge them."""
    return [
        judge(s, sql_server_children(session, str(s["id"]), "firewallRules"))
        for s in sql_servers(session, unit)
        if s.get("id")
    ]
