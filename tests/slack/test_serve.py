"""`cspm-bot serve`: clear messages for missing or rejected tokens (no traceback), and the
real thing: granian serving signed Slack requests and /healthz in a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.playground.aws import refused_url
from bot.playground.slack_emulator import SlackStandIn
from bot.serve import check_config, run_socket_mode, serve
from bot.slack.client import make_web_client
from tests.conftest import make_settings
from tests.support.slackdriver import SIGNING_SECRET, SlackDriver

REPO = Path(__file__).resolve().parents[2]


def _rt(runtime_factory: Any, sqlite_url: str, **overrides: Any) -> Any:
    return runtime_factory(make_settings(sqlite_url, **overrides))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"slack_bot_token": "xoxp-user-token"}, "must be a bot token starting with xoxb-"),
        ({"slack_bot_token": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"slack_bot_token": "xoxb-1", "slack_app_token": "xoxb-2"}, "SLACK_APP_TOKEN must be"),
    ],
)
def test_missing_or_malformed_settings_name_what_to_set(
    runtime_factory: Any,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    overrides: dict[str, str],
    expected: str,
) -> None:
    rt = _rt(runtime_factory, sqlite_url, **overrides)
    assert serve(rt, port=0, host="127.0.0.1") == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert err.count("\n") == 1  # one clear line


def test_modes() -> None:
    base = {"slack_bot_token": "xoxb-1"}
    assert check_config(make_settings("sqlite://", **base, slack_app_token="xapp-1")) == "socket"
    assert check_config(make_settings("sqlite://", **base, slack_signing_secret="s")) == "http"


def test_a_rejected_token_is_explained(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = _rt(
        runtime_factory,
        sqlite_url,
        slack_bot_token="xoxb-revoked",
        slack_signing_secret="s",
        slack_api_url=slack.api_url,
    )
    assert serve(rt, port=0, host="127.0.0.1") == 1
    err = capsys.readouterr().err
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in err
    assert "Bot User OAuth Token" in err and "Traceback" not in err
    assert slack.calls_to("auth.test")


def test_an_unreachable_api_is_explained(
    runtime_factory: Any, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = _rt(
        runtime_factory,
        sqlite_url,
        slack_bot_token="xoxb-1",
        slack_signing_secret="s",
        slack_api_url=refused_url() + "/api/",
    )
    assert serve(rt, port=0, host="127.0.0.1") == 1
    err = capsys.readouterr().err
    assert "Cannot reach the Slack API" in err and "SLACK_API_URL" in err


def test_a_token_of_another_workspace_is_refused(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = _rt(
        runtime_factory,
        sqlite_url,
        slack_bot_token=slack.token,
        slack_signing_secret="s",
        slack_api_url=slack.api_url,
        slack_team_id="T0OTHER00",
    )
    assert serve(rt, port=0, host="127.0.0.1") == 2
    assert "belongs to workspace T0STANDIN" in capsys.readouterr().err


def test_socket_mode_explains_a_rejected_app_token(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = _rt(
        runtime_factory,
        sqlite_url,
        slack_bot_token=slack.token,
        slack_app_token="xapp-" + "1-not-valid",
        slack_api_url=slack.api_url,
    )
    assert serve(rt, port=0, host="127.0.0.1") == 1
    err = capsys.readouterr().err
    assert "Slack rejected SLACK_APP_TOKEN" in err and "connections:write" in err
    assert slack.calls_to("apps.connections.open")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class _HttpApp:
    """A WSGI-shaped adapter so `SlackDriver` can sign and send to a real server."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["Content-Type"] = environ["CONTENT_TYPE"]
        request = urllib.request.Request(
            self.base + environ["PATH_INFO"], data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                start_response(f"{response.status} OK", list(response.headers.items()))
                return [response.read()]
        except urllib.error.HTTPError as exc:
            start_response(f"{exc.code} Error", list(exc.headers.items()))
            return [exc.read()]


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _running(pid: int) -> bool:
    """True if `pid` still runs (an exited process waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_http_mode_serves_signed_requests_and_health(tmp_path: Path, slack: SlackStandIn) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CSPM_", "AWS_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        CSPM_DATABASE_URL=f"sqlite:///{tmp_path}/cspm.db",
        CSPM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CSPM_ADMINS="U0ADMIN01",
        PYTHONPATH=str(REPO),
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    assert child.stdout is not None
    printed: list[str] = []
    try:
        # What a user (or a script) waits for: once this line is printed, the bot answers
        # at once, with no retry (a line printed before granian listens was refused).
        while not any("serving Slack requests" in line for line in printed):
            line = child.stdout.readline().decode()
            assert line, "serve exited before serving:\n" + "".join(printed)
            printed.append(line)
        status, body = _http_get(base + "/healthz")
        assert status == 200, body
        assert b'"database": "ok"' in body and b'"worker": "ok"' in body

        driver = SlackDriver(_HttpApp(base), slack)
        result = driver.command("help", "U0READER1", settle=False)
        assert result.status == 200
        slack.wait_for("response_url", timeout=10)
        tampered = driver.signed_post(b"text=help", "application/x-www-form-urlencoded",
                                      signature="v0=" + "0" * 64)  # fmt: skip
        assert tampered.status == 401
        below = _descendants(child.pid)
        assert len(below) >= 2  # granian's worker (acks) and the bot's worker process
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            output = child.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            child.kill()
            output = child.communicate()[0].decode()
    output = "".join(printed) + output
    assert child.returncode == 0, output
    assert "Traceback" not in output
    assert not {pid for pid in below if _running(pid)}  # nothing left behind


def test_socket_mode_answers_commands_over_the_websocket(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn
) -> None:
    rt = _rt(
        runtime_factory,
        sqlite_url,
        slack_bot_token=slack.token,
        slack_app_token=slack.app_token,
        slack_api_url=slack.api_url,
    )
    client = make_web_client(rt.settings)
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run_socket_mode(rt, client, stop)))
    worker.start()
    try:
        slack.wait_for("apps.connections.open")
        assert slack.socket_mode is not None
        ack = slack.socket_mode.deliver(
            "slash_commands",
            {
                "team_id": slack.team_id,
                "user_id": "U0READER1",
                "channel_id": "C0GENERAL",
                "command": "/cspm",
                "text": "help",
                "response_url": slack.new_response_url(),
                "trigger_id": slack.new_trigger_id(),
            },
        )
        assert not ack.payload  # a plain ack; the answer follows
        reply = slack.wait_for("response_url")[0]
        assert "/cspm projects" in reply.text()
    finally:
        stop.set()
        worker.join(timeout=10)
    assert result == [0]
