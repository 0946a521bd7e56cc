"""Event streams served by a real gunicorn (sync and gthread workers): errors
mid-stream end in the event pair and a complete chunked body; a client that
disconnects mid-stream leaves nothing held."""

from __future__ import annotations

import json
import socket
import struct
import time
import typing as t

import pytest

from tests.support.servers import GunicornServer
from tests.test_sse import parse_events

pytestmark = pytest.mark.slow

APP = "tests.apps.stream_app:app"


class RawResponse(t.NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes
    #: The chunked body ended with its terminating zero-size chunk.
    complete: bool


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def _dechunk(raw: bytes) -> tuple[bytes, bool]:
    body = b""
    while True:
        size_line, sep, rest = raw.partition(b"\r\n")
        if not sep:
            return body, False
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body, rest == b"\r\n"
        if len(rest) < size + 2 or rest[size : size + 2] != b"\r\n":
            return body + rest[:size], False
        body += rest[:size]
        raw = rest[size + 2 :]


def raw_get(server: GunicornServer, path: str) -> RawResponse:
    """GET over a plain socket, so framing errors are seen, not repaired."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        data = _read_all(sock)
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body, complete = _dechunk(payload)
    else:
        body, complete = payload, len(payload) == int(headers.get("content-length", -1))
    return RawResponse(int(lines[0].split()[1]), headers, body, complete)


def get_state(server: GunicornServer) -> dict[str, int]:
    response = raw_get(server, "/state")
    assert response.status == 200
    state: dict[str, int] = json.loads(response.body)
    return state


def wait_for_state(
    server: GunicornServer, expected: dict[str, int], timeout: float = 5.0
) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        state = get_state(server)
        if all(state[k] == v for k, v in expected.items()) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


@pytest.fixture(
    scope="module",
    params=[("sync", 1), ("gthread", 4)],
    ids=["sync", "gthread"],
)
def server(request: pytest.FixtureRequest) -> t.Iterator[GunicornServer]:
    worker_class, threads = request.param
    with GunicornServer(
        APP, workers=1, worker_class=worker_class, threads=threads, health_path="/health"
    ) as gunicorn:
        yield gunicorn
        log = gunicorn.log_text()
    # gunicorn's own message when an app's iterable raises: never ours.
    assert "Error handling request" not in log
    assert "WORKER TIMEOUT" not in log


@pytest.mark.parametrize("style", ["plain", "context", "response"])
def test_stream_error_mid_stream_is_event_pair(server: GunicornServer, style: str) -> None:
    response = raw_get(server, f"/events/fail?n=2&style={style}")
    assert response.status == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.complete
    events = parse_events(response.body.decode())
    assert [name for name, _ in events] == ["progress", "progress", "error", "close"]
    assert events[2][1] == {
        "code": "PROCESSING_ERROR",
        "message": "Failed to generate model",
        "file_id": "file_003",
        "correlation_id": response.headers["x-request-id"],
    }
    assert events[3][1] == {"reason": "error"}


def test_crash_mid_stream_hides_the_exception(server: GunicornServer) -> None:
    response = raw_get(server, "/events/crash?n=1")
    assert response.complete
    assert b"secret" not in response.body and b"Traceback" not in response.body
    events = parse_events(response.body.decode())
    assert [name for name, _ in events] == ["progress", "error", "close"]
    assert events[1][1]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = events[1][1]["details"]["error_id"]
    # The traceback is in the server's log, findable by the ids.
    log = server.wait_for_log(error_id)
    assert response.headers["x-request-id"] in log


def test_stream_without_error_ends_cleanly(server: GunicornServer) -> None:
    response = raw_get(server, "/events/ok?n=3&style=context")
    assert response.complete
    names = [name for name, _ in parse_events(response.body.decode())]
    assert names == ["progress", "progress", "progress", "done"]


def test_error_before_first_event_is_json(server: GunicornServer) -> None:
    response = raw_get(server, "/events/before")
    assert response.status == 404
    assert response.headers["content-type"] == "application/json"
    assert response.complete
    assert json.loads(response.body)["detail"]["code"] == "JOB_NOT_FOUND"


def test_client_disconnect_mid_stream_holds_nothing(server: GunicornServer) -> None:
    before = wait_for_state(server, {"open_streams": 0, "slots": 0})
    assert (before["open_streams"], before["slots"]) == (0, 0)
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(b"GET /events/forever?delay=0.02 HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while received.count(b"event: progress") < 2:
                received += sock.recv(4096)
            assert b"200 OK" in received
        finally:
            # Abort (RST), as a client that crashed or lost its network would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        # A sync worker only answers this once the abandoned stream is gone.
        state = wait_for_state(server, {"open_streams": 0, "slots": 0})
        assert (state["open_streams"], state["slots"]) == (0, 0)
    assert state["finished_streams"] == before["finished_streams"] + 2
    assert state["slots_released"] == before["slots_released"] + 2
    assert raw_get(server, "/health").status == 200


def test_client_disconnect_frees_the_concurrency_slot(server: GunicornServer) -> None:
    assert wait_for_state(server, {"in_flight": 0})["in_flight"] == 0
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(b"GET /limited/forever HTTP/1.1\r\nHost: test\r\n\r\n")
        received = b""
        while b"event: progress" not in received:
            received += sock.recv(4096)
        if server.worker_class == "gthread":
            # While the stream runs, its slot is taken: a second one is refused.
            refused = raw_get(server, "/limited/ok")
            assert refused.status == 429
            assert json.loads(refused.body)["error_code"] == "CONCURRENT_LIMIT_EXCEEDED"
    finally:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    assert wait_for_state(server, {"in_flight": 0})["in_flight"] == 0
    again = raw_get(server, "/limited/ok?n=1")
    assert again.status == 200 and again.complete
