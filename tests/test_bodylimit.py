from __future__ import annotations

import io
import typing as t

import pytest
from flask import Flask
from flask import request

from tests.apps.uploads_app import APP_LIMIT

from .conftest import MakeApp
from .support.servers import GunicornServer
from .test_uploads_gunicorn import chunk_frames
from .test_uploads_gunicorn import exchange
from .test_uploads_gunicorn import json_error
from .test_uploads_gunicorn import request_head


class BrokenStream(io.RawIOBase):
    """A server's input stream that fails mid-body (broken chunk framing)."""

    def readinto(self, buffer: t.Any) -> int:
        raise ValueError("Invalid chunk size")


def _chunked_environ(stream: t.IO[bytes]) -> dict[str, t.Any]:
    return {
        "wsgi.input": stream,
        "wsgi.input_terminated": True,
        "HTTP_TRANSFER_ENCODING": "chunked",
    }


@pytest.fixture
def echo_app(make_app: MakeApp) -> Flask:
    app, _ = make_app(config={"MAX_CONTENT_LENGTH": 100})

    @app.post("/echo")
    def echo() -> dict[str, int]:
        return {"bytes": len(request.get_data())}

    return app


@pytest.mark.parametrize("size", [0, 1, 100])
def test_streamed_body_within_the_limit_is_read_whole(echo_app: Flask, size: int) -> None:
    environ = _chunked_environ(io.BytesIO(b"x" * size))
    response = echo_app.test_client().post("/echo", environ_overrides=environ)
    assert response.status_code == 200
    assert response.get_json() == {"bytes": size}


@pytest.mark.parametrize("size", [101, 10_000])
def test_streamed_body_over_the_limit_is_a_413(echo_app: Flask, size: int) -> None:
    environ = _chunked_environ(io.BytesIO(b"x" * size))
    response = echo_app.test_client().post("/echo", environ_overrides=environ)
    assert response.status_code == 413
    assert response.get_json()["details"] == {"max_size": 100, "size_limit": "100B"}


def test_broken_framing_is_a_400(echo_app: Flask) -> None:
    environ = _chunked_environ(t.cast(t.IO[bytes], BrokenStream()))
    response = echo_app.test_client().post("/echo", environ_overrides=environ)
    assert response.status_code == 400
    body = response.get_json()
    assert (body["error"], body["message"]) == ("bad_request", "Malformed request body")
    assert "chunk" not in response.get_data(as_text=True)


def test_can_be_switched_off(make_app: MakeApp) -> None:
    app, _ = make_app(config={"MAX_CONTENT_LENGTH": 100}, buffer_streamed_bodies=False)

    @app.post("/echo")
    def echo() -> dict[str, int]:
        return {"bytes": len(request.get_data())}

    environ = _chunked_environ(io.BytesIO(b"x" * 500))
    # Werkzeug alone cuts the body off at the limit.
    assert app.test_client().post("/echo", environ_overrides=environ).get_json() == {"bytes": 100}


def test_bodies_with_a_length_are_left_to_werkzeug(echo_app: Flask) -> None:
    response = echo_app.test_client().post("/echo", data=b"x" * 50)
    assert response.get_json() == {"bytes": 50}
    assert echo_app.test_client().post("/echo", data=b"x" * 500).status_code == 413


