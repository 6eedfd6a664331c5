"""`cspm-bot playground`: the real bot beside a Slack emulator and sandbox clouds, on loopback.

What starts, all on 127.0.0.1:
- sandbox clouds: AWS (moto in server mode, behind a fault-injecting proxy), a Microsoft
  Entra ID + Azure Resource Manager stand-in (HTTPS, self-signed) and a Google token + API
  stand-in;
- the Slack emulator (`bot.playground.workspace.Workspace`): the Web API the bot calls and the
  page a person uses; it signs what the person does and posts it to the bot;
- the bot itself, in HTTP mode, exactly as `cspm-bot serve` runs it (same app, worker process
  and scheduler), with its own database and key in the playground's data folder.

Demo connectors and projects are seeded by running real scans against the sandbox clouds, so
every scan status and error category can be seen and acted on: a Completed scan, a Partially
Completed one (a throttled region), a Failed one (revoked credentials, fixed by the guided
replacement with the sandbox credentials shown on the page), a Stopped one, a temporary
error and a missing permission.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.database_url import sqlite_url
from bot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
AWS_REGIONS = ["us-east-1", "eu-west-1"]


@dataclass
class Sandbox:
    """The running sandbox clouds and what the page tells the user about them."""

    overrides: dict[str, Any] = field(default_factory=dict)
    notes: list[dict[str, str]] = field(default_factory=list)
    seeders: list[Callable[[Any], None]] = field(default_factory=list)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def data_dir(base: Path | None = None) -> Path:
    """The playground's own folder (never the real database's)."""
    from bot.settings import default_data_dir

    folder = (base or default_data_dir()) / "playground"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start_clouds(stack: ExitStack) -> Sandbox:
    """Start the sandbox clouds; returns their endpoints and the demo's seeding steps."""
    from bot.playground.aws import FaultProxy, MotoStandIn
    from bot.playground.azure import AzureStandIn
    from bot.playground.gcp import GcpStandIn

    sandbox = Sandbox()
    aws = MotoStandIn().start()
    stack.callback(aws.stop)
    proxy = stack.enter_context(FaultProxy(aws.url))
    azure = stack.enter_context(AzureStandIn())
    google = stack.enter_context(GcpStandIn(key_size=1024))
    sandbox.overrides.update(
        aws_endpoint_url=proxy.url,
        azure_authority_host=azure.authority,
        azure_arm_url=azure.arm_url,
        ca_bundle=azure.ca_pem_path,
        gcp_token_uri=google.token_uri,
        gcp_api_base=google.api_base,
        gcp_compute_base=google.compute_base,
        gcp_storage_base=google.storage_base,
    )

    def seed(rt: Any) -> None:
        _seed_aws(rt, aws, proxy, sandbox)
        _seed_azure(rt, azure)
        _seed_gcp(rt, google)

    sandbox.seeders.append(seed)
    return sandbox


def _scan(rt: Any, project: str) -> Any:
    scan = rt.scans.start(project, trigger="manual", actor="playground")
    rt.scans.wait(scan.scan_id, timeout=60)
    return rt.scans.get(scan.scan_id)


def _seed_aws(rt: Any, aws: Any, proxy: Any, sandbox: Sandbox) -> None:
    key_id, secret = aws.create_user("cspm-scanner", admin=True)
    old_id, old_secret = aws.create_user("cspm-legacy", admin=True)
    aws.enable_auth()
    ec2 = aws.client("ec2", "eu-west-1")
    group = ec2.create_security_group(GroupName="ssh-open", Description="SSH from anywhere")
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    good = {"access_key_id": key_id, "secret_access_key": secret}
    rt.connectors.create("aws", "prod-aws", good, actor="playground")
    legacy = {"access_key_id": old_id, "secret_access_key": old_secret}
    rt.connectors.create("aws", "legacy-aws", legacy, actor="playground")

    rt.projects.add("web-prod", "prod-aws", actor="playground", scope=["us-east-1"])
    _scan(rt, "web-prod")  # Completed

    rt.projects.add("payments", "prod-aws", actor="playground", scope=AWS_REGIONS)
    proxy.throttle(region="eu-west-1")
    _scan(rt, "payments")  # Partially Completed: eu-west-1 throttled past the retry budget
    proxy.clear()

    rt.projects.add("billing-legacy", "legacy-aws", actor="playground", scope=["us-east-1"])
    aws.client("iam").delete_access_key(UserName="cspm-legacy", AccessKeyId=old_id)
    _scan(rt, "billing-legacy")  # Failed: the key was revoked (invalid credentials)

    rt.projects.add("data-lake", "prod-aws", actor="playground", scope=["us-west-2", "eu-west-1"])
    proxy.delay(2.0, region="us-west-2")
    proxy.delay(2.0, region="eu-west-1")
    scan = rt.scans.start("data-lake", trigger="manual", actor="playground")
    _wait(lambda: rt.scans.get(scan.scan_id).status.value == "running", 20, "a running scan")
    rt.scans.stop(scan.scan_id, actor="U0OPERATOR", by_scan_id=True)
    rt.scans.wait(scan.scan_id, timeout=60)  # Stopped
    proxy.clear()
    proxy.delay(1.5, region="us-west-2")  # stays slow: a data-lake scan runs long enough to Stop

    new_id, new_secret = aws.create_user("cspm-scanner-2025", admin=True)
    sandbox.notes.append(
        {
            "title": "Sandbox AWS credentials",
            "text": "For Fix credentials on billing-legacy (its key was revoked). Any other key "
            "is refused by the sandbox, as AWS would.",
            "code": f"Access key ID: {new_id}\nSecret access key: {new_secret}",
        }
    )


