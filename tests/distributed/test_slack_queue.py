"""Post-ack Slack work over the broker: a serving replica acks, seals and enqueues; a real
``cspm-bot worker --queues slack`` process answers through the Slack stand-in."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from bot import ids
from bot.distributed.relay import unseal
from bot.domain import JobStatus, ScanStatus
from bot.playground.slack_emulator import SlackStandIn
from tests.distributed.conftest import front_settings
from tests.support.distributed import Broker, wait_until
from tests.support.query import all_text
from tests.support.slackbot import ADMIN, READER, JobSpec, seed_connector, seed_project, seed_scan

ACCESS_KEY_ID = ids.connector_field("access_key_id")
SECRET_ACCESS_KEY = ids.connector_field("secret_access_key")
F = ids.ConnectorInput


def test_a_worker_process_answers_what_a_replica_acked_and_health_sees_it(
    slack: SlackStandIn, broker: Broker, sqlite_url: str, make_front: Any, workers: Any
) -> None:
    settings = front_settings(slack, sqlite_url, broker)
    front = make_front(settings)
    seed_connector(front.rt)
    seed_project(front.rt, "web")
    seed_scan(front.rt, "web", ScanStatus.COMPLETED, [JobSpec("us-east-1", JobStatus.SUCCEEDED)])
    health = front.driver.request("GET", "/healthz")
    assert health.status == 200
    assert health.json() == {
        "status": "ok", "database": "ok", "broker": "ok", "workers": {"seen": 0},
    }  # fmt: skip

    result = front.driver.command("projects", READER, settle=False)
    assert result.status == 200 and result.body == b""  # acked; the work waits in the queue
    workers(settings).start("slack")
    reply = slack.wait_for("response_url", timeout=30)[0]
    assert "web" in reply.text() and "Completed" in reply.text()
    assert front.background.submitted() == 0  # nothing ran in the serving process

    # a ping gets no answer while the machine is too busy: ask again, as a probe would
    health = wait_until(
        lambda: (h := front.driver.request("GET", "/healthz").json())["workers"]["seen"] and h,
        what="the worker in /healthz",
    )
    assert health["broker"] == "ok" and health["workers"] == {"seen": 1, "slack": 1}


def test_credentials_typed_into_a_modal_never_reach_the_broker_in_clear(
    slack: SlackStandIn, broker: Broker, sqlite_url: str, make_front: Any, workers: Any, aws: Any
) -> None:
    settings = front_settings(slack, sqlite_url, broker, aws_endpoint_url=aws.url)
    front = make_front(settings)
    group = workers(settings)
    worker = group.start("slack")
    key_id, secret = aws.create_user("scanner", admin=True)

    front.driver.command("connect", ADMIN, settle=False)
    view_id = wait_until(lambda: slack.calls_to("views.open"), what="the modal")[0].view_id
    front.driver.click_in_view(view_id, F.PROVIDER, ADMIN, option_value="aws", settle=False)
    wait_until(lambda: SECRET_ACCESS_KEY in str(slack.views[view_id]), what="the AWS form")
    worker.stop()  # nobody takes the submission off the queue: look at what the broker holds

    ack = front.driver.submit(
        view_id,
        {F.NAME: "prod-aws", F.PROVIDER: "aws", ACCESS_KEY_ID: key_id, SECRET_ACCESS_KEY: secret},
        ADMIN,
        settle=False,
    ).json()
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Validating…"

    stored = broker.raw_dump()
    assert secret.encode() not in stored and key_id.encode() not in stored
    for fragment in (secret[:12], secret[-12:]):
        assert fragment.encode() not in stored
    # ... and the submission really is in there, sealed with the project's key:
    messages = broker.client().lrange("slack", 0, -1)
    assert len(messages) == 1
    args = json.loads(_decoded_body(messages[0]))[0]  # Celery's [args, kwargs, embed]
    item = unseal(front.rt.box, args[0])
    assert secret in unquote_plus(str(item.body)) and item.function == "create_submitted"

    group.start("slack")
    wait_until(
        lambda: "*prod-aws* works and was saved" in all_text(slack.views[view_id]),
        what="the saved connector",
    )
    assert front.rt.connectors.get("prod-aws").account_id == aws.account_id


def _decoded_body(message: bytes) -> str:
    """A Celery message's body (base64 JSON) as text."""
    import base64

    return base64.b64decode(json.loads(message)["body"]).decode()
