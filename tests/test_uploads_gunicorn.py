"""Chunked uploads through a real gunicorn with several workers.

``Transfer-Encoding: chunked`` bodies (sent with http.client from a
generator, or byte for byte on a socket) to routes that raise
``request.max_content_length`` above the app-wide ``MAX_CONTENT_LENGTH``
(:mod:`tests.apps.uploads_app`): every byte arrives (the app echoes a
SHA-256), a body over the raised limit is the JSON 413, a chunked upload to
a route that does not exist is answered before its body is sent, and broken
chunk framing is the JSON 400. The example app's upload routes take a
chunked 2 MB upload exactly as they take it with ``Content-Length``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import random
import socket
import sqlite3
import threading
import time
import typing as t
from pathlib import Path

import pytest

from flask_apierrors.correlation import VALID_ID
from tests.apps.uploads_app import APP_LIMIT
from tests.apps.uploads_app import UPLOAD_LIMIT

from .support.example_server import example_gunicorn
from .support.servers import GunicornServer

pytestmark = pytest.mark.slow

APP: t.Final = "tests.apps.uploads_app:app"
EXAMPLE_ADMIN: t.Final = "mel_" + "Up10ad" * 5 + "Ch"
TIMEOUT: t.Final = 30.0
MB: t.Final = 1_000_000
WORKERS: t.Final = 3

#: (what, bytes, seconds) of every upload, printed at the end of the module.
TIMINGS: list[tuple[str, int, float]] = []


@pytest.fixture(scope="module", params=["sync", "gthread"])
def server(request: pytest.FixtureRequest) -> t.Iterator[GunicornServer]:
    with GunicornServer(
        APP,
        workers=WORKERS,
        worker_class=request.param,
        threads=4 if request.param == "gthread" else 1,
        timeout=30,
        health_path="/health",
    ) as srv:
        srv.wait_for_workers(WORKERS)
        yield srv
        log = srv.log_text()
    assert "WORKER TIMEOUT" not in log
    assert "Traceback" not in log


@pytest.fixture(scope="module", autouse=True)
def report_timings() -> t.Iterator[None]:
    yield
    for what, size, seconds in TIMINGS:
        print(f"upload {what}: {size} bytes in {seconds:.3f}s")


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def pieces(data: bytes, seed: int = 0) -> t.Iterator[bytes]:
    """``data`` in pieces of irregular sizes (1 byte to 64 KiB)."""
    rng = random.Random(seed)
    pos = 0
    while pos < len(data):
        n = rng.choice([1, 7, 512, 4096, 16384, 65536])
        yield data[pos : pos + n]
        pos += n


def multipart(name: str, data: bytes, content_type: str, boundary: str = "up-1") -> bytes:
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{name}"; filename="upload.bin"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode()


class Answer(t.NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> t.Any:
        return json.loads(self.body)


def post(
    port: int,
    path: str,
    data: bytes,
    *,
    chunked: bool,
    headers: t.Mapping[str, str] | None = None,
    what: str = "",
) -> Answer:
    """POST ``data`` with http.client: from a generator as chunks, or with
    ``Content-Length``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    started = time.monotonic()
    try:
        if chunked:
            conn.request(
                "POST",
                path,
                body=pieces(data),
                headers={"Transfer-Encoding": "chunked", **(headers or {})},
                encode_chunked=True,
            )
        else:
            conn.request("POST", path, body=data, headers=dict(headers or {}))
        response = conn.getresponse()
        answer = Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()
    if what:
        TIMINGS.append(
            (
                f"{what} {'chunked' if chunked else 'content-length'}",
                len(data),
                time.monotonic() - started,
            )
        )
    return answer


