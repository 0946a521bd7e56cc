"""Fuzz target: what an upstream service answers, fed to
:func:`flask_apierrors.upstream.upstream_call` (inside an app, so the error
is rendered) and to the client's :func:`~flask_apierrors.client.parse_error`
and :func:`~flask_apierrors.client.raise_for_error`.

Layout of the input (every part may be cut short):

* byte 0: flags: bits 0-1 the library's response (:data:`LIBRARIES`);
  bits 2-3 how the app calls (:data:`MODES`: ``check``, ``raise_for_status``
  in a ``with`` block, a decorated function returning the response, over
  the wire); bit 4 send the raw bytes over the wire as they are (no status
  line or headers of ours);
* bytes 1-2: the status (0 to 999);
* byte 3: the number of headers (at most 7), then per header a name (a
  known one, or a length and the bytes) and a value (a length and the
  bytes, as latin-1);
* the rest: the body.

Responses are built as each library builds them (requests' adapter over a
urllib3 response, ``httpx.Response``), or as unit tests build them (a bare
``requests.Response`` with ``_content`` set, an httpx response whose stream
nobody read); "over the wire" a real server on 127.0.0.1 answers with the
bytes and the library parses them.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import socket
import threading
import typing as t

import httpx
import requests
import urllib3
from flask import Flask
from flask import request
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from flask_apierrors import ApiErrors
from flask_apierrors.client import MAX_RETRY_AFTER
from flask_apierrors.client import ApiClientError
from flask_apierrors.client import error_from_response
from flask_apierrors.client import raise_for_error
from flask_apierrors.upstream import upstream_call

from .targets import LogLines

#: Header names a byte picks; any other byte reads a name of its own.
HEADER_NAMES: t.Final = (
    "Retry-After",
    "Content-Type",
    "X-Request-ID",
    "X-Correlation-ID",
    "X-RateLimit-Reset",
    "Content-Length",
    "Transfer-Encoding",
    "Content-Encoding",
    "Location",
    "WWW-Authenticate",
)
LIBRARIES: t.Final = ("requests", "httpx", "requests-mock", "httpx-unread")
MODES: t.Final = ("check", "with", "decorated", "wire")
#: What the upstream's URL carries that no client may see.
SECRET: t.Final = "s3cr3t-upstream-key"
#: Statuses the app may answer with for any upstream answer.
APP_STATUSES: t.Final = frozenset({200, 502, 503, 504})
UPSTREAM: t.Final = "upstream.response"


class Answer(t.NamedTuple):
    library: str
    mode: str
    raw: bool
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def decode(data: bytes) -> Answer:
    """The upstream answer ``data`` describes (any bytes decode to one)."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += len(chunk)
        return chunk

    flags = (take(1) or b"\0")[0]
    status = int.from_bytes(take(2) or b"\x01\xf4", "big") % 1000
    headers = []
    for _ in range((take(1) or b"\0")[0] % 8):
        pick = (take(1) or b"\0")[0]
        if pick < len(HEADER_NAMES):
            name = HEADER_NAMES[pick]
        else:
            name = take((take(1) or b"\0")[0] % 32).decode("latin-1")
        value = take((take(1) or b"\0")[0]).decode("latin-1")
        headers.append((name, value))
    return Answer(
        LIBRARIES[flags & 3],
        MODES[(flags >> 2) & 3],
        bool(flags & 16),
        status,
        headers,
        data[pos:],
    )


def encode(
    status: int,
    headers: t.Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    library: str = "requests",
    mode: str = "check",
    raw: bool = False,
) -> bytes:
    """The input :func:`decode` turns into this answer (for seeds)."""
    flags = LIBRARIES.index(library) | (MODES.index(mode) << 2) | (16 if raw else 0)
    headers = headers[:7]
    out = bytearray([flags]) + status.to_bytes(2, "big") + bytes([len(headers)])
    for name, value in headers:
        if name in HEADER_NAMES:
            out.append(HEADER_NAMES.index(name))
        else:
            raw_name = wire_text(name)[:31]
            out += bytes([255, len(raw_name)]) + raw_name
        raw_value = wire_text(value)[:255]
        out += bytes([len(raw_value)]) + raw_value
    return bytes(out + body)


