"""The Celery app, configured from the project's settings.

Choices, each for a reason:

- **Acks after the work** (``task_acks_late``) and **rejected on a lost worker**
  (``task_reject_on_worker_lost``): a worker killed in the middle of a job leaves its message
  unacknowledged, and the broker hands it to another worker once the visibility timeout
  (`CSPM_BROKER_VISIBILITY_TIMEOUT`) has passed. Work is therefore run *at least once*: a
  scan job writes its result idempotently (a redelivered job whose result is written does
  nothing), and the visibility timeout must exceed the slowest job, or a job still running
  would be handed out a second time.
- **One message at a time per thread** (``worker_prefetch_multiplier=1``): a worker never
  holds jobs it cannot start, so an idle worker elsewhere takes them.
- **Thread pools**: the work is cloud and Slack I/O; one process per queue and a pool of
  threads in each (``cspm-bot worker``).
- **JSON only**: messages carry ids and encrypted tokens, never pickles.
- **Two queues**: ``slack`` (post-ack work of interactions) and ``scans`` (plan and job
  tasks), consumed by separate worker processes, so a backlog of a thousand jobs never delays
  a button's reply.
- No result backend: nobody waits on a task's return value; the database is the record.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from bot.settings import Settings, reveal

SLACK_QUEUE = "slack"
SCANS_QUEUE = "scans"
QUEUES = (SLACK_QUEUE, SCANS_QUEUE)

SLACK_TASK = "cspm.slack_work"
PLAN_TASK = "cspm.plan_scan"
JOB_TASK = "cspm.run_job"

PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0.1, "interval_step": 0.3}
"""Sending a message retries briefly (about 1 s in all): an ack must not wait on a broker
that is down; the caller then says so (the user is told that nothing was done)."""


def transport_options(settings: Settings) -> dict[str, Any]:
    """Redis transport options: the visibility timeout, and how often unacknowledged
    messages older than it are handed out again (at most every 10 s)."""
    timeout = float(settings.broker_visibility_timeout)
    return {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1.0, min(10.0, timeout / 4)),
        "socket_connect_timeout": 2.0,
        "socket_timeout": 10.0,
        "socket_keepalive": True,
        "retry_on_timeout": True,
        "health_check_interval": 10,
    }


def make_celery(settings: Settings, name: str = "cspm-bot") -> Celery:
    """A Celery app for `settings` (`CSPM_BROKER_URL` must be set), tasks not registered."""
    broker = reveal(settings.broker_url)
    if not broker:
        raise ValueError("CSPM_BROKER_URL is not set: there is no broker to connect to")
    app = Celery(name, broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_pool="threads",
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_queues=[Queue(SLACK_QUEUE), Queue(SCANS_QUEUE)],
        task_default_queue=SCANS_QUEUE,
        task_routes={
            SLACK_TASK: {"queue": SLACK_QUEUE},
            PLAN_TASK: {"queue": SCANS_QUEUE},
            JOB_TASK: {"queue": SCANS_QUEUE},
        },
        task_publish_retry=True,
        task_publish_retry_policy=PUBLISH_RETRY,
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for the broker to come back
        broker_heartbeat=0,
        worker_hijack_root_logger=False,  # the bot's redacting handler stays in charge
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_enable_remote_control=True,  # /healthz pings the workers
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_timeout=2.0,
        timezone="UTC",
        enable_utc=True,
    )
    return app
