"""App Service apps redirect HTTP to HTTPS (CIS Azure 9.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, web_apps

PERMISSIONS = ("Microsoft.Web/sites/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.appservice.https_only",
    provider="azure",
    title="App Service apps accept HTTPS only",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("9.2",)},
    remediation="App Service → Configuration → General settings: HTTPS Only = On.",
)


def judge(app: Mapping[str, Any]) -> CheckResult:
    """Pass when httpsOnly is true."""
    ok = prop(app, "httpsOnly") is True
    return result(app, ok, "HTTPS only is " + ("on." if ok else "off: HTTP is served."))


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every app of the subscription `unit`."""
    return [judge(a) for a in web_apps(session, unit)]
