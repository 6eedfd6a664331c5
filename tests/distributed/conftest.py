"""Fixtures of the Celery tests: a broker of the test's own and real worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.distributed.serving import QueueFront, start_front
from bot.playground.aws import refused_url
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.serve import create_wsgi_app
from bot.settings import Settings
from bot.slack.app import context_of
from bot.slack.client import make_web_client
from bot.slackapp import create_app
from tests.conftest import make_settings
from tests.support.distributed import Broker, Workers, make_broker
from tests.support.slackbot import *  # noqa: F403  (the Slack stand-in fixture)
from tests.support.slackbot import ADMIN, GROUP, OPERATOR, SUPPORT_CHANNEL
from tests.support.slackdriver import SIGNING_SECRET, SlackDriver, TrackingExecutor


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A Redis of the test's own (skipped when CSPM_TEST_REDIS_URL is unset)."""
    found = make_broker(tmp_path)
    yield found
    if found.server is not None:
        found.server.stop()


@dataclass
class Front:
    """A serving replica with a broker: acks, seals and enqueues."""

    rt: Runtime
    queue: QueueFront
    driver: SlackDriver
    background: TrackingExecutor
    wsgi: Callable[..., Any]
    app: Any


def front_settings(slack: SlackStandIn, database_url: str, broker: Broker, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": slack.token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "operators": [OPERATOR, GROUP],
        "admins": [ADMIN],
        "support_channel": SUPPORT_CHANNEL,
        "aws_endpoint_url": refused_url(),
        "broker_url": broker.url,
        "broker_visibility_timeout": 30,
    }
    values.update(kw)
    return make_settings(database_url, **values)


@pytest.fixture
def make_front(slack: SlackStandIn, runtime_factory: Any) -> Iterator[Callable[..., Front]]:
    """Build serving replicas wired to the broker (no scheduler unless asked)."""
    built: list[Front] = []

    def factory(settings: Settings, scheduling: bool = False) -> Front:
        rt = runtime_factory(settings)
        client = make_web_client(settings)
        queue = start_front(rt, client, scheduling=scheduling)
        queue.health.cache_seconds = 0.0  # the tests look at the broker as it is now
        background = TrackingExecutor(name="front")
        app = create_app(rt, client, background=background, relay=queue.relay)
        wsgi = create_wsgi_app(rt, app, broker=queue.report)
        driver = SlackDriver(wsgi, slack, background=background)
        front = Front(rt, queue, driver, background, wsgi, app)
        built.append(front)
        return front

    yield factory
    for front in built:
        front.queue.close()
        context_of(front.app).close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[Settings], Workers]]:
    """Start real ``cspm-bot worker`` processes; all are stopped at the end of the test."""
    made: list[Workers] = []

    def factory(settings: Settings) -> Workers:
        group = Workers(settings, tmp_path)
        made.append(group)
        return group

    yield factory
    for group in made:
        group.close()
