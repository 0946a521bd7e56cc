"""Through a real gunicorn (one server for the module): oversized bodies get
the JSON 413 rather than a connection reset, faults in the error path still
answer JSON with the correlation id, and what gunicorn answers itself before
Flask runs (request line and header limits, malformed requests) is what the
deployment docs say. Raised limits and worker timeouts are in
test_reliability_gunicorn_settings, the example app under faults in
test_reliability_gunicorn_example.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import typing as t

import httpx
import pytest
import requests

from flask_apierrors.correlation import VALID_ID

from .support.servers import GunicornServer
from .test_reliability_faults import FAULTS
from .test_reliability_faults import check_json_error

pytestmark = pytest.mark.slow

APP: t.Final = "tests.test_reliability_faults:create_fault_app()"
#: The fault app's MAX_CONTENT_LENGTH.
LIMIT: t.Final = 1024


@pytest.fixture(scope="module")
def server() -> t.Iterator[GunicornServer]:
    with GunicornServer(APP, workers=2, timeout=20, health_path="/ok") as srv:
        yield srv


class RawResponse(t.NamedTuple):
    status: int
    #: Lower-case names.
    headers: dict[str, str]
    body: bytes
    #: What sending the request raised, if anything (a reset, a broken pipe).
    send_error: OSError | None


def raw_exchange(
    port: int, head: bytes, body: t.Iterable[bytes] = (), timeout: float = 10.0
) -> RawResponse:
    """Send ``head`` and then ``body`` from a thread while reading the
    response, as a careful client does; a server that answers early and
    closes must not lose its answer to a reset."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    errors: list[OSError] = []

    def send() -> None:
        try:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)
        except OSError as exc:
            errors.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = bytearray()
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass  # what arrived before the reset is judged below
    finally:
        sender.join(timeout)
        sock.close()
    head_bytes, _, payload = bytes(data).partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), f"no HTTP response, got {bytes(data[:200])!r}"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(lines[0].split()[1]), headers, payload, errors[0] if errors else None)


