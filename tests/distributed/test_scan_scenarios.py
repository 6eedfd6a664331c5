"""The scan scenarios of `tests.engine.test_scans_aws`, unchanged, on the Celery executor:
the test process starts and stops scans through `ScanService` with the broker's dispatcher,
and a real ``cspm-bot worker --queues scans`` process plans them and runs their jobs
(every status, Stop from another process, one active scan per project, replacement, a
connector gone). Recovery after a worker's death: `test_worker_crashes`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.engine.test_scans_aws import (  # the scenarios themselves
    project,
    test_completed_scan_records_findings,
    test_one_region_throttled_past_the_budget_is_partially_completed,
    test_replace_with_bad_credentials_loses_nothing,
    test_replace_with_good_credentials_repoints_every_project,
    test_revoked_key_fails_every_job_with_invalid_credentials,
    test_scan_queued_before_a_replacement_runs_with_the_new_connector,
    test_scan_whose_connector_is_gone_fails_with_the_replace_step,
    test_second_scan_is_refused_naming_the_running_one,
    test_stop_mid_scan_keeps_results_and_ends_stopped,
)
from tests.support.distributed import Broker, make_broker

__all__ = [
    "project",
    "test_completed_scan_records_findings",
    "test_one_region_throttled_past_the_budget_is_partially_completed",
    "test_replace_with_bad_credentials_loses_nothing",
    "test_replace_with_good_credentials_repoints_every_project",
    "test_revoked_key_fails_every_job_with_invalid_credentials",
    "test_scan_queued_before_a_replacement_runs_with_the_new_connector",
    "test_scan_whose_connector_is_gone_fails_with_the_replace_step",
    "test_second_scan_is_refused_naming_the_running_one",
    "test_stop_mid_scan_keeps_results_and_ends_stopped",
]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite shared by the test and its worker (the PostgreSQL variant runs the crash test)."""
    return f"sqlite:///{tmp_path}/cspm.db"


@pytest.fixture
def rt(
    database_url: str, aws_proxy: Any, runtime_factory: Any, tmp_path: Path, workers: Any
) -> Any:
    """A runtime whose scans go to the broker, with one scan worker taking them."""
    broker: Broker = make_broker(tmp_path)
    settings = make_settings(database_url, aws_endpoint_url=aws_proxy.url, broker_url=broker.url)
    runtime = runtime_factory(settings)
    assert type(runtime.engine.dispatcher).__name__ == "CeleryDispatcher"
    # two threads: the slow regions of the Stop scenario wait for the fast ones
    workers(settings).start("scans", concurrency=2)
    yield runtime
    if broker.server is not None:
        broker.server.stop()
