"""Running one scan's jobs against a cloud: planning units and running the checks of a unit.

`JobRunner` is the seam between orchestration (bot.engine.engine) and the clouds: the
default `CloudJobRunner` uses the provider adapter and its checks; benchmarks plug in others.
A job opens its own session from ids and values (`ScanTarget`): nothing live is shared
between the planning of a scan and its jobs, which may run in other processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot import providers
from bot.domain import (
    CancelToken,
    CheckResult,
    CloudCallError,
    CloudEndpoints,
    CloudError,
    Credentials,
    ErrorCategory,
    Provider,
    ScanCancelled,
)
from bot.providers import checks_for, checks_for_unit
from bot.providers.checks import Check

_STOPS_THE_UNIT = frozenset({ErrorCategory.INVALID_CREDENTIALS, ErrorCategory.ASSUME_ROLE_FAILED})
"""Errors after which no other check of the unit can work (no usable identity)."""


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


@dataclass(frozen=True)
class ScanTarget:
    """What a runner needs to plan a scan or to run one of its units: ids and values only,
    so a job can be run by any process."""

    scan_id: int
    provider: Provider
    creds: Credentials
    scope: tuple[str, ...] = ()
    check_ids: tuple[str, ...] = ()
    account: Mapping[str, str] | None = None  # the project's target account (discovery)


class UnitSession(Protocol):
    """An open cloud session of one job: runs the checks of a unit."""

    def run_unit(self, unit: str, cancel: CancelToken) -> UnitOutcome:
        """Run every check of a unit. Raises ScanCancelled when stopped."""
        ...

    def close(self) -> None:
        """Release the session's connections."""
        ...


class JobRunner(Protocol):
    """The seam between orchestration and the clouds: plans a scan's units, and opens the
    session a job runs its unit in (each job opens its own)."""

    def plan(self, target: ScanTarget, cancel: CancelToken) -> list[str]:
        """Open a session, plan the units, close it; raises CloudCallError (classified)."""
        ...

    def open(self, target: ScanTarget, cancel: CancelToken) -> UnitSession:
        """Open a session for one job; raises CloudCallError (classified) on failure."""
        ...


class CloudJobRunner:
    """The real runner: provider adapter + its checks."""

    def __init__(self, endpoints: CloudEndpoints) -> None:
        self.endpoints = endpoints

    def plan(self, target: ScanTarget, cancel: CancelToken) -> list[str]:
        """Open a session and plan the units."""
        session = self.open(target, cancel)
        try:
            return session.plan(target.scope)
        finally:
            session.close()

    def open(self, target: ScanTarget, cancel: CancelToken) -> _CloudScan:
        """Open a session (for AWS no network call happens before the first check)."""
        spec = providers.get(target.provider)
        adapter = spec.adapter()
        creds = spec.credentials_for_scan(target.creds, target.scan_id, target.account)
        secrets = creds.secret_values()
        try:
            session = adapter.open_session(creds, self.endpoints, cancel)
        except ScanCancelled:
            raise
        except Exception as exc:  # every cloud failure is classified, none escapes raw
            raise CloudCallError(adapter.classify(exc, secrets)) from None
        return _CloudScan(
            provider=target.provider,
            adapter=adapter,
            session=session,
            checks=checks_for(target.provider, target.check_ids),
            secrets=secrets,
        )


@dataclass
class _CloudScan:
    provider: Provider
    adapter: Any
    session: Any
    checks: list[Check]
    secrets: list[str]

    def plan(self, scope: Sequence[str]) -> list[str]:
        """The scan's units, without those none of the scan's checks runs in (e.g. a
        service none of the project's checks is about), unless that would leave none."""
        try:
            units = list(self.adapter.plan_units(self.session, scope))
        except ScanCancelled:
            raise
        except Exception as exc:
            raise CloudCallError(self.adapter.classify(exc, self.secrets)) from None
        busy = [u for u in units if checks_for_unit(self.checks, self.provider, u)]
        return busy or units

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
                if error.category in _STOPS_THE_UNIT:
                    break  # every other call would fail the same way
        return outcome
