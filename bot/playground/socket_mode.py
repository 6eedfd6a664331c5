"""A loopback stand-in of Slack's Socket Mode WebSocket service, for tests and benchmarks.

It speaks the protocol an app sees from Slack: every ``apps.connections.open`` hands out a
fresh ``ws://127.0.0.1:<port>/link/?ticket=…`` URL (`new_url`); a connection opened with it is
greeted with ``hello``; envelopes carry an ``envelope_id`` and the app acks each one on the
connection it came in on. The test drives the life of the connections the way Slack and the
network do:

    server = SocketModeServer()
    first = server.wait_connections(1)[0]
    ack = server.deliver("slash_commands", payload)          # on any open connection
    server.refresh(first)                                    # ``disconnect``, refresh_requested
    fresh = server.wait_new_connection(after=first)          # the app opened a replacement
    ack = server.deliver("slash_commands", payload, on=fresh)
    ack.latency                                              # seconds, measured here
    server.drop(fresh)                                       # the network loses it (no close)

Latency is measured where Slack measures it: from the envelope handed to the socket to its
ack received on this side of it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + payload


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@dataclass
class Ack:
    """An app's ack of one envelope, as the stand-in received it."""

    envelope_id: str
    body: dict[str, Any]
    latency: float  # seconds from the envelope handed to the socket to this ack received
    connection: int  # the id of the connection it came back on

    @property
    def payload(self) -> dict[str, Any]:
        """The response payload the app put in the ack ({} for a plain ack)."""
        return dict(self.body.get("payload") or {})


@dataclass
class Connection:
    """One WebSocket connection the app opened."""

    id: int
    ticket: str
    sock: socket.socket
    opened_at: float = field(default_factory=time.monotonic)
    hello_at: float = 0.0
    closed_at: float = 0.0
    closed_by: str = ""  # "app" (close frame), "server" (close frame), "drop", "eof"
    disconnects_sent: list[str] = field(default_factory=list)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> bool:
        """True while the connection is up (hello sent, not closed)."""
        return self.hello_at > 0 and not self.closed_at

    def send(self, opcode: int, payload: bytes) -> None:
        """Send one frame (raises OSError once the connection is gone)."""
        with self.send_lock:
            self.sock.sendall(_ws_frame(opcode, payload))