def wire_text(text: str) -> bytes:
    """``text`` as a header on the wire: latin-1, else its UTF-8 bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def seeds() -> list[bytes]:
    """A starting corpus: each documented body shape, Retry-After forms."""
    shapes = [
        {"error": "not_found", "message": "Nope", "details": {"id": 1}},
        {"error": True, "error_code": "RATE_LIMIT", "message": "Slow", "details": {}},
        {"detail": {"code": "VALIDATION_ERROR", "message": "Bad"}},
        {"type": "about:blank", "title": "Conflict", "status": 409, "code": "conflict"},
        {"detail": [{"loc": ["body", "name"], "msg": "required"}]},
        {"message": "x", "details": {"validation_errors": [{"field": "a", "message": "b"}]}},
    ]
    json_type = ("Content-Type", "application/json")
    corpus = [encode(400 + i, [json_type], json.dumps(s).encode()) for i, s in enumerate(shapes)]
    for i, value in enumerate(["7", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1.5", "9" * 40]):
        corpus.append(
            encode(503 if i % 2 else 429, [("Retry-After", value)], b"{}", mode=MODES[i % 4])
        )
    corpus.append(encode(200, [json_type], b'{"ok": true}', library="httpx", mode="wire"))
    corpus.append(encode(502, [json_type], b'{"error": "x"}', library="requests-mock"))
    corpus.append(encode(302, [("Location", "/x")], b"", library="httpx", mode="with"))
    corpus.append(encode(404, [json_type], b'{"detail": "gone"}', library="httpx-unread"))
    corpus.append(encode(500, [("Content-Encoding", "gzip")], b"not gzip", mode="wire"))
    corpus.append(encode(0, raw=True, body=b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"))
    return corpus


# -- building responses ------------------------------------------------------------------

URL: t.Final = f"http://127.0.0.1:9/v1/thing?key={SECRET}"


def requests_response(answer: Answer, *, mock: bool = False) -> requests.Response:
    """As requests' adapter builds it (the body read on first use), or as a
    unit test builds it (``mock``: no connection, ``_content`` set)."""
    prepared = requests.Request("GET", URL).prepare()
    if mock:
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.body
        response.url = URL
        response.request = prepared
        return response
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(answer.body),
        headers=urllib3.HTTPHeaderDict(answer.headers),
        status=answer.status,
        reason="Fuzzed",
        preload_content=False,
        decode_content=False,
    )
    return HTTPAdapter().build_response(prepared, raw)


def httpx_response(answer: Answer, *, read: bool = True) -> httpx.Response:
    """As httpx builds it, read or (``read=False``) with its stream unread."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    request = httpx.Request("GET", URL)
    if read:
        try:
            return httpx.Response(
                answer.status, headers=headers, content=answer.body, request=request
            )
        except httpx.DecodingError:
            pass  # a real client raises before the app has a response
    stream = httpx.ByteStream(answer.body)
    return httpx.Response(answer.status, headers=headers, stream=stream, request=request)


def build(answer: Answer) -> t.Any:
    if answer.library == "httpx":
        return httpx_response(answer)
    if answer.library == "httpx-unread":
        return httpx_response(answer, read=False)
    return requests_response(answer, mock=answer.library == "requests-mock")


