"""Requests decoded from arbitrary bytes, and the invariants every response
must keep: :func:`check` (bodies, content types, ids) and
:func:`check_headers` (any request headers). Used by the atheris entry
points (``fuzz_requests.py``, ``fuzz_headers.py``) and by hypothesis tests,
so it needs neither.

Layout of the input (every part may be cut short):

* byte 0: the route;
* byte 1: the content type (a known one, or the next bytes up to ``;;``);
* byte 2: length *n* of the ``X-Request-ID`` value, then *n* bytes of it
  (``0``: no header);
* byte 3: flags (1: chunked body, 2: prefer ``application/problem+json``,
  4: send the id as ``X-Correlation-ID``);
* the rest: the body.
"""

from __future__ import annotations

import json
import logging
import re
import typing as t

from flask import Flask
from flask.logging import default_handler

from flask_apierrors.correlation import VALID_ID
from tests.test_reliability_input import CONTENT_TYPES
from tests.test_reliability_input import WRITE_ROUTES
from tests.test_reliability_input import WRITE_STATUSES
from tests.test_reliability_input import create_input_app

#: Every route the fuzzer reaches: the write routes, a success and a 404.
ROUTES: t.Final = [*WRITE_ROUTES, ("GET", "/ok"), ("GET", "/no/such/route")]

#: Characters no log line may contain (newlines between lines aside).
CONTROL: t.Final = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


