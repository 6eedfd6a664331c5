"""Fixtures of the scheduling tests: the Slack stand-in, a controllable clock, runtimes and
scheduling services driven by hand (no background threads unless a test asks for them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.delivery import Deliverer
from bot.scheduling.service import SchedulingService
from bot.settings import Settings
from tests.conftest import make_settings
from tests.scheduling._support import ScriptedRunner, paced_client


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The Slack Web API stand-in; fails the test if the bot sent an invalid payload."""
    with SlackStandIn() as standin:
        yield standin
        standin.assert_clean()


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at the real now (scans the engine runs carry real times)."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def runner() -> ScriptedRunner:
    """The scripted job runner every runtime of a test shares."""
    return ScriptedRunner()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """One settings object (one encryption key) for every runtime of a test."""
    return make_settings(database_url)


@pytest.fixture
def rt(settings: Settings, runtime_factory: Any, runner: ScriptedRunner) -> Runtime:
    """A runtime on the test database whose scans follow the runner's script."""
    return runtime_factory(settings, runner=runner)  # type: ignore[no-any-return]


@pytest.fixture
def deliverer_for(slack: SlackStandIn, clock: ManualClock) -> Callable[[], Deliverer]:
    """Deliverers that talk to the stand-in and sleep on the manual clock."""

    def make() -> Deliverer:
        client = paced_client(slack, clock)
        return Deliverer(client, now=clock.now, sleep=clock.sleep)

    return make


@pytest.fixture
def service_factory(
    clock: ManualClock, deliverer_for: Callable[[], Deliverer]
) -> Iterator[Callable[..., SchedulingService]]:
    """Build scheduling services (stopped at the end); threads off unless asked."""
    built: list[SchedulingService] = []

    def factory(
        runtime: Runtime,
        *,
        config: SchedulingConfig | None = None,
        holder: str | None = None,
        run_threads: bool = False,
        start: bool = True,
        with_slack: bool = True,
    ) -> SchedulingService:
        service = SchedulingService(
            runtime,
            deliverer_for() if with_slack else None,
            config=config or SchedulingConfig(),
            now=clock.now,
            holder=holder,
            run_threads=run_threads,
        )
        built.append(service)
        return service.start() if start else service

    yield factory
    for service in built:
        service.stop()
