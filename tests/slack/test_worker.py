"""The serving process acks and relays; the worker process does the rest (`bot.slack.worker`).

Real processes throughout: the front is the production Bolt app behind the production WSGI
app, relaying to a spawned worker process that answers through the Slack stand-in and reads
the same SQLite database.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.domain import JobStatus, ScanStatus
from bot.playground.aws import refused_url
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.serve import create_wsgi_app
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.app import context_of
from bot.slack.client import make_web_client
from bot.slack.work import LAZY_NAME_HEADER, LAZY_ONLY_HEADER, WorkItem
from bot.slack.worker import WorkerError, WorkerProcess
from bot.slackapp import create_app
from tests.conftest import make_settings
from tests.support.processes import thread_priorities
from tests.support.slackbot import (
    ADMIN,
    READER,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)
from tests.support.slackdriver import SIGNING_SECRET, SlackDriver, TrackingExecutor


@dataclass
class Front:
    """The acking side, wired to a worker process."""

    rt: Runtime
    worker: WorkerProcess
    driver: SlackDriver
    background: TrackingExecutor
    wsgi: Callable[..., Any]


def _settings(slack: SlackStandIn, url: str) -> Settings:
    return make_settings(
        url,
        slack_bot_token=slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        operators=[ADMIN],
        admins=[ADMIN],
        aws_endpoint_url=refused_url(),
    )


@pytest.fixture
def make_front(
    slack: SlackStandIn, sqlite_url: str, runtime_factory: Any
) -> Iterator[Callable[..., Front]]:
    """Build a front whose work runs in `worker` (started unless told otherwise)."""
    built: list[tuple[Front, Any]] = []

    def factory(start: bool = True, priority: str | None = None, **worker_options: Any) -> Front:
        settings = _settings(slack, sqlite_url)
        if priority is not None:
            settings = settings.model_copy(update={"worker_priority": priority})
        rt = runtime_factory(settings)  # migrates the database the worker will open
        worker = WorkerProcess(settings, create_app, **worker_options)
        if start:
            worker.start()
        background = TrackingExecutor(name="front")
        app = create_app(rt, make_web_client(settings), background=background, relay=worker)
        wsgi = create_wsgi_app(rt, app, worker)
        front = Front(rt, worker, SlackDriver(wsgi, slack, background=background), background, wsgi)
        built.append((front, app))
        return front

    yield factory
    for front, app in built:
        front.worker.close()
        context_of(app).close()


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_work_item_carries_the_signed_request_and_becomes_lazy_only() -> None:
    item = WorkItem(
        body="command=%2Fcspm&text=help",
        headers={
            "x-slack-signature": ["v0=abc"],
            "content-type": ["application/x-www-form-urlencoded"],
        },
        mode="http",
        function="cspm",
    )
    request = item.to_request()
    assert request.lazy_only and request.lazy_function_name == "cspm"
    assert request.raw_body == item.body and request.body["text"] == "help"
    assert request.headers[LAZY_ONLY_HEADER] == ["1"]
    assert request.headers[LAZY_NAME_HEADER] == ["cspm"]
    assert WorkItem.of(request, "cspm") == item


def test_the_worker_process_answers_what_the_front_acked(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front()
    seed_connector(front.rt)
    seed_project(front.rt, "web")
    seed_scan(front.rt, "web", ScanStatus.COMPLETED, [JobSpec("us-east-1", JobStatus.SUCCEEDED)])
    assert front.worker.pid not in (None, os.getpid())

    result = front.driver.command("projects", READER, settle=False)
    assert result.status == 200 and result.body == b""  # the ack: empty, at once
    reply = slack.wait_for("response_url", timeout=20)[0]
    assert "web" in reply.text() and "Completed" in reply.text()  # read by the worker
    assert front.background.submitted() == 0  # nothing ran in the serving process

    health = front.driver.request("GET", "/healthz").json()
    assert health == {"status": "ok", "database": "ok", "worker": "ok"}


def test_a_click_decoded_by_the_front_is_decoded_again_by_the_worker(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front()
    seed_connector(front.rt)
    seed_project(front.rt, "web")
    front.driver.command("projects", READER, settle=False)
    listing = slack.wait_for("response_url", timeout=20)[0].body

    # The typed value in the front's Bolt context does not cross processes: the worker's app
    # runs the same decoding middleware on the relayed request before the work function.
    result = front.driver.click_in_message(listing, ids.ProjectAction.HISTORY, READER, settle=False)
    assert result.status == 200 and result.body == b""
    history = slack.wait_for("response_url", count=2, timeout=20)[1]
    assert "History · web" in history.text()
    assert front.background.submitted() == 0


def _busy_worker(front: Front, slack: SlackStandIn) -> int:
    """Make the worker start its work threads and a scan's, then return its pid."""
    seed_connector(front.rt)
    seed_project(front.rt, "web")
    front.driver.command("projects", READER, settle=False)
    front.driver.command("scan web", ADMIN, settle=False)  # the engine's threads, too
    slack.wait_for("response_url", count=2, timeout=30)
    pid = front.worker.pid
    assert pid is not None
    return pid


