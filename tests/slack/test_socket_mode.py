"""Socket Mode as Slack runs it: connections refreshed, dropped and lost while requests keep
arriving. The real bot (`run_socket_mode`) against the Socket Mode stand-in; every ack's
latency is measured at the stand-in, where Slack measures it.

The 1-second bound is a protocol guarantee, not a speed target: acks normally take
milliseconds, Slack gives up after 3 s, and slack_bolt's default Socket Mode handler acks a
request that arrives right after a refresh after about 3.09 s.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.playground.slack_emulator import SlackStandIn
from bot.playground.socket_mode import Ack, SocketModeServer
from bot.serve import run_socket_mode
from bot.slack.client import make_web_client
from tests.conftest import make_settings

ACK_BOUND = 1.0  # seconds; see the module docstring


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait(predicate: Any, timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class SocketBot:
    """The bot serving over Socket Mode, and what a test needs of it."""

    def __init__(self, slack: SlackStandIn, health_port: int) -> None:
        self.slack = slack
        self.health_port = health_port

    @property
    def server(self) -> SocketModeServer:
        assert self.slack.socket_mode is not None
        return self.slack.socket_mode

    def help_command(self) -> dict[str, Any]:
        return {
            "team_id": self.slack.team_id,
            "user_id": "U0READER1",
            "channel_id": "C0GENERAL",
            "command": "/cspm",
            "text": "help",
            "response_url": self.slack.new_response_url(),
            "trigger_id": self.slack.new_trigger_id(),
        }

    def command(self, **send: Any) -> str:
        """Send `/cspm help`; returns the envelope id."""
        return self.server.send("slash_commands", self.help_command(), **send)

    def assert_answered(self, ack: Ack) -> None:
        """The ack is plain and came in time."""
        assert not ack.payload
        assert ack.latency < ACK_BOUND, f"acked after {ack.latency:.3f} s"


@contextmanager
def socket_bot(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn, connections: int = 2
) -> Iterator[SocketBot]:
    rt = runtime_factory(
        make_settings(
            sqlite_url,
            slack_bot_token=slack.token,
            slack_app_token=slack.app_token,
            slack_api_url=slack.api_url,
            socket_connections=connections,
        )
    )
    port = _free_port()
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_socket_mode(rt, make_web_client(rt.settings), stop, port, "127.0.0.1")
        )
    )
    thread.start()
    try:
        slack.wait_for("apps.connections.open", timeout=30)
        bot = SocketBot(slack, port)
        bot.server.wait_connections(connections, timeout=30)
        # warm-up: the first request through a fresh Bolt app pays for lazy imports
        bot.server.wait_ack(bot.command(), timeout=30)
        yield bot
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result == [0]


def test_a_request_right_after_a_refresh_is_acked_at_once(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn
) -> None:
    with socket_bot(runtime_factory, sqlite_url, slack) as bot:
        server = bot.server
        for reason in ("refresh_requested", "warning", "refresh_requested"):
            old = server.open_connections()[-1]
            server.refresh(old, reason)
            # Slack may still deliver on the old connection before it closes it: a burst
            # there is acked there, though its replacement opens meanwhile
            burst = [bot.command(on=old) for _ in range(40)]
            fresh = server.wait_new_connection(after=old)
            for envelope_id in burst:
                on_old = server.wait_ack(envelope_id)
                bot.assert_answered(on_old)
                assert on_old.connection == old.id  # acked where it came in
            ack = server.wait_ack(bot.command(on=fresh))
            bot.assert_answered(ack)
            assert ack.connection == fresh.id
            assert server.wait_closed(old) == "app"  # the app retired it after the refresh
        assert len(server.open_connections()) == 2
        slack.wait_for("response_url", count=94)  # every request was answered, too


def test_a_slow_close_handshake_holds_up_no_ack(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn
) -> None:
    with socket_bot(runtime_factory, sqlite_url, slack) as bot:
        server = bot.server
        server.answer_close = False  # the old connection's close handshake never completes
        old = server.open_connections()[0]
        server.refresh(old)
        fresh = server.wait_new_connection(after=old)
        # the app is closing `old` now, waiting for an answer that does not come
        for connection in server.open_connections():
            if connection.id != old.id:
                bot.assert_answered(server.wait_ack(bot.command(on=connection)))
        assert fresh.open
        assert server.wait_closed(old, timeout=20) == "eof"  # given up on, in the background
        assert len(server.open_connections()) == 2


def test_a_request_during_a_network_drop_and_reconnect_is_acked_at_once(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.socket")
    with socket_bot(runtime_factory, sqlite_url, slack) as bot:
        server = bot.server
        assert _health(bot.health_port)[0] == 200
        # The network goes: every connection is lost and new ones cannot be opened for a while.
        slack.fail(503, path_prefix="/api/apps.connections.open")
        server.refuse_connections(1)
        for lost in server.open_connections():
            server.drop(lost)
        _wait(lambda: _health(bot.health_port)[0] == 503, what="health to say no connection")
        body = _health(bot.health_port)[1]
        assert body["status"] == "error"
        assert body["connections"]["open"] == 0 and body["connections"]["closed"] == 2
        assert body["worker"] == "ok" and body["database"] == "ok"
        _wait(lambda: slack.count("/api/apps.connections.open") >= 6, what="retries")
        slack.heal()  # the network is back
        fresh = server.wait_new_connection(after=server.connections[-1], timeout=60)
        ack = server.wait_ack(bot.command(on=fresh))
        bot.assert_answered(ack)
        server.wait_connections(2, timeout=60)
        _wait(lambda: _health(bot.health_port)[0] == 200, what="health to recover")
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.slack.socket"]
    assert sum("dropped" in m for m in messages) == 2
    assert any("reconnecting took" in m and "failed attempt" in m for m in messages)


def test_a_request_while_the_second_connection_is_lost_is_acked_at_once(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn
) -> None:
    with socket_bot(runtime_factory, sqlite_url, slack) as bot:
        server = bot.server
        first, second = server.open_connections()
        server.drop(second)
        ack = server.wait_ack(bot.command(on=first))
        bot.assert_answered(ack)
        replacement = server.wait_new_connection(after=second)
        bot.assert_answered(server.wait_ack(bot.command(on=replacement)))
        assert {c.id for c in server.wait_connections(2)} == {first.id, replacement.id}
        status, body = _health(bot.health_port)
        assert status == 200
        assert body["connections"]["open"] == 2 and body["connections"]["dropped"] == 1


def test_each_envelope_is_handled_once_whichever_connection_carries_it(
    runtime_factory: Any, sqlite_url: str, slack: SlackStandIn
) -> None:
    with socket_bot(runtime_factory, sqlite_url, slack, connections=3) as bot:
        server = bot.server
        connections = server.wait_connections(3)
        assert len({c.ticket for c in connections}) == 3  # three separate connections
        sent = [bot.command(on=connections[i % 3]) for i in range(12)]
        acks = [server.wait_ack(envelope_id) for envelope_id in sent]
        assert [server.ack_count(e) for e in sent] == [1] * 12
        assert {a.connection for a in acks} == {c.id for c in connections}
        # Slack delivers again an envelope whose ack it missed: a new delivery, handled again
        redelivered = server.wait_ack(bot.command(on=connections[0], retry_attempt=1))
        bot.assert_answered(redelivered)
        slack.wait_for("response_url", count=14)  # 13 + the warm-up
        assert [len(posts) for posts in slack.response_posts.values()] == [1] * 14
        status, body = _health(bot.health_port)
        assert status == 200
        assert body["connections"]["envelopes"] == 14
        assert body["connections"]["redelivered"] == 1
        assert body["connections"]["late_acks"] == 0


def test_socket_connections_must_be_between_one_and_ten(sqlite_url: str) -> None:
    from pydantic import ValidationError

    for wrong in (0, 11):
        with pytest.raises(ValidationError, match=r"socket_connections|CSPM_SOCKET_CONNECTIONS"):
            make_settings(sqlite_url, socket_connections=wrong)
    assert make_settings(sqlite_url).socket_connections == 2