class Request(t.NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    environ: dict[str, t.Any]
    body: bytes
    incoming_id: str | None


def decode(data: bytes) -> Request:
    """The request ``data`` describes (any bytes decode to some request)."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += len(chunk)
        return chunk

    method, path = ROUTES[(take(1) or b"\0")[0] % len(ROUTES)]
    headers: dict[str, str] = {}
    environ: dict[str, t.Any] = {}
    choice = (take(1) or b"\0")[0]
    if choice < len(CONTENT_TYPES):
        content_type = CONTENT_TYPES[choice]
        if content_type is not None:
            headers["Content-Type"] = content_type
    else:
        raw, _, _ = data[pos:].partition(b";;")
        take(len(raw) + 2)
        # What an HTTP parser lets through: visible ASCII and spaces.
        headers["Content-Type"] = "".join(chr(b) for b in raw[:80] if 0x20 <= b < 0x7F)
    n = (take(1) or b"\0")[0]
    incoming = take(n).decode("latin-1") if n else None
    flags = (take(1) or b"\0")[0]
    if incoming is not None:
        name = "HTTP_X_CORRELATION_ID" if flags & 4 else "HTTP_X_REQUEST_ID"
        # Straight into the environ: a server's parser decides what reaches it.
        environ[name] = incoming
    if flags & 1:
        headers["Transfer-Encoding"] = "chunked"
        environ["wsgi.input_terminated"] = True
    if flags & 2:
        headers["Accept"] = "application/problem+json"
    return Request(method, path, headers, environ, data[pos:], incoming)


class LogLines(logging.Handler):
    """Keeps every formatted log line (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_APP: Flask | None = None
_LOG = LogLines()


def app() -> Flask:
    """The input app, built once (and its log captured)."""
    global _APP
    if _APP is None:
        _APP = create_input_app()
        _APP.logger.removeHandler(default_handler)
        _APP.logger.addHandler(_LOG)
        _APP.logger.setLevel(logging.DEBUG)
        logging.getLogger("flask_apierrors").addHandler(_LOG)
    return _APP


def encode(
    route: int,
    content_type: int,
    body: bytes,
    incoming_id: str = "",
    flags: int = 0,
) -> bytes:
    """The input :func:`decode` turns into this request (for seeds)."""
    raw_id = incoming_id.encode("latin-1")
    return bytes([route, content_type, len(raw_id)]) + raw_id + bytes([flags]) + body


def seeds() -> list[bytes]:
    """A starting corpus: one sensible request per route, plus a few bad ones."""
    chat = json.dumps(
        {"model": "Melanie-3", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    ).encode()
    json_type = CONTENT_TYPES.index("application/json")
    form_type = CONTENT_TYPES.index("application/x-www-form-urlencoded")
    multipart = CONTENT_TYPES.index("multipart/form-data; boundary=xyz")
    upload = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nabc\r\n--xyz--\r\n"
    )
    return [
        encode(0, json_type, chat, "seed-1"),
        encode(0, json_type, b'{"model": "x", "messages": [{"content": ""}]}', "a\x1bb"),
        encode(0, json_type, b'{"model": ', "", 2),
        encode(1, form_type, b"name=abc&tags=a&tags=b&count=3", "x" * 129),
        encode(2, multipart, upload, "ok-id", 4),
        encode(3, json_type, b"[1, 2, 3]", "", 1),
        encode(4, multipart, upload),
        encode(5, json_type, b"{}"),
    ]


def check(data: bytes) -> None:
    """Send the request ``data`` describes and check every invariant;
    raises AssertionError on a violation."""
    send_and_check(decode(data))


def send_and_check(req: Request, statuses: t.Collection[int] = ()) -> None:
    """Send ``req`` to the input app and check every invariant; a status
    outside the write routes' set must be in ``statuses``."""
    _LOG.lines.clear()
    response = (
        app()
        .test_client()
        .open(
            req.path,
            method=req.method,
            headers=req.headers,
            environ_overrides=req.environ,
            data=req.body,
        )
    )
    try:
        status = response.status_code
        allowed = WRITE_STATUSES | {404, 405} | set(statuses)
        assert 200 <= status < 300 or status in allowed, (status, response.get_data())
        for _, value in response.headers:
            value.encode("latin-1")  # what a server can send
        cid = response.headers["X-Request-ID"]
        assert VALID_ID.fullmatch(cid), cid
        if req.incoming_id is not None and VALID_ID.fullmatch(req.incoming_id):
            assert cid == req.incoming_id
        else:
            assert cid != req.incoming_id
        if status >= 400:
            assert response.mimetype in ("application/json", "application/problem+json")
            body = response.get_json()
            assert isinstance(body, dict)
            assert body["correlation_id"] == cid
        for line in _LOG.lines:
            assert not CONTROL.search(line), line
    finally:
        response.close()


# -- any request headers -------------------------------------------------------------

#: Header names a byte picks (any other byte reads a name of its own): those
#: the extension, Werkzeug or the app read.
HEADER_NAMES: t.Final = (
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Accept",
    "X-Request-ID",
    "X-Correlation-ID",
    "Authorization",
    "Host",
    "Origin",
    "Cookie",
    "Range",
    "If-None-Match",
    "Content-Encoding",
    "Expect",
    "Accept-Language",
    "X-Forwarded-For",
)
#: Statuses any headers may add to those of :func:`check` (a Host that is
#: no host name, a Content-Length that is not a number, an unknown method).
HEADER_STATUSES: t.Final = frozenset({400, 411, 412, 416, 417})


def decode_headers(data: bytes) -> Request:
    """A request with the headers ``data`` describes: byte 0 the route, byte
    1 how many headers (at most 15), then per header a name (a byte picking
    one of :data:`HEADER_NAMES`, else a length and the bytes) and a value (a
    length and the bytes), as latin-1 (what a server hands over); the rest
    is the body."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += len(chunk)
        return chunk

    method, path = ROUTES[(take(1) or b"\0")[0] % len(ROUTES)]
    environ: dict[str, t.Any] = {}
    incoming = None
    for _ in range((take(1) or b"\0")[0] % 16):
        pick = (take(1) or b"\0")[0]
        if pick < len(HEADER_NAMES):
            name = HEADER_NAMES[pick]
        else:
            name = take((take(1) or b"\0")[0] % 40).decode("latin-1")
        value = take((take(1) or b"\0")[0]).decode("latin-1")
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = value
        if key == "HTTP_X_REQUEST_ID":
            incoming = value
        elif key == "HTTP_TRANSFER_ENCODING" and value.lower() == "chunked":
            environ["wsgi.input_terminated"] = True
    if "HTTP_X_REQUEST_ID" not in environ and "HTTP_X_CORRELATION_ID" in environ:
        incoming = environ["HTTP_X_CORRELATION_ID"]
    return Request(method, path, {}, environ, data[pos:], incoming)


def encode_headers(route: int, headers: t.Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    """The input :func:`decode_headers` turns into this request (for seeds)."""
    headers = headers[:15]
    out = bytearray([route, len(headers)])
    for name, value in headers:
        if name in HEADER_NAMES:
            out.append(HEADER_NAMES.index(name))
        else:
            raw_name = name.encode("latin-1")[:39]
            out += bytes([255, len(raw_name)]) + raw_name
        raw = value.encode("latin-1")[:255]
        out += bytes([len(raw)]) + raw
    return bytes(out + body)


def header_seeds() -> list[bytes]:
    """A starting corpus of header sets."""
    json_type = ("Content-Type", "application/json")
    return [
        encode_headers(0, [json_type, ("Content-Length", "2")], b"{}"),
        encode_headers(0, [json_type, ("Content-Length", "-1")], b"{}"),
        encode_headers(0, [json_type, ("Content-Length", "99999999999999999999")], b"{}"),
        encode_headers(3, [json_type, ("Transfer-Encoding", "chunked")], b"[1]"),
        encode_headers(3, [json_type, ("Content-Encoding", "gzip")], b"[1]"),
        encode_headers(6, [("Accept", "application/problem+json;q=0.9, */*;q=0.1")]),
        encode_headers(7, [("Host", "\x00::["), ("Origin", "null"), ("Range", "bytes=9-1")]),
        encode_headers(7, [("X-Correlation-ID", "ok.id"), ("Expect", "100-continue")]),
        encode_headers(1, [("X-\xff\r\n", "v\x85"), ("Cookie", "a=\x00; b")], b"name=x"),
    ]


def check_headers(data: bytes) -> None:
    """Send the request with the headers ``data`` describes; every invariant
    of :func:`check` holds (a few more 4xx allowed)."""
    send_and_check(decode_headers(data), HEADER_STATUSES)