def test_the_worker_runs_at_low_priority_by_default_in_every_thread(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    assert Settings().worker_priority == "low"  # the default: scans are not starved
    front = make_front()
    pid = _busy_worker(front, slack)
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    threads = thread_priorities(pid)
    assert len(threads) > 3  # the work threads and the scan's were started after lowering
    assert set(threads.values()) == {(expected, os.SCHED_OTHER)}, threads
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():  # Linux autogroup scheduling: a session of its own, niced too
        assert os.getsid(pid) != os.getsid(0)
        assert autogroup.read_text().strip().endswith("nice 10")


def test_an_idle_worker_is_sched_idle_in_every_thread(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front(priority="idle")
    pid = _busy_worker(front, slack)
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 19)
    assert set(thread_priorities(pid).values()) == {(expected, os.SCHED_IDLE)}
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():
        assert autogroup.read_text().strip().endswith("nice 19")


def test_a_normal_priority_worker_is_left_alone(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front(priority="normal")
    pid = front.worker.pid
    assert pid is not None
    assert set(thread_priorities(pid).values()) == {
        (os.getpriority(os.PRIO_PROCESS, 0), os.SCHED_OTHER)
    }
    assert os.getsid(pid) == os.getsid(0)


def test_the_priority_setting_is_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPM_WORKER_PRIORITY", "idle")
    assert load_settings().worker_priority == "idle"
    monkeypatch.setenv("CSPM_WORKER_PRIORITY", "lowest")
    with pytest.raises(SettingsError, match="CSPM_WORKER_PRIORITY"):
        load_settings()


def test_a_dead_worker_is_replaced_and_the_bot_answers_again(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front()
    first = front.worker.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _wait(lambda: front.worker.restarts == 1 and front.worker.alive())
    assert front.worker.pid != first

    front.driver.command("help", READER, settle=False)
    reply = slack.wait_for("response_url", timeout=20)[0]
    assert "/cspm projects" in reply.text()


def test_work_in_progress_finishes_when_the_bot_stops(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front()
    for _ in range(5):
        front.driver.command("help", READER, settle=False)
    front.worker.close()  # hands over what is queued, then lets the worker finish
    assert not front.worker.alive()
    assert len(slack.calls_to("response_url")) == 5


def test_a_full_queue_is_told_to_the_user_not_swallowed(
    make_front: Callable[..., Front], slack: SlackStandIn
) -> None:
    front = make_front(start=False, max_pending=1)  # nobody takes work off the queue
    front.driver.command("help", READER, settle=False)  # takes the one place
    result = front.driver.command("projects", ADMIN, settle=False)
    assert result.status == 200
    front.background.drain()
    reply = slack.wait_for("response_url")[0]
    assert "overloaded" in reply.text() and "nothing was done" in reply.text()
    assert front.worker.pending() == 1

    health = front.driver.request("GET", "/healthz")
    assert health.status == 503 and health.json()["worker"] == "down"


def test_a_worker_that_cannot_start_says_why(slack: SlackStandIn, tmp_path: Path) -> None:
    settings = _settings(slack, f"sqlite:///{tmp_path}/missing/dir/cspm.db")
    worker = WorkerProcess(settings, create_app)
    with pytest.raises(WorkerError, match="could not start: OperationalError"):
        worker.start()
    worker.close()
