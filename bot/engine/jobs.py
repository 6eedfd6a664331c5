"""Running one scan's jobs against a cloud: planning units and running the checks of a unit.

`JobRunner` is the seam between orchestration (bot.engine.engine) and the clouds: the
default `CloudJobRunner` uses the provider adapter and its checks; benchmarks plug in others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain import (
    CancelToken,
    CheckResult,
    CloudEndpoints,
    CloudError,
    Credentials,
    ErrorCategory,
    Provider,
    ScanCancelled,
)
from bot.providers import checks_for, checks_for_unit, get_adapter
from bot.providers.checks import Check


@dataclass(frozen=True)
class FindingRecord:
    """A check result with the check's identity."""

    check_id: str
    severity: str
    result: CheckResult


@dataclass(frozen=True)
class ErrorRecord:
    """A classified error, with the check that hit it (None for planning/session errors)."""

    error: CloudError
    check_id: str | None = None


@dataclass
class UnitOutcome:
    """Everything one job produced."""

    findings: list[FindingRecord] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A job fails when any of its checks could not run."""
        return bool(self.errors)


class PreparedScan(Protocol):
    """A scan ready to run: its units and how to run one."""

    units: list[str]

    def run_unit(self, unit: str, cancel: CancelToken) -> UnitOutcome:
        """Run every check of a unit. Raises ScanCancelled when stopped."""
        ...


class JobRunner(Protocol):
    """Prepares scans (opens the session and plans units)."""

    def prepare(
        self,
        provider: Provider,
        creds: Credentials,
        scope: Sequence[str],
        check_ids: Sequence[str],
        cancel: CancelToken,
    ) -> PreparedScan:
        """Open a session and plan units; raises CloudCallError (classified) on failure."""
        ...


class CloudJobRunner:
    """The real runner: provider adapter + its checks."""

    def __init__(self, endpoints: CloudEndpoints) -> None:
        self.endpoints = endpoints

    def prepare(
        self,
        provider: Provider,
        creds: Credentials,
        scope: Sequence[str],
        check_ids: Sequence[str],
        cancel: CancelToken,
    ) -> PreparedScan:
        """Open the session and plan the units."""
        adapter = get_adapter(provider)
        secrets = creds.secret_values()
        try:
            session = adapter.open_session(creds, self.endpoints, cancel)
            units = adapter.plan_units(session, scope)
        except ScanCancelled:
            raise
        except Exception as exc:  # every cloud failure is classified, none escapes raw
            from bot.domain import CloudCallError

            raise CloudCallError(adapter.classify(exc, secrets)) from None
        return _CloudScan(
            provider=provider,
            adapter=adapter,
            session=session,
            units=units,
            checks=checks_for(provider, check_ids),
            secrets=secrets,
        )


@dataclass
class _CloudScan:
    provider: Provider
    adapter: Any
    session: Any
    units: list[str]
    checks: list[Check]
    secrets: list[str]

    def close(self) -> None:
        """Release the session's connections."""
        close = getattr(self.session, "close", None)
        if callable(close):
            close()

    def run_unit(self, unit: str, cancel: CancelToken) -> UnitOutcome:
        outcome = UnitOutcome()
        for check in checks_for_unit(self.checks, self.provider, unit):
            cancel.checkpoint()
            try:
                for result in check.run(self.session, unit):
                    outcome.findings.append(
                        FindingRecord(check.meta.id, str(check.meta.severity), result)
                    )
            except ScanCancelled:
                raise
            except Exception as exc:
                error = self.adapter.classify(exc, self.secrets)
                outcome.errors.append(ErrorRecord(error, check.meta.id))
                if error.category is ErrorCategory.INVALID_CREDENTIALS:
                    break  # every other call would fail the same way
        return outcome