class SocketModeServer:
    """Slack's Socket Mode WebSocket on 127.0.0.1 (RFC 6455, unmasked server frames)."""

    def __init__(self, app_id: str = "A0STANDIN") -> None:
        self.app_id = app_id
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.connections: list[Connection] = []
        self.acks: dict[str, Ack] = {}
        self.sent_at: dict[str, float] = {}
        self.unknown_tickets = 0
        self._ack_counts: dict[str, int] = {}
        self._tickets: set[str] = set()
        self._seq = itertools.count(1)
        self._cond = threading.Condition()
        self._closed = False
        self._refuse = 0  # handshakes to refuse (a network that is down)
        self.answer_close = True  # False: ignore the app's close frames (a slow close handshake)
        self.check_tickets = True  # False: accept URLs handed out elsewhere (the benchmark)
        threading.Thread(target=self._accept, daemon=True, name="socket-standin").start()

    # -- what apps.connections.open hands out ------------------------------------------------

    @property
    def url(self) -> str:
        """A fresh connection URL (like each apps.connections.open answer)."""
        return self.new_url()

    def new_url(self) -> str:
        """A fresh, single-use connection URL."""
        ticket = f"standin-{next(self._seq)}-{time.monotonic_ns()}"
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}"

    # -- knobs -------------------------------------------------------------------------------

    def refuse_connections(self, times: int) -> None:
        """Close the next `times` connection attempts before the handshake (network down)."""
        with self._cond:
            self._refuse = times

    def refresh(self, connection: Connection, reason: str = "refresh_requested") -> None:
        """Send ``disconnect`` with `reason` (Slack asks the app to open a new connection and
        closes this one later; `close` does that)."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "standin"},
        }
        connection.disconnects_sent.append(reason)
        with contextlib.suppress(OSError):
            connection.send(OP_TEXT, json.dumps(message).encode())

    def close(self, connection: Connection | None = None) -> None:
        """Close one connection with a close frame, or stop the whole server (no argument)."""
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.send(OP_CLOSE, (1000).to_bytes(2, "big"))
            self._mark_closed(connection, "server")
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
            return
        self._closed = True
        self._listener.close()
        for conn in list(self.connections):
            self.drop(conn)

    def drop(self, connection: Connection) -> None:
        """Lose the connection the way a network does: no close frame, the socket just goes."""
        self._mark_closed(connection, "drop")
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            connection.sock.close()

    # -- waiting -----------------------------------------------------------------------------

    def open_connections(self) -> list[Connection]:
        """The connections that are up now, oldest first."""
        with self._cond:
            return [c for c in self.connections if c.open]

    def wait_connections(self, count: int = 1, timeout: float = 10) -> list[Connection]:
        """Wait until at least `count` connections are up; returns them, oldest first."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(1 for c in self.connections if c.open) >= count, timeout
            )
            up = [c for c in self.connections if c.open]
        if not ok:
            raise AssertionError(f"expected {count} open Socket Mode connection(s), got {len(up)}")
        return up

    def wait_connected(self, timeout: float = 10) -> None:
        """Wait until the app has a connection up."""
        self.wait_connections(1, timeout)

    def wait_new_connection(self, after: Connection, timeout: float = 10) -> Connection:
        """Wait for a connection opened after `after` to be up; returns the first such."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(c.open and c.id > after.id for c in self.connections), timeout
            )
            found = next((c for c in self.connections if c.open and c.id > after.id), None)
        if not ok or found is None:
            raise AssertionError(f"no new Socket Mode connection after #{after.id}")
        return found

    def wait_closed(self, connection: Connection, timeout: float = 10) -> str:
        """Wait until `connection` is closed; returns who closed it."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(connection.closed_at), timeout):
                raise AssertionError(f"connection #{connection.id} is still open")
        return connection.closed_by

    # -- envelopes ---------------------------------------------------------------------------

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        on: Connection | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Send one envelope (``slash_commands``, ``interactive``, ``events_api``) on `on`
        (default: the newest open connection); returns its envelope id without waiting."""
        connection = on or self.wait_connections(1)[-1]
        envelope_id = f"env-{next(self._seq)}-{time.monotonic_ns()}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        data = json.dumps(envelope).encode()
        with self._cond:
            self.sent_at[envelope_id] = time.perf_counter()
        connection.send(OP_TEXT, data)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> Ack:
        """The app's ack of `envelope_id` (AssertionError if none within `timeout`)."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no ack for {envelope_id} within {timeout} s")
            return self.acks[envelope_id]

    def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        timeout: float = 10,
        on: Connection | None = None,
    ) -> Ack:
        """Send one envelope and return the app's ack."""
        return self.wait_ack(self.send(kind, payload, on=on), timeout)

    def ack_count(self, envelope_id: str) -> int:
        """How many acks arrived for `envelope_id` (1 when it was handled once)."""
        with self._cond:
            return self._ack_counts.get(envelope_id, 0)

    # -- serving -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _mark_closed(self, connection: Connection, by: str) -> None:
        with self._cond:
            if not connection.closed_at:
                connection.closed_at = time.monotonic()
                connection.closed_by = by
            self._cond.notify_all()

    def _handshake(self, conn: socket.socket) -> str | None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            request += chunk
        lines = request.decode().split("\r\n")
        target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else ""
        ticket = target.partition("ticket=")[2]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        with self._cond:
            refuse = self._refuse > 0
            if refuse:
                self._refuse -= 1
            known = ticket in self._tickets or not self.check_tickets
            self._tickets.discard(ticket)  # single use, like Slack's
            if not known:
                self.unknown_tickets += 1
        if refuse:
            return None
        if not known:
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            return None
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + _WS_GUID).encode()).digest()  # noqa: S324 - the WebSocket handshake (RFC 6455) is SHA-1
        ).decode()
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return ticket

    def _serve(self, conn: socket.socket) -> None:
        try:
            ticket = self._handshake(conn)
        except (OSError, ValueError, KeyError, IndexError):
            ticket = None
        if ticket is None:
            with contextlib.suppress(OSError):
                conn.close()
            return
        with self._cond:
            connection = Connection(next(self._seq), ticket, conn)
            self.connections.append(connection)
            count = sum(1 for c in self.connections if not c.closed_at)
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "standin", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            connection.send(OP_TEXT, json.dumps(hello).encode())
            with self._cond:
                connection.hello_at = time.monotonic()
                self._cond.notify_all()
            self._read(connection)
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            self._mark_closed(connection, "eof")
            with contextlib.suppress(OSError):
                conn.close()

    def _read(self, connection: Connection) -> None:
        conn = connection.sock
        while True:
            first, second = _read_exact(conn, 2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = int.from_bytes(_read_exact(conn, 2), "big")
            elif length == 127:
                length = int.from_bytes(_read_exact(conn, 8), "big")
            mask = _read_exact(conn, 4) if second & 0x80 else b"\0\0\0\0"
            raw = _read_exact(conn, length)
            received = time.perf_counter()
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(raw))
            if opcode == OP_PING:
                connection.send(OP_PONG, data)
            elif opcode == OP_CLOSE:
                if not self.answer_close:
                    continue
                self._mark_closed(connection, "app")
                with contextlib.suppress(OSError):
                    connection.send(OP_CLOSE, data[:2])
                return
            elif opcode == OP_TEXT:
                self._on_ack(connection, json.loads(data), received)

    def _on_ack(self, connection: Connection, body: dict[str, Any], received: float) -> None:
        envelope_id = str(body.get("envelope_id", ""))
        with self._cond:
            sent = self.sent_at.get(envelope_id, received)
            self._ack_counts[envelope_id] = self._ack_counts.get(envelope_id, 0) + 1
            self.acks.setdefault(
                envelope_id, Ack(envelope_id, body, received - sent, connection.id)
            )
            self._cond.notify_all()
