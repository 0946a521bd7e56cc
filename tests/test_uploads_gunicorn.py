"""Chunked uploads through a real gunicorn with several workers.

``Transfer-Encoding: chunked`` bodies (sent with http.client from a
generator, or byte for byte on a socket) to routes that raise
``request.max_content_length`` above the app-wide ``MAX_CONTENT_LENGTH``
(:mod:`tests.apps.uploads_app`): every byte arrives (the app echoes a
SHA-256), a body over the raised limit is the JSON 413, a chunked upload to
a route that does not exist is answered before its body is sent, and broken
chunk framing is the JSON 400. (The example app's upload routes:
test_uploads_gunicorn_example.)
"""

from __future__ import annotations

import hashlib
import threading
import time
import typing as t

import pytest

from tests.apps.uploads_app import APP_LIMIT
from tests.apps.uploads_app import UPLOAD_LIMIT

from .support import chunked_uploads
from .support.chunked_uploads import MB
from .support.chunked_uploads import TIMEOUT
from .support.chunked_uploads import Answer
from .support.chunked_uploads import chunk_frames as chunk_frames
from .support.chunked_uploads import exchange as exchange
from .support.chunked_uploads import json_error as json_error
from .support.chunked_uploads import multipart
from .support.chunked_uploads import payload
from .support.chunked_uploads import post
from .support.chunked_uploads import request_head as request_head
from .support.servers import GunicornServer

# (``name as name``: test_bodylimit imports those helpers from this module.)

pytestmark = pytest.mark.slow

APP: t.Final = "tests.apps.uploads_app:app"
WORKERS: t.Final = 3

#: Prints the upload timings at the end of the module.
report_timings = chunked_uploads.report_timings


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