def exchange(
    port: int,
    head: bytes,
    body: t.Iterable[bytes] = (),
    *,
    hold: bool = False,
    end: bool = False,
) -> Answer:
    """Send ``head`` and ``body`` on a socket from a thread while reading the
    answer, as a careful client does (an early answer is not lost to a
    reset); with ``hold``, then keep the connection open without sending
    more, until the answer has come; with ``end``, then end the sending side
    (a half-close: the server reads the end of the body)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    release = threading.Event()

    def send() -> None:
        try:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)
            if end:
                sock.shutdown(socket.SHUT_WR)
            if hold:
                release.wait(TIMEOUT)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = bytearray()
    try:
        while b"\r\n\r\n" not in data or not _complete(bytes(data)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    release.set()
    sender.join(TIMEOUT)
    sock.close()
    head_bytes, _, payload_bytes = bytes(data).partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), bytes(data[:200])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(lines[0].split()[1]), headers, payload_bytes)


def _complete(data: bytes) -> bool:
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def chunk_frames(data: bytes, size: int = 4096) -> t.Iterator[bytes]:
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def request_head(path: str, headers: t.Mapping[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_error(answer: Answer, status: int) -> dict[str, t.Any]:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"].split(";")[0] == "application/json"
    body = json.loads(answer.body)
    assert VALID_ID.fullmatch(answer.headers["x-request-id"])
    assert body["correlation_id"] == answer.headers["x-request-id"]
    return t.cast(dict[str, t.Any], body)


# -- the uploads app -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [1_500_000, 3_000_000], ids=["1.5MB", "3MB"])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_every_byte_arrives(server: GunicornServer, size: int, chunked: bool) -> None:
    data = payload(size)
    answer = post(server.port, "/upload", data, chunked=chunked, what="raw")
    assert answer.status == 200, answer.body[:300]
    assert answer.json()["bytes"] == size
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [1_500_000, 3_000_000], ids=["1.5MB", "3MB"])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_every_byte_of_a_multipart_file_arrives(
    server: GunicornServer, size: int, chunked: bool
) -> None:
    data = payload(size)
    body = multipart("file", data, "application/octet-stream")
    headers = {"Content-Type": "multipart/form-data; boundary=up-1"}
    answer = post(server.port, "/upload-form", body, chunked=chunked, headers=headers, what="form")
    assert answer.status == 200, answer.body[:300]
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_concurrent_chunked_uploads_all_arrive(server: GunicornServer) -> None:
    results: list[tuple[bytes, Answer]] = []

    def one(i: int) -> None:
        data = payload(1_500_000 + i)
        results.append((data, post(server.port, "/upload", data, chunked=True)))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert len(results) == 6
    for data, answer in results:
        assert answer.status == 200
        assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [UPLOAD_LIMIT + 1, 6_000_000], ids=["limit+1", "6MB"])
@pytest.mark.parametrize("path", ["/upload", "/upload-form"])
def test_a_chunked_body_over_the_raised_limit_is_the_json_413(
    server: GunicornServer, size: int, path: str
) -> None:
    head = request_head(
        path,
        {"Transfer-Encoding": "chunked", "Content-Type": "multipart/form-data; boundary=up-1"},
    )
    data = payload(size)
    if path == "/upload-form":
        data = multipart("file", data[:-130], "application/octet-stream")
        assert len(data) == size
    answer = exchange(server.port, head, chunk_frames(data, 65536))
    body = json_error(answer, 413)
    assert body["error"] == "payload_too_large"
    assert body["details"]["max_size"] == UPLOAD_LIMIT
    assert "body_size" not in body["details"]


def test_a_route_that_does_not_raise_keeps_the_app_limit(server: GunicornServer) -> None:
    head = request_head("/small", {"Transfer-Encoding": "chunked"})
    answer = exchange(server.port, head, chunk_frames(payload(APP_LIMIT + 1)))
    assert json_error(answer, 413)["details"]["max_size"] == APP_LIMIT
    within = post(server.port, "/small", payload(APP_LIMIT - 1), chunked=True)
    assert within.json()["bytes"] == APP_LIMIT - 1


@pytest.mark.xfail(
    strict=True,
    reason="Werkzeug's LimitedStream(is_max=True) refuses any read once max_content_length"
    " bytes were read, so a chunked body of exactly the limit is a 413 (with Content-Length"
    " it is accepted)",
)
def test_a_chunked_body_of_exactly_the_limit_is_accepted(server: GunicornServer) -> None:
    answer = post(server.port, "/small", payload(APP_LIMIT), chunked=True)
    assert answer.status == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/no/such/route", 404), ("POST", "/health", 405)],
)
def test_an_upload_to_a_route_that_cannot_take_it_is_answered_unread(
    server: GunicornServer, method: str, path: str, status: int
) -> None:
    # Headers and the first 64 KB of a 3 MB chunked body: the rest is never
    # sent, so the answer comes without the body having been read.
    head = request_head(path, {"Transfer-Encoding": "chunked"}).replace(b"POST", method.encode(), 1)
    first = next(chunk_frames(payload(3 * MB), 65536))
    started = time.monotonic()
    answer = exchange(server.port, head, [first], hold=True)
    json_error(answer, status)
    assert time.monotonic() - started < 5


#: Chunked bodies whose framing is broken: gunicorn's reader refuses them
#: as it reads them, so the app's read fails mid-body.
MALFORMED: t.Final = [
    pytest.param(b"zz\r\nxx\r\n0\r\n\r\n", id="size-not-hex"),
    pytest.param(b"-1\r\nx\r\n0\r\n\r\n", id="negative-size"),
    pytest.param(b"+3\r\nabc\r\n0\r\n\r\n", id="signed-size"),
    pytest.param(b"0x3\r\nabc\r\n0\r\n\r\n", id="0x-size"),
    pytest.param(b"3 \r\nabc\r\n0\r\n\r\n", id="space-after-size"),
    pytest.param(b"3\r\nabcXY0\r\n\r\n", id="no-crlf-after-data"),
    pytest.param(b"5\r\nabc\r\n0\r\n\r\n", id="size-larger-than-data"),
    pytest.param(b"3;a=\x00\r\nabc\r\n0\r\n\r\n", id="nul-in-extension"),
    pytest.param(b"3\r\nabc\r\n0\r\nX-T\x00: 1\r\n\r\n", id="nul-in-trailer"),
]

#: Chunked bodies that end too soon: a server cannot tell them from a slow
#: client until the client ends its side of the connection (then they are
#: broken too).
TRUNCATED: t.Final = [
    pytest.param(b"3\r\nabc\r\n", id="no-last-chunk"),
    pytest.param(b"1000\r\n" + b"x" * 10 + b"\r\nzz\r\n", id="data-shorter-than-size"),
    pytest.param(b"ffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n", id="size-past-64-bits"),
    pytest.param(b"3\nabc\n0\n\n", id="bare-lf"),
]

_FRAMING_HEAD: t.Final = {
    "Transfer-Encoding": "chunked",
    "Content-Type": "multipart/form-data; boundary=up-1",
}


@pytest.mark.parametrize("body", MALFORMED)
@pytest.mark.parametrize("path", ["/upload", "/upload-form"])
def test_malformed_chunk_framing_is_the_json_400(
    server: GunicornServer, body: bytes, path: str
) -> None:
    answer = exchange(server.port, request_head(path, _FRAMING_HEAD), [body])
    body_json = json_error(answer, 400)
    assert (body_json["error"], body_json["message"]) == ("bad_request", "Malformed request body")


@pytest.mark.parametrize("body", TRUNCATED)
@pytest.mark.parametrize("path", ["/upload", "/upload-form"])
def test_a_chunked_body_cut_short_is_the_json_400(
    server: GunicornServer, body: bytes, path: str
) -> None:
    answer = exchange(server.port, request_head(path, _FRAMING_HEAD), [body], end=True)
    assert json_error(answer, 400)["error"] == "bad_request"


def test_several_workers_served(server: GunicornServer) -> None:
    pids = set()
    for _ in range(30):
        answer = post(server.port, "/upload", b"x" * 10, chunked=True)
        pids.add(answer.json()["pid"])
    assert len(set(server.worker_pids())) == WORKERS
    assert pids <= set(server.worker_pids())


# -- the example app -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[GunicornServer, Path]]:
    instance = tmp_path_factory.mktemp("uploads") / "instance"
    env = {"EXAMPLE_APP_INSTANCE_PATH": str(instance), "EXAMPLE_APP_ADMIN_KEY": EXAMPLE_ADMIN}
    with example_gunicorn(env, workers=2, worker_class="gthread", threads=4) as srv:
        # Up: /health answered (the master's children include the stand-in
        # generation service, so workers are not counted here).
        yield srv, instance


#: Values that differ between two uploads of the same file.
VOLATILE: t.Final = frozenset({"id", "file_id", "job_id", "created_at", "status"})


def _stable(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_example_file_upload_takes_chunked_as_content_length(
    example: tuple[GunicornServer, Path],
) -> None:
    server, instance = example
    data = bytes(random.Random(2).choices(b"abcdefghij \n", k=2 * MB))
    body = multipart("file", data, "text/plain", boundary="example-boundary")
    headers = {
        "Authorization": f"Bearer {EXAMPLE_ADMIN}",
        "Content-Type": "multipart/form-data; boundary=example-boundary",
    }
    answers = {
        chunked: post(server.port, "/files", body, chunked=chunked, headers=headers, what="/files")
        for chunked in (False, True)
    }
    for answer in answers.values():
        assert answer.status == 201, answer.body[:300]
        assert answer.json()["bytes"] == 2 * MB
    assert _stable(answers[True].json()) == _stable(answers[False].json())
    with contextlib.closing(sqlite3.connect(instance / "example_app.sqlite3")) as db:
        stored = {row[0] for row in db.execute("SELECT sha256 FROM files")}
    assert stored == {hashlib.sha256(data).hexdigest()}


def test_example_batch_upload_takes_chunked_as_content_length(
    example: tuple[GunicornServer, Path],
) -> None:
    server, instance = example
    png = b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(2 * MB - 8)
    body = multipart("files", png, "image/png", boundary="batch-boundary")
    body = body.replace(b'filename="upload.bin"', b'filename="photo.png"')
    headers = {
        "X-API-Key": EXAMPLE_ADMIN,
        "Content-Type": "multipart/form-data; boundary=batch-boundary",
    }
    answers = {
        chunked: post(
            server.port,
            "/api/v1/batch/upload",
            body,
            chunked=chunked,
            headers=headers,
            what="batch",
        )
        for chunked in (False, True)
    }
    for answer in answers.values():
        assert answer.status == 202, answer.body[:300]
        job_id = answer.json()["job_id"]
        saved = list((instance / "uploads" / job_id).iterdir())
        assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in saved] == [
            hashlib.sha256(png).hexdigest()
        ]
    assert _stable(answers[True].json()) == _stable(answers[False].json())


def test_example_chunked_json_over_its_limit_is_the_json_413(
    example: tuple[GunicornServer, Path],
) -> None:
    server, _ = example
    head = request_head(
        "/chat/completions",
        {
            "Authorization": f"Bearer {EXAMPLE_ADMIN}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    answer = exchange(server.port, head, chunk_frames(b" " * (2 * MB), 65536))
    assert answer.status == 413
    assert json.loads(answer.body)["correlation_id"] == answer.headers["x-request-id"]
