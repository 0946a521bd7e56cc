"""A real, misbehaving HTTP upstream on 127.0.0.1, run in threads of the test process.

The URL path picks the behaviour:

``/ok``
    200 ``{"ok": true, "request_id": <received X-Request-ID or null>}``.
``/status/<code>``
    that status with ``{"message": "..."}``; 429 and 503 carry ``Retry-After: 7``
    (``?retry_after=N`` sets it for any code, ``?retry_after=`` drops it).
``/hang``
    reads the request, never answers; released (connection closed) by :meth:`stop`.
``/slow?seconds=X``
    200 after X seconds (closed without an answer if the server stops first).
``/reset``
    TCP RST (``SO_LINGER`` 1, 0 then close) before sending anything.
``/reset-mid?framing=length|chunked``
    status line, headers and part of the body, then a TCP RST.
``/flaky?fail=N&key=K``
    the first N requests with key K answer 503, later ones 200; counters per key.

Every request (method, path, query, headers, body) is recorded for assertions.

.. code-block:: python

    with UpstreamServer() as upstream:
        response = httpx.get(upstream.url + "/status/503")
        assert response.headers["Retry-After"] == "7"
        assert upstream.requests[0].path == "/status/503"
"""

from __future__ import annotations

import dataclasses
import json
import socket
import socketserver
import struct
import threading
import time
import traceback
import typing as t
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from .servers import LOOPBACK
from .servers import free_port

if t.TYPE_CHECKING:
    from types import TracebackType

#: Retry-After sent with 429 and 503 unless ``?retry_after=`` says otherwise.
DEFAULT_RETRY_AFTER = 7

# Upper bound for /slow, so a typo cannot park a thread for an hour.
_MAX_SLOW_SECONDS = 60.0


def refused_url(path: str = "/") -> str:
    """URL of a loopback port where nothing listens: connecting is refused."""
    return f"http://{LOOPBACK}:{free_port()}{path}"


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as the upstream received it."""

    method: str
    #: Path without the query string, e.g. ``/status/503``.
    path: str
    #: Query parameters (last value wins).
    query: dict[str, str]
    #: Header names lower-cased, e.g. ``headers["x-request-id"]``.
    headers: dict[str, str]
    body: bytes
    #: ``time.monotonic()`` when the request was read.
    received_at: float

    def header(self, name: str, default: str | None = None) -> str | None:
        """Header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)


class UpstreamServer:
    """Threaded HTTP/1.1 server on 127.0.0.1 with the modes listed in the module docstring.

    :param port: fixed port; default: one the OS picks (no race).
    :param stop_timeout: how long :meth:`stop` waits for request threads to finish.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        default_retry_after: int = DEFAULT_RETRY_AFTER,
        stop_timeout: float = 5.0,
    ) -> None:
        self.default_retry_after = default_retry_after
        self.stop_timeout = stop_timeout
        self._requested_port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._counters: dict[str, int] = {}
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> UpstreamServer:
        if self._server is not None:
            raise RuntimeError("UpstreamServer already started")
        self._stopping.clear()
        self._server = _Server(self, (LOOPBACK, self._requested_port))
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"upstream-{self.port}",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, release /hang and /slow, close every connection, join threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + self.stop_timeout
        try:
            server.shutdown()
            with self._lock:
                connections = list(self._connections)
                threads = list(self._threads)
            for connection in connections:
                _shutdown_socket(connection)
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if self._serve_thread is not None:
                self._serve_thread.join(max(0.0, deadline - time.monotonic()))
        finally:
            server.server_close()

    def __enter__(self) -> UpstreamServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("UpstreamServer is not running; use `with UpstreamServer()`")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` without a trailing slash."""
        return f"http://{LOOPBACK}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else f"/{path}")

    # -- assertions -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions in request threads (e.g. client went away mid-answer)."""
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        """Forget recorded requests and /flaky counters."""
        with self._lock:
            self._requests.clear()
            self._counters.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until at least ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.requests
            if len(received) >= count or time.monotonic() >= deadline:
                if len(received) < count:
                    raise TimeoutError(f"expected {count} upstream requests, got {received}")
                return received
            time.sleep(0.01)

    # -- used by the request handler ------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_attempt(self, key: str) -> int:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            return self._counters[key]

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            if self._stopping.is_set():
                _shutdown_socket(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _add_thread(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)

    def _add_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)


