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


def test_large_streamed_body_goes_to_disk_and_is_closed(make_app: MakeApp) -> None:
    size = 1_500_000  # more than bodylimit.SPOOL_BYTES
    app, _ = make_app(config={"MAX_CONTENT_LENGTH": 2_000_000})
    seen: list[t.Any] = []

    @app.post("/echo")
    def echo() -> dict[str, int]:
        seen.append(request.environ["wsgi.input"])
        return {"bytes": len(request.get_data())}

    environ = _chunked_environ(io.BytesIO(b"x" * size))
    response = app.test_client().post("/echo", environ_overrides=environ)
    assert response.get_json() == {"bytes": size}
    assert not isinstance(seen[0], io.BytesIO)
    response.close()
    assert seen[0].closed
