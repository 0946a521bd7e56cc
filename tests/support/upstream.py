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

import socket
import threading
import time
import typing as t

from .servers import LOOPBACK
from .servers import free_port
from .upstream_handler import RecordedRequest
from .upstream_handler import UpstreamHTTPServer

if t.TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DEFAULT_RETRY_AFTER", "RecordedRequest", "UpstreamServer", "refused_url"]

#: Retry-After sent with 429 and 503 unless ``?retry_after=`` says otherwise.
DEFAULT_RETRY_AFTER = 7


def refused_url(path: str = "/") -> str:
    """URL of a loopback port where nothing listens: connecting is refused."""
    return f"http://{LOOPBACK}:{free_port()}{path}"


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
        self._server: UpstreamHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> UpstreamServer:
        if self._server is not None:
            raise RuntimeError("UpstreamServer already started")
        self._stopping.clear()
        self._server = UpstreamHTTPServer(self, (LOOPBACK, self._requested_port))
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
