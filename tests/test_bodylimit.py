from __future__ import annotations

import io
import typing as t

import pytest
from flask import Flask
from flask import request

from .conftest import MakeApp


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