def _shutdown_socket(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() joins the request threads itself, with a bound

    def __init__(self, owner: UpstreamServer, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name = LOOPBACK
        self.server_port = self.server_address[1]

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: t.Any
    ) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="upstream-request",
            daemon=True,
        )
        self.owner._add_thread(thread)
        thread.start()

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: t.Any
    ) -> None:
        self.owner._add_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "UpstreamServer/1.0"
    # Safety net for idle keep-alive connections; stop() unblocks them at once anyway.
    timeout = 30

    @property
    def upstream(self) -> UpstreamServer:
        return t.cast(_Server, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.upstream._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.upstream._untrack(self.connection)

    def log_message(self, format: str, *args: t.Any) -> None:
        pass  # requests are recorded instead; keep test output clean

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        self.upstream._record(request)
        path = parts.path.rstrip("/") or "/"
        if path == "/ok":
            self._send_json(200, {"ok": True, "request_id": request.header("X-Request-ID")})
        elif path.startswith("/status/"):
            self._status(path.removeprefix("/status/"), query)
        elif path == "/hang":
            self.upstream._stopping.wait()
            self.close_connection = True
        elif path == "/slow":
            self._slow(query, request)
        elif path == "/reset":
            self._reset()
        elif path == "/reset-mid":
            self._reset_mid(query.get("framing", "length"))
        elif path == "/flaky":
            self._flaky(query, request)
        else:
            self._send_json(404, {"message": f"unknown upstream mode {parts.path!r}"})

    def _status(self, raw_code: str, query: dict[str, str]) -> None:
        if not raw_code.isdigit() or not 200 <= int(raw_code) <= 599:
            self._send_json(400, {"message": f"status must be 200-599, got {raw_code!r}"})
            return
        code = int(raw_code)
        headers = []
        retry_after = self._retry_after(query, code in (429, 503))
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Unknown Status"
        self._send_json(code, {"message": f"upstream answered {code} {phrase}"}, headers)

    def _retry_after(self, query: dict[str, str], by_default: bool) -> str | None:
        if "retry_after" in query:
            return query["retry_after"] or None
        return str(self.upstream.default_retry_after) if by_default else None

    def _slow(self, query: dict[str, str], request: RecordedRequest) -> None:
        seconds = min(float(query.get("seconds", "1")), _MAX_SLOW_SECONDS)
        if self.upstream._stopping.wait(seconds):
            self.close_connection = True
            return
        payload = {"ok": True, "slept": seconds, "request_id": request.header("X-Request-ID")}
        self._send_json(200, payload)

    def _flaky(self, query: dict[str, str], request: RecordedRequest) -> None:
        fail = int(query.get("fail", "1"))
        attempt = self.upstream._next_attempt(query.get("key", "default"))
        if attempt <= fail:
            headers = []
            retry_after = self._retry_after(query, False)
            if retry_after is not None:
                headers.append(("Retry-After", retry_after))
            message = f"flaky failure {attempt} of {fail}"
            self._send_json(503, {"message": message, "attempt": attempt}, headers)
            return
        payload = {"ok": True, "attempt": attempt, "request_id": request.header("X-Request-ID")}
        self._send_json(200, payload)

    # -- answers --------------------------------------------------------------------------

    def _send_json(
        self,
        code: int,
        payload: dict[str, t.Any],
        headers: t.Sequence[tuple[str, str]] = (),
    ) -> None:
        body = b"" if code in (204, 304) else json.dumps(payload).encode()
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if code not in (204, 304):
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self) -> None:
        """Abort the connection: with SO_LINGER (on, 0 s), close() sends RST, not FIN."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference to the socket: the fd only closes with the last one. wfile
        # holds none and must stay open (http.server flushes it after the handler returns).
        self.rfile.close()
        self.connection.close()

    def _reset_mid(self, framing: str) -> None:
        partial = b'{"ok": true, "data": "' + b"x" * 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(partial), partial))
        else:
            self.send_header("Content-Length", str(len(partial) * 10))
            self.end_headers()
            self.wfile.write(partial)
        # Give the client a moment to read the headers before the connection dies.
        self.upstream._stopping.wait(0.1)
        self._reset()
