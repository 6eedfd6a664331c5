"""A small threaded loopback HTTP(S) server for cloud stand-ins.

Subclasses implement `route(request) -> Reply`. The base records every call and offers the
fault knobs the tests share: `fail` (error statuses, optionally a limited number of times and
only under a path prefix), `hang` (answer late, for timeouts) and `heal` (clear both).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.domain import CloudEndpoints


@dataclass
class Call:
    """One request the stand-in received (logged on arrival; `status` 0 until answered)."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.monotonic)  # arrival (time.monotonic)


@dataclass
class Request:
    """A decoded request, handed to `route`."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as an x-www-form-urlencoded form."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def header(self, name: str) -> str:
        """A header, case-insensitively ("" when absent)."""
        return self.headers.get(name.lower(), "")


@dataclass
class Reply:
    """What to answer: a status, a JSON (or text) body and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    times: int | None
    path_prefix: str | None
    retry_after: str | None
    body: Any


@dataclass
class _Hang:
    seconds: float
    times: int | None
    path_prefix: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: LoopbackServer, tls: ssl.SSLContext | None, port: int = 0) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__(("127.0.0.1", port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # handshake in the handler thread, not the accept loop; close the TLS socket ourselves
        # (socketserver only closes the raw one it accepted)
        wrapped = self.tls.wrap_socket(request, server_side=True)
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are expected in these tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query={k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = self.server.owner._dispatch(request)
        if isinstance(reply.body, bytes | str):
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            content_type = "text/plain; charset=utf-8"
        elif reply.body is None:
            payload, content_type = b"", "application/json"
        else:
            payload = json.dumps(reply.body).encode()
            content_type = "application/json; charset=utf-8"
        headers = {"Content-Type": content_type, **reply.headers}
        try:
            self.send_response(reply.status)
            headers["Content-Length"] = str(len(payload))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout tests)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_DELETE = _handle
    do_PATCH = _handle


class LoopbackServer:
    """Base of the stand-ins: start/stop, call log, fault injection."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._faults: list[_Fault] = []
        self._hangs: list[_Hang] = []
        self.calls: list[Call] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1, on `port` (0: a free one)."""
        self._server = _Server(self, self._tls, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release hanging requests."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "start the stand-in first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http(s)://127.0.0.1:<port>`."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- knobs -------------------------------------------------------------------------------

    def fail(
        self,
        status: int = 503,
        times: int | None = None,
        path_prefix: str | None = None,
        retry_after: str | None = None,
        body: Any = None,
    ) -> None:
        """Answer `status` to the next `times` requests (all, if None) under `path_prefix`."""
        with self._lock:
            self._faults.append(_Fault(status, times, path_prefix, retry_after, body))

    def hang(
        self, seconds: float, times: int | None = None, path_prefix: str | None = None
    ) -> None:
        """Wait `seconds` before answering the next `times` requests under `path_prefix`."""
        with self._lock:
            self._hangs.append(_Hang(seconds, times, path_prefix))

    def heal(self) -> None:
        """Drop every pending fault and hang."""
        with self._lock:
            self._faults.clear()
            self._hangs.clear()

    def count(self, path_prefix: str = "", method: str | None = None) -> int:
        """How many calls were received under `path_prefix` (and with `method`)."""
        with self._lock:
            return sum(
                1
                for c in self.calls
                if c.path.startswith(path_prefix) and (method is None or c.method == method)
            )

    def reset_calls(self) -> None:
        """Forget the call log."""
        with self._lock:
            self.calls.clear()

    # -- dispatch ----------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        """Answer one request (subclasses)."""
        raise NotImplementedError

    def fault_body(self, request: Request, status: int) -> Any:
        """The body of an injected error (subclasses shape it like their cloud)."""
        return {"error": {"code": status, "message": "injected failure"}}

    @staticmethod
    def _take(items: list[Any], path: str) -> Any:
        for item in items:
            if item.path_prefix is None or path.startswith(item.path_prefix):
                if item.times is not None:
                    item.times -= 1
                    if item.times <= 0:
                        items.remove(item)
                return item
        return None

    def _dispatch(self, request: Request) -> Reply:
        call = Call(request.method, request.path, request.query)
        with self._lock:
            self.calls.append(call)
            hang = self._take(self._hangs, request.path)
            fault = self._take(self._faults, request.path)
        if hang is not None:
            self._released.wait(hang.seconds)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            body = fault.body if fault.body is not None else self.fault_body(request, fault.status)
            reply = Reply(fault.status, body, headers)
        else:
            try:
                reply = self.route(request)
            except Exception as exc:  # a stand-in bug must show up, not hang the client
                reply = Reply(500, {"error": {"code": "StandInBug", "message": repr(exc)}})
        call.status = reply.status
        return reply


def cloud_endpoints(values: dict[str, Any]) -> CloudEndpoints:
    """`CloudEndpoints` from one flat dict: the provider endpoint settings by name plus
    ``ca_bundle``, ``timeout_seconds``, ``max_attempts`` and ``concurrency``; the rest keep
    their defaults."""
    from bot import providers

    common = {
        k: values.pop(k)
        for k in ("ca_bundle", "timeout_seconds", "max_attempts", "concurrency")
        if k in values
    }
    return providers.endpoints(values, **common)