class CountingStream(io.BytesIO):
    """A server's input stream that counts what the app read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


@pytest.mark.parametrize("size", [1_500_000, 2_000_000])
def test_a_view_that_raises_its_limit_gets_every_byte(make_app: MakeApp, size: int) -> None:
    app, _ = make_app(config={"MAX_CONTENT_LENGTH": 1000})
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    @app.post("/upload")
    def upload() -> dict[str, t.Any]:
        request.max_content_length = 2_000_000
        data = request.get_data()
        return {"bytes": len(data), "same": data == payload}

    environ = _chunked_environ(io.BytesIO(payload))
    response = app.test_client().post("/upload", environ_overrides=environ)
    assert response.get_json() == {"bytes": size, "same": True}


def test_a_view_that_raises_its_limit_still_gets_a_413_past_it(make_app: MakeApp) -> None:
    app, _ = make_app(config={"MAX_CONTENT_LENGTH": 1000})

    @app.post("/upload")
    def upload() -> dict[str, t.Any]:
        request.max_content_length = 5000
        return {"bytes": len(request.get_data())}

    environ = _chunked_environ(io.BytesIO(b"x" * 5001))
    response = app.test_client().post("/upload", environ_overrides=environ)
    assert response.status_code == 413
    assert response.get_json()["details"] == {"max_size": 5000, "size_limit": "5KB"}


@pytest.mark.parametrize("path", ["/no/such/route", "/echo"])
def test_a_body_nobody_reads_is_not_read(echo_app: Flask, path: str) -> None:
    @echo_app.post("/ignore")
    def ignore() -> dict[str, bool]:
        return {"ok": True}

    stream = CountingStream(b"x" * 10_000)
    environ = _chunked_environ(stream)
    target = "/ignore" if path == "/echo" else path
    response = echo_app.test_client().post(target, environ_overrides=environ)
    assert response.status_code == (200 if path == "/echo" else 404)
    assert stream.bytes_read == 0


# -- transfer-coding lists ------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip, chunked", "GZIP ,Chunked", "gzip,deflate,  chunked"])
def test_a_coding_list_ending_in_chunked_is_under_the_limit(echo_app: Flask, coding: str) -> None:
    environ = {**_chunked_environ(io.BytesIO(b"x" * 500)), "HTTP_TRANSFER_ENCODING": coding}
    response = echo_app.test_client().post("/echo", environ_overrides=environ)
    assert response.status_code == 413
    assert response.get_json()["details"] == {"max_size": 100, "size_limit": "100B"}


def test_a_coding_list_ending_in_chunked_with_broken_framing_is_a_400(echo_app: Flask) -> None:
    environ = {
        **_chunked_environ(t.cast(t.IO[bytes], BrokenStream())),
        "HTTP_TRANSFER_ENCODING": "gzip, chunked",
    }
    response = echo_app.test_client().post("/echo", environ_overrides=environ)
    assert response.status_code == 400
    assert response.get_json()["message"] == "Malformed request body"


# -- bodies with a Content-Length the server ends itself ------------------------------------------


def _length_environ(stream: t.IO[bytes], length: int) -> dict[str, t.Any]:
    return {"wsgi.input": stream, "wsgi.input_terminated": True, "CONTENT_LENGTH": str(length)}


@pytest.mark.parametrize("limit", [100, None])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/octet-stream", b"x" * 80, id="raw"),
        pytest.param("application/json", b'{"text": "' + b"x" * 70 + b'"}', id="json"),
        pytest.param("application/x-www-form-urlencoded", b"a=" + b"x" * 78, id="form"),
        pytest.param(
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
            + b"x" * 20
            + b"\r\n--b--\r\n",
            id="multipart",
        ),
    ],
)
def test_a_body_shorter_than_its_length_is_a_400(
    make_app: MakeApp, limit: int | None, content_type: str, body: bytes
) -> None:
    # gunicorn hands over what a client that half-closed early sent.
    app, _ = make_app(config={"MAX_CONTENT_LENGTH": limit})

    @app.post("/read")
    def read() -> dict[str, t.Any]:
        return {"bytes": len(request.get_data()), "form": len(request.form)}

    environ = _length_environ(io.BytesIO(body[: len(body) // 2]), len(body))
    response = app.test_client().post(
        "/read", data=body, content_type=content_type, environ_overrides=environ
    )
    assert response.status_code == 400
    error = response.get_json()
    assert (error["error"], error["message"]) == ("bad_request", "Incomplete request body")


def test_a_body_of_its_length_is_read_whole_and_no_further(echo_app: Flask) -> None:
    stream = io.BytesIO(b"x" * 60 + b"next request")
    response = echo_app.test_client().post("/echo", environ_overrides=_length_environ(stream, 60))
    assert response.get_json() == {"bytes": 60}
    assert stream.tell() == 60


class _CountingStream(io.BytesIO):
    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)

    def readinto(self, buffer: t.Any) -> int:
        self.reads += 1
        return super().readinto(buffer)


def test_reading_a_length_body_by_lines_reads_the_servers_stream_in_blocks(
    make_app: MakeApp,
) -> None:
    # Werkzeug's LimitedStream has no readline of its own: io's fallback read
    # one byte at a time (50 times slower for an NDJSON upload).
    body = b"".join(b'{"n": %d}\n' % n for n in range(2000))
    stream = _CountingStream(body)
    app, _ = make_app()

    @app.post("/lines")
    def lines() -> dict[str, int]:
        return {"lines": sum(1 for _ in request.stream)}

    environ = _length_environ(stream, len(body))
    response = app.test_client().post("/lines", environ_overrides=environ)
    assert response.get_json() == {"lines": 2000}
    assert stream.reads < 100, stream.reads


@pytest.mark.parametrize(
    "environ",
    [
        {"wsgi.input_terminated": True},
        {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        {"wsgi.input_terminated": True, "CONTENT_LENGTH": "0"},
    ],
)
def test_a_request_without_a_body_keeps_the_servers_stream(
    echo_app: Flask, environ: dict[str, t.Any]
) -> None:
    stream = io.BytesIO()

    @echo_app.get("/stream")
    def stream_view() -> dict[str, bool]:
        return {"own": request.environ["wsgi.input"] is stream}

    environ = {**environ, "wsgi.input": stream}
    response = echo_app.test_client().get("/stream", environ_overrides=environ)
    assert response.get_json() == {"own": True}


# -- through gunicorn ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def uploads_server() -> t.Iterator[GunicornServer]:
    with GunicornServer(
        "tests.apps.uploads_app:app", worker_class="gthread", threads=2, health_path="/health"
    ) as srv:
        yield srv
        log = srv.log_text()
    assert "Traceback" not in log


@pytest.mark.slow
def test_gunicorn_coding_list_ending_in_chunked(uploads_server: GunicornServer) -> None:
    head = request_head("/small", {"Transfer-Encoding": "gzip, chunked"})
    over = exchange(uploads_server.port, head, chunk_frames(b"x" * (APP_LIMIT + 1), 65536))
    assert json_error(over, 413)["details"]["max_size"] == APP_LIMIT
    broken = exchange(uploads_server.port, head, [b"zz\r\nabc\r\n0\r\n\r\n"])
    assert json_error(broken, 400)["message"] == "Malformed request body"


@pytest.mark.slow
def test_gunicorn_content_length_body_cut_short_is_a_400(uploads_server: GunicornServer) -> None:
    head = request_head("/small", {"Content-Length": "50000"})
    answer = exchange(uploads_server.port, head, [b"a" * 1000], end=True)
    assert json_error(answer, 400)["message"] == "Incomplete request body"
    whole = exchange(uploads_server.port, head, [b"a" * 50000])
    assert whole.status == 200
    assert whole.json()["bytes"] == 50000
