"""What a check is, and how a provider's checks are found.

A check is one module in a provider's ``checks/`` package with three names: ``META`` (a
`CheckMeta`: its metadata as data), ``PERMISSIONS`` (the read permissions it calls) and
``run(session, unit)`` (collect, then judge). `discover` imports every such module of a
package, so a new check is a new file: there is no list to keep by hand.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bot.domain import CheckMeta, CheckResult

CheckFn = Callable[[Any, str], Iterable[CheckResult]]
"""run(session, unit) -> results. `unit` is the job's unit: an AWS region or "global", an
Azure subscription id, a GCP project id. Cloud errors propagate as exceptions; the engine
classifies them through the provider's adapter."""


@dataclass(frozen=True)
class Check:
    """A check: its metadata, the permissions it needs and its function."""

    meta: CheckMeta
    run: CheckFn
    permissions: tuple[str, ...] = ()


def is_check_module(module: ModuleType) -> bool:
    """True when `module` defines a check (``META``, ``PERMISSIONS`` and ``run``)."""
    return all(hasattr(module, name) for name in ("META", "PERMISSIONS", "run"))


def discover(package: str) -> list[Check]:
    """Every check module directly inside `package`, sorted by check id.

    Modules whose name starts with ``_`` and helper modules (no ``META``) are skipped, so
    collectors can live beside the checks.
    """
    pkg = importlib.import_module(package)
    checks: list[Check] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        if is_check_module(module):
            checks.append(
                Check(meta=module.META, run=module.run, permissions=tuple(module.PERMISSIONS))
            )
    return sorted(checks, key=lambda c: c.meta.id)


def required_permissions(checks: Iterable[Check], session: Iterable[str] = ()) -> tuple[str, ...]:
    """Every permission a full scan needs: the session's own plus each check's, sorted."""
    return tuple(sorted({*session, *(p for c in checks for p in c.permissions)}))
