"""The request side of :class:`~tests.support.upstream.UpstreamServer`: the recorded
request, and the handler that picks a mode by the URL path (listed in upstream.py)."""

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

if t.TYPE_CHECKING:
    from .upstream import UpstreamServer

# Upper bound for /slow, so a typo cannot park a thread for an hour.
_MAX_SLOW_SECONDS = 60.0


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


class UpstreamHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() joins the request threads itself, with a bound

    def __init__(self, owner: UpstreamServer, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, UpstreamHandler)

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


class UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "UpstreamServer/1.0"
    # Safety net for idle keep-alive connections; stop() unblocks them at once anyway.
    timeout = 30

    @property
    def upstream(self) -> UpstreamServer:
        return t.cast(UpstreamHTTPServer, self.server).owner

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
