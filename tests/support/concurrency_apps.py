"""An app whose views ConcurrencyLimiter limits per X-Key on memory storage,
and helpers that count its slots and hold a streamed response open."""

from __future__ import annotations

import time
import typing as t

from flask import Flask
from flask import Response
from flask import request
from flask import stream_with_context
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter


class Setup(t.NamedTuple):
    app: Flask
    limiter: ConcurrencyLimiter
    events: list[str]


def setup_app(limit: int = 2, **options: t.Any) -> Setup:
    """An app whose views are limited to ``limit`` in flight per X-Key."""
    app = Flask("concurrency")
    app.config["TESTING"] = True
    ApiErrors(app, format="error")
    limiter = ConcurrencyLimiter(app, key_func=lambda: request.headers.get("X-Key"), **options)
    events: list[str] = []

    @app.get("/ok")
    @limiter.limit(limit, scope="shared")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/stream")
    @limiter.limit(limit, scope="shared")
    def stream() -> Response:
        def generate() -> t.Iterator[str]:
            try:
                for i in range(int(request.args.get("chunks", "3"))):
                    yield f"data: {i}\n\n"
                    time.sleep(float(request.args.get("pause", "0")))
            finally:
                events.append("generator closed")

        return Response(stream_with_context(generate()), mimetype="text/event-stream")

    @app.get("/hold")
    @limiter.limit(limit, scope="shared")
    def hold() -> Response:
        return Response(iter(["held"]))

    @app.get("/api-error")
    @limiter.limit(limit, scope="shared")
    def api_error() -> str:
        raise ApiError("not_found")

    @app.get("/crash")
    @limiter.limit(limit, scope="shared")
    def crash() -> str:
        raise RuntimeError("boom")

    return Setup(app, limiter, events)


def in_flight(setup: Setup, key: str = "k", scope: str = "shared") -> int:
    with setup.app.test_request_context():
        return setup.limiter.in_flight(key, scope)


def hold(client: FlaskClient, path: str = "/hold", key: str = "k") -> TestResponse:
    """A streamed response that is open (not yet closed by the server)."""
    response = client.get(path, headers={"X-Key": key})
    assert response.status_code == 200
    return response
