"""``cspm-bot worker`` and ``serve --no-worker``: what an operator sees when a setting is
missing or wrong (in-process `main`, no broker needed), and the supervisor of both queues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from bot.distributed.celeryapp import make_celery
from bot.domain import JobStatus
from bot.playground.slack_emulator import SlackStandIn
from tests.conftest import make_settings
from tests.support.distributed import Broker, settings_env, wait_until
from tests.support.processes import thread_priorities


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CSPM_DATABASE_URL", f"sqlite:///{tmp_path}/cspm.db")
    monkeypatch.setenv("CSPM_ENCRYPTION_KEY", Fernet.generate_key().decode())


def test_a_worker_needs_a_broker(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "CSPM_BROKER_URL is not set" in err and "redis://" in err
    assert "Traceback" not in err


def test_unknown_queues_and_concurrency_are_named(
    env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSPM_BROKER_URL", "redis://127.0.0.1:1/0")
    assert main(["worker", "--queues", "slack,jobs"]) == 2
    assert "--queues: unknown queue jobs: choose from slack, scans" in capsys.readouterr().err
    assert main(["worker", "--concurrency", "0"]) == 2
    assert "--concurrency must be between 1 and 256" in capsys.readouterr().err


def test_a_slack_worker_needs_the_bot_token(
    env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSPM_BROKER_URL", "redis://127.0.0.1:1/0")
    assert main(["worker", "--queues", "slack"]) == 2
    assert "SLACK_BOT_TOKEN is not set: a worker consuming queue slack" in (capsys.readouterr().err)


def test_serving_without_a_worker_needs_a_broker(
    env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--no-worker"]) == 2
    err = capsys.readouterr().err
    assert "--no-worker needs CSPM_BROKER_URL" in err and "Traceback" not in err


def test_a_bad_visibility_timeout_is_refused_by_name(
    env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSPM_BROKER_VISIBILITY_TIMEOUT", "1")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "CSPM_BROKER_VISIBILITY_TIMEOUT: Input should be greater than or equal to 5" in err


def test_both_queues_run_as_two_supervised_processes(
    broker: Broker, slack: SlackStandIn, tmp_path: Path, runtime_factory: Any
) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path}/cspm.db",
        broker_url=broker.url,
        slack_bot_token=slack.token,
        slack_api_url=slack.api_url,
    )
    runtime_factory(settings)  # the database the workers open
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--concurrency", "2"],
        env=settings_env(settings),
        cwd=tmp_path,
        stdout=(tmp_path / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    app = make_celery(settings)

    def nodes() -> dict[str, str]:
        replies = app.control.ping(timeout=1.0) or []
        return {n.split("-", 1)[0]: n.split("-", 1)[1].split("@")[0] for r in replies for n in r}

    try:
        seen = wait_until(lambda: len(n := nodes()) == 2 and n, timeout=60, what="two workers")
        assert set(seen) == {"slack", "scans"}
        assert os.getpid() != int(seen["scans"]) != proc.pid  # children, not the supervisor
        os.kill(int(seen["scans"]), signal.SIGKILL)
        again = wait_until(
            lambda: (n := nodes()).get("scans") not in (None, seen["scans"]) and n,
            timeout=60,
            what="a new scans worker",
        )
        assert again["slack"] == seen["slack"]  # the other queue's worker was left alone
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        app.close()


def test_a_queue_worker_runs_below_the_serving_processes_in_every_thread(
    broker: Broker,
    tmp_path: Path,
    aws: Any,
    aws_proxy: Any,
    runtime_factory: Any,
    workers: Any,
) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path}/cspm.db", aws_endpoint_url=aws_proxy.url, broker_url=broker.url
    )
    rt = runtime_factory(settings)
    key_id, secret = aws.create_user("scanner", admin=True)
    rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1", "eu-west-1"])
    aws_proxy.delay(0.2)  # jobs last long enough to be seen running
    worker = workers(settings).start("scans", concurrency=3)
    scan_id = rt.scans.start("web", trigger="cli", actor="test").scan_id
    wait_until(
        lambda: any(j.status is JobStatus.RUNNING for j in rt.scans.jobs(scan_id)),
        what="a job running on the worker",
    )
    threads = thread_priorities(worker.pid)  # the pool's threads and the jobs' own
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)  # CSPM_WORKER_PRIORITY=low
    assert len(threads) > 3, threads
    assert set(threads.values()) == {(expected, os.SCHED_OTHER)}, threads