def wire_bytes(answer: Answer) -> bytes:
    """What the loopback upstream sends for ``answer``."""
    if answer.raw:
        return answer.body
    head = [f"HTTP/1.1 {answer.status:03d} Fuzzed"]
    head += [f"{name}: {value}" for name, value in answer.headers]
    if not any(
        name.lower() in ("content-length", "transfer-encoding") for name, _ in answer.headers
    ):
        head.append(f"Content-Length: {len(answer.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body


class WireUpstream:
    """A server on 127.0.0.1 that reads a request head and answers with the
    bytes it was given, then closes; one connection at a time. With
    ``hold``, it keeps each connection open instead, sending nothing more
    until :meth:`close` (an answer that stalls midway)."""

    def __init__(self, answer: bytes = b"", *, hold: bool = False) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.answer = answer
        self.hold = hold
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                conn.sendall(self.answer)
            if self.hold:
                self._held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._sock.close()


_WIRE: WireUpstream | None = None


def wire() -> WireUpstream:
    global _WIRE
    if _WIRE is None:
        _WIRE = WireUpstream()
    return _WIRE


# -- the app -----------------------------------------------------------------------------

_APP: Flask | None = None
_LOG = LogLines()


def app() -> Flask:
    """An app that calls the upstream the way the input says."""
    global _APP
    if _APP is None:
        _APP = Flask("upstream_fuzz")
        ApiErrors(_APP)
        import logging

        logging.getLogger("flask_apierrors").addHandler(_LOG)

        @_APP.get("/call")
        def call() -> dict[str, t.Any]:
            answer: Answer = request.environ[UPSTREAM]
            service = upstream_call("fuzzed", timeout=2)
            if answer.mode == "wire":
                url = f"http://127.0.0.1:{wire().port}/v1/thing?key={SECRET}"
                with service:
                    if answer.library.startswith("httpx"):
                        got: t.Any = httpx.get(url, timeout=2)
                    else:
                        got = requests.get(url, timeout=2)
                    service.check(got)
                return {"ok": True}
            response = build(answer)
            if answer.mode == "check":
                service.check(response)
            elif answer.mode == "with":
                with service:
                    response.raise_for_status()
            else:
                service(lambda: response)()
            return {"ok": True}

    return _APP


# -- the invariants ----------------------------------------------------------------------


def check(data: bytes) -> None:
    """Feed the answer ``data`` describes to the app and to the client;
    raises AssertionError on a violation."""
    answer = decode(data)
    if answer.mode != "wire":
        check_client(answer)
    else:
        wire().answer = wire_bytes(answer)
    _LOG.lines.clear()
    response = app().test_client().get("/call", environ_overrides={UPSTREAM: answer})
    status = response.status_code
    assert status in APP_STATUSES, (status, response.get_data())
    text = response.get_data(as_text=True)
    assert SECRET not in text
    assert all(SECRET not in value for _, value in response.headers.items())
    body = json.loads(text)
    if status == 200:
        assert body == {"ok": True}
        return
    assert body["correlation_id"] == response.headers["X-Request-ID"]
    details = body["details"]
    assert details["service"] == "fuzzed"
    if len(answer.body) >= 16 and answer.body.isalnum():
        assert answer.body.decode() not in text
    if status == 503:
        retry = response.headers["Retry-After"]
        assert retry.isascii() and retry.isdigit(), retry
        assert 1 <= int(retry) <= MAX_RETRY_AFTER
        assert details["retry_after"] == int(retry)
    for line in _LOG.lines:
        assert SECRET not in line, line


def check_client(answer: Answer) -> None:
    """The client's view of the answer: no exception but the error's."""
    built: list[t.Any] = [requests_response(answer), requests_response(answer, mock=True)]
    built += [httpx_response(answer), httpx_response(answer, read=False)]
    for response in built:
        error = error_from_response(response)
        if answer.status < 400:
            assert error is None
            assert raise_for_error(response) is response
            continue
        assert isinstance(error, ApiClientError)
        assert error.status == answer.status
        assert isinstance(error.code, str) and error.code
        assert isinstance(error.message, str)
        assert isinstance(error.details, dict)
        wait = error.retry_after
        assert wait is None or (math.isfinite(wait) and 0 <= wait <= MAX_RETRY_AFTER), wait
        str(error)
        repr(error)
        try:
            raise_for_error(response)
        except ApiClientError as raised:
            assert type(raised) is type(error)
        else:
            raise AssertionError("raise_for_error did not raise")