def _post_head(path: str, headers: t.Mapping[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunks(total: int, size: int = 16384) -> t.Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield b"x" * n
        sent += n


def _chunked(total: int) -> t.Iterator[bytes]:
    for chunk in _chunks(total, 4096):
        yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"


def check_413(status: int, headers: dict[str, str], body: bytes) -> None:
    data = check_json_error(status, headers, body, 413)
    assert data["error"] == "payload_too_large"
    assert data["details"]["max_size"] == LIMIT


# -- oversized bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    [0, 100_000, 10_000_000],
    ids=["headers-only", "part-of-it", "all-of-it"],
)
def test_declared_oversized_body_gets_json_413(server: GunicornServer, sent: int) -> None:
    head = _post_head(
        "/echo", {"Content-Type": "application/octet-stream", "Content-Length": "10000000"}
    )
    response = raw_exchange(server.port, head, _chunks(sent))
    check_413(response.status, response.headers, response.body)
    assert json.loads(response.body)["details"]["body_size"] == 10_000_000


@pytest.mark.parametrize("size", [LIMIT + 1, 100_000, 5_000_000])
def test_requests_client_gets_json_413(server: GunicornServer, size: int) -> None:
    with requests.post(server.url + "/echo", data=b"x" * size, timeout=20) as response:
        check_413(response.status_code, dict(response.headers), response.content)


@pytest.mark.parametrize("size", [LIMIT + 1, 100_000, 5_000_000])
def test_httpx_client_gets_json_413(server: GunicornServer, size: int) -> None:
    response = httpx.post(server.url + "/echo", content=b"x" * size, timeout=20)
    check_413(response.status_code, dict(response.headers), response.content)


@pytest.mark.parametrize("size", [0, 1, LIMIT])
def test_chunked_body_within_the_limit_is_read_whole(server: GunicornServer, size: int) -> None:
    head = _post_head(
        "/echo", {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    )
    response = raw_exchange(server.port, head, _chunked(size))
    assert response.status == 200
    assert json.loads(response.body) == {"bytes": size}


@pytest.mark.parametrize("size", [LIMIT + 1, 100_000])
def test_streamed_oversized_body_gets_json_413(server: GunicornServer, size: int) -> None:
    head = _post_head(
        "/echo", {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    )
    response = raw_exchange(server.port, head, _chunked(size))
    check_413(response.status, response.headers, response.body)


def test_malformed_chunked_body_is_a_client_error(server: GunicornServer) -> None:
    head = _post_head(
        "/echo", {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    )
    response = raw_exchange(server.port, head, [b"zz\r\nxx\r\n0\r\n\r\n"])
    data = check_json_error(response.status, response.headers, response.body, 400)
    assert data["error"] == "bad_request"


# -- faults ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), FAULTS)
def test_fault_answers_json_through_gunicorn(
    server: GunicornServer, path: str, status: int
) -> None:
    with requests.get(
        server.url + path, headers={"X-Request-ID": "gunicorn-fault.1"}, timeout=10
    ) as response:
        data = check_json_error(
            response.status_code, dict(response.headers), response.content, status
        )
    assert data["correlation_id"] == "gunicorn-fault.1"
    assert data["details"]["error_id"].startswith("err_")


def test_no_worker_died_or_timed_out(server: GunicornServer) -> None:
    for path, _status in FAULTS:
        requests.get(server.url + path, timeout=10).close()
    with requests.get(server.url + "/ok", timeout=10) as response:
        assert response.json() == {"ok": True}
    log = server.log_text()
    assert "WORKER TIMEOUT" not in log
    assert "Worker exiting" not in log
    assert "was sent SIGKILL" not in log


# -- what gunicorn answers before Flask runs ---------------------------------------------


def _get(port: int, head: bytes) -> RawResponse:
    return raw_exchange(port, head)


#: (request, status gunicorn answers): none of these reach Flask, so they
#: are gunicorn's own HTML, without a correlation id (see docs/deployment).
GUNICORN_ANSWERS: t.Final = [
    pytest.param(b"GET /ok?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, id="line"),
    pytest.param(
        b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Note: " + b"a" * 8200 + b"\r\n\r\n", 431, id="field"
    ),
    pytest.param(
        b"GET /ok HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: 1\r\n" % i for i in range(101))
        + b"\r\n",
        431,
        id="fields",
    ),
    pytest.param(b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\x1bb\r\n\r\n", 400, id="ctl"),
    pytest.param(b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\x00b\r\n\r\n", 400, id="nul"),
    pytest.param(b"\x16\x03\x01\x00garbage\r\n\r\n", 400, id="tls-on-plain-port"),
    pytest.param(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        400,
        id="smuggling",
    ),
    pytest.param(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        400,
        id="two-content-lengths",
    ),
    pytest.param(b"GET /ok HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, id="two-hosts"),
    pytest.param(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
        400,
        id="signed-content-length",
    ),
    pytest.param(b"GET /ok HTTP/1.1\r\nHost: x\r\nExpect: 999-foo\r\n\r\n", 417, id="expect"),
]


@pytest.mark.parametrize(("raw", "status"), GUNICORN_ANSWERS)
def test_what_gunicorn_answers_itself(server: GunicornServer, raw: bytes, status: int) -> None:
    response = _get(server.port, raw)
    assert response.status == status
    assert response.headers["content-type"] == "text/html"
    assert "x-request-id" not in response.headers


@pytest.mark.parametrize(
    ("value", "reaches_flask"),
    [
        ("a\x85b", True),
        ("a" * 129, True),
        ("a" * 8000, True),
        ("a" * 8192, False),
    ],
    ids=["nel-x85", "129-chars", "8000-chars", "8192-chars"],
)
def test_hostile_request_id_through_gunicorn(
    server: GunicornServer, value: str, reaches_flask: bool
) -> None:
    head = f"GET /no/such/route HTTP/1.1\r\nHost: x\r\nX-Request-ID: {value}\r\n\r\n"
    response = _get(server.port, head.encode("latin-1"))
    # Past gunicorn's field-size limit the request never reaches Flask.
    assert ("x-request-id" in response.headers) is reaches_flask
    assert value.encode("latin-1") not in response.body
    assert all(value not in v for v in response.headers.values())


@pytest.mark.parametrize("value", ["a\x85b", "a" * 129, "a" * 8000])
def test_hostile_request_id_gets_a_valid_one(server: GunicornServer, value: str) -> None:
    head = f"GET /no/such/route HTTP/1.1\r\nHost: x\r\nX-Request-ID: {value}\r\n\r\n"
    response = _get(server.port, head.encode("latin-1"))
    data = check_json_error(response.status, response.headers, response.body, 404)
    assert VALID_ID.fullmatch(data["correlation_id"])


def test_server_keeps_answering_after_bad_requests(server: GunicornServer) -> None:
    for param in GUNICORN_ANSWERS:
        raw, _status = param.values
        _get(server.port, t.cast(bytes, raw))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/ok")
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True}
    finally:
        conn.close()
