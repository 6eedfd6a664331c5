"""What a check is: metadata as data plus one function that judges what the session collects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult

CheckFn = Callable[[Any, str], Iterable[CheckResult]]
"""run(session, unit) -> results. `unit` is the job's unit: an AWS region or "global", an
Azure subscription id, a GCP project id. Cloud errors propagate as exceptions; the engine
classifies them through the provider's adapter."""


@dataclass(frozen=True)
class Check:
    """A check: its metadata and its function."""

    meta: CheckMeta
    run: CheckFn