def _seed_azure(rt: Any, azure: Any) -> None:
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    secret = secrets.token_urlsafe(24)
    subscription = str(uuid.uuid4())
    azure.add_app(tenant, client, secret, subscriptions=[subscription])
    raw = {"tenant_id": tenant, "client_id": client, "client_secret": secret}
    rt.connectors.create("azure", "corp-azure", raw, actor="playground")
    rt.projects.add("corp-subscriptions", "corp-azure", actor="playground")
    azure.fail(503, path_prefix="/subscriptions/")
    _scan(rt, "corp-subscriptions")  # a temporary error (Azure answered 503); Re-run works
    azure.heal()


def _seed_gcp(rt: Any, google: Any) -> None:
    info = google.add_service_account("analytics-prod")
    google.seed("analytics-prod", "networks", [{"name": "default"}])
    raw = {"service_account_json": json.dumps(info)}
    rt.connectors.create("gcp", "analytics-gcp", raw, actor="playground")
    rt.projects.add("analytics", "analytics-gcp", actor="playground")
    google.deny("compute.firewalls.list")
    google.deny("resourcemanager.projects.get")
    _scan(rt, "analytics")  # a permission error: the service account lacks a permission


def playground_settings(
    folder: Path, workspace: Any, sandbox: Sandbox, bot_port: int, base: Settings | None = None
) -> Settings:
    """The bot's settings: the emulator as Slack, the sandbox as clouds, its own database."""
    from bot.playground.workspace import OPERATOR, SUPPORT_CHANNEL_ID

    values: dict[str, Any] = dict(
        database_url=sqlite_url(folder / "cspm.db"),
        encryption_key=Fernet.generate_key().decode(),  # the demo's data is reset every start
        slack_bot_token=workspace.token,
        slack_signing_secret=workspace.signing_secret,
        slack_app_token=None,
        slack_api_url=workspace.api_url,
        slack_team_id=workspace.team_id,
        operators=[OPERATOR.id],
        admins=[OPERATOR.id],
        support_channel=SUPPORT_CHANNEL_ID,
        cloud_timeout_seconds=5.0,
        cloud_max_attempts=2,
        worker_priority="normal",
        log_level=(base.log_level if base else "WARNING"),
    )
    values.update(sandbox.overrides)
    return Settings(**values)


def run_playground(port: int = DEFAULT_PORT, base: Path | None = None, fresh: bool = True) -> int:
    """Start everything and serve until Ctrl-C; returns an exit code."""
    from bot.lifetime import announce_when_listening
    from bot.playground.workspace import Workspace
    from bot.runtime import build_runtime
    from bot.serve import serve

    folder = data_dir(base)
    if fresh:  # the demo starts from its seed every time; the real database is elsewhere
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, mode=0o700)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    with ExitStack() as stack:
        print("cspm-bot playground: starting sandbox clouds…", file=sys.stderr, flush=True)
        sandbox = start_clouds(stack)
        workspace = Workspace(signing_secret=secrets.token_hex(16), notes=sandbox.notes)
        try:
            workspace.start(port)
        except OSError as exc:
            print(
                f"error: port {port} is taken ({exc.strerror}): stop what uses it or pass "
                "--port N.",
                file=sys.stderr,
            )
            return 2
        stack.callback(workspace.close)
        bot_port = free_port()
        workspace.bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
        settings = playground_settings(folder, workspace, sandbox, bot_port)
        print("cspm-bot playground: seeding demo projects…", file=sys.stderr, flush=True)
        rt = build_runtime(settings)
        try:
            for seed in sandbox.seeders:
                seed(rt)
        finally:
            rt.close()
        print("cspm-bot playground: starting the bot…", file=sys.stderr, flush=True)
        announce_when_listening(  # the page is worth opening once the bot behind it answers
            "127.0.0.1",
            bot_port,
            f"\n  Playground ready: open http://127.0.0.1:{workspace.port}/ in a browser\n"
            f"  (data in {folder}; Ctrl-C stops)\n",
        )
        rt = build_runtime(settings, migrate=False)
        return serve(rt, port=bot_port, host="127.0.0.1")
