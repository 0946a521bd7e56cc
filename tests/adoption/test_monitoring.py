"""Monitoring sees the 5xx that ApiErrors renders: Sentry (its real SDK,
sending to an ingestion endpoint on loopback) and OpenTelemetry (the SDK's in-memory exporter)."""

from __future__ import annotations

import gzip
import http.server
import json
import logging
import sqlite3
import threading
import typing as t

import pytest
import sentry_sdk
from flask import Flask
from flask import abort
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sentry_sdk.integrations.flask import FlaskIntegration
from werkzeug.exceptions import BadGateway

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors


class Outage(ApiError):
    error_code = "service_unavailable"
    status = 503


def make_app() -> Flask:
    app = Flask("monitored")
    errors = ApiErrors(app)
    errors.register_exception(sqlite3.OperationalError, "internal_server_error")

    @app.get("/api-error")
    def api_error() -> t.NoReturn:
        raise Outage("The store is down")

    @app.get("/registered")
    def registered() -> t.NoReturn:
        raise sqlite3.OperationalError("disk I/O error")

    @app.get("/unhandled")
    def unhandled() -> t.NoReturn:
        raise KeyError("boom")

    @app.get("/abort-500")
    def abort_500() -> t.NoReturn:
        abort(500)

    @app.get("/abort-502")
    def abort_502() -> t.NoReturn:
        abort(502)

    @app.get("/caused")
    def caused() -> t.NoReturn:
        try:
            raise KeyError("missing")
        except KeyError as e:
            raise BadGateway() from e

    @app.get("/api-error-500")
    def api_error_500() -> t.NoReturn:
        raise ApiError("internal_server_error")

    @app.get("/client-error")
    def client_error() -> t.NoReturn:
        raise ApiError("not_found")

    return app


class SentryIngest:
    """A stand-in for Sentry's ingestion endpoint on a loopback port: it
    keeps the events of the envelopes the real SDK sends it over HTTP."""

    def __init__(self) -> None:
        self.events: list[dict[str, t.Any]] = []
        events = self.events

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    data = gzip.decompress(data)
                elif encoding == "br":
                    import brotli  # type: ignore[import-not-found]

                    data = brotli.decompress(data)
                lines = data.split(b"\n")
                for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                    if json.loads(header).get("type") == "event":
                        events.append(json.loads(payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server.server_address[1]}/1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sentry_events() -> t.Iterator[list[dict[str, t.Any]]]:
    # Sentry as apps set it up: the Flask integration and the default ones
    # (the logging integration turns ERROR records into events).
    ingest = SentryIngest()
    sentry_sdk.init(dsn=ingest.dsn, integrations=[FlaskIntegration()])
    try:
        yield ingest.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()
        ingest.close()


def exception_types(events: list[dict[str, t.Any]]) -> list[str | None]:
    """The exception type of every event sent (``None`` for a message event,
    such as one made from a log record)."""
    sentry_sdk.flush(timeout=5)
    return [e["exception"]["values"][-1]["type"] if "exception" in e else None for e in events]


@pytest.mark.parametrize(
    ("path", "status", "exception"),
    [
        ("/api-error", 503, "Outage"),
        ("/registered", 500, "OperationalError"),
        ("/unhandled", 500, "KeyError"),
        ("/abort-500", 500, "InternalServerError"),
        ("/abort-502", 502, "BadGateway"),
        ("/caused", 502, "BadGateway"),
        ("/api-error-500", 500, "ApiError"),
    ],
)
def test_sentry_captures_each_5xx_once(
    sentry_events: list[dict[str, t.Any]], path: str, status: int, exception: str
) -> None:
    app = make_app()
    response = app.test_client().get(path)
    assert response.status_code == status
    assert exception_types(sentry_events) == [exception]
    (event,) = sentry_events
    # The ids the client sees find the event.
    assert event["tags"]["correlation_id"] == response.headers["X-Request-ID"]
    error_id = response.get_json().get("details", {}).get("error_id")
    if error_id is not None:
        assert event["tags"]["error_id"] == error_id
    else:
        # An id the body and the log line never showed finds nothing.
        assert "error_id" not in event["tags"]


def test_sentry_does_not_capture_client_errors(sentry_events: list[dict[str, t.Any]]) -> None:
    assert make_app().test_client().get("/client-error").status_code == 404
    assert exception_types(sentry_events) == []


def test_maintenance_and_overload_are_not_reported_as_faults(
    sentry_events: list[dict[str, t.Any]], caplog: pytest.LogCaptureFixture
) -> None:
    # Every request of a maintenance window was a Sentry error event.
    from flask_apierrors.availability import Maintenance
    from flask_apierrors.availability import OverloadedError
    from flask_apierrors.availability import UnavailableError

    down = Flask("down")
    ApiErrors(down, maintenance=True)
    Maintenance(down)
    busy = make_app()

    @busy.get("/busy")
    def overloaded() -> t.NoReturn:
        raise OverloadedError(retry_after=30)

    @busy.get("/unavailable")
    def unavailable() -> t.NoReturn:
        raise UnavailableError("The database is down")

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert down.test_client().get("/anything").status_code == 503
            assert busy.test_client().get("/busy").status_code == 503
    # Still logged, at WARNING, once per request.
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 6
    assert exception_types(sentry_events) == []
    # A 503 of a fault still is reported.
    assert busy.test_client().get("/unavailable").status_code == 503
    assert exception_types(sentry_events) == ["UnavailableError"]


@pytest.fixture
def spans() -> t.Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter, provider
    provider.shutdown()


@pytest.mark.parametrize(
    ("path", "status", "exception"),
    [("/api-error", 503, "Outage"), ("/registered", 500, "OperationalError")],
)
def test_opentelemetry_marks_the_server_span_of_a_rendered_5xx(
    spans: tuple[InMemorySpanExporter, TracerProvider], path: str, status: int, exception: str
) -> None:
    exporter, provider = spans
    app = make_app()
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)  # type: ignore[no-untyped-call]
    try:
        assert app.test_client().get(path).status_code == status
    finally:
        FlaskInstrumentor().uninstrument_app(app)  # type: ignore[no-untyped-call]
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    recorded = [e for e in span.events if e.name == "exception"]
    assert len(recorded) == 1
    assert recorded[0].attributes is not None
    assert str(recorded[0].attributes["exception.type"]).endswith(exception)


def test_opentelemetry_records_an_unhandled_exception_once(
    spans: tuple[InMemorySpanExporter, TracerProvider],
) -> None:
    exporter, provider = spans
    app = make_app()
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)  # type: ignore[no-untyped-call]
    try:
        assert app.test_client().get("/unhandled").status_code == 500
    finally:
        FlaskInstrumentor().uninstrument_app(app)  # type: ignore[no-untyped-call]
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert len([e for e in span.events if e.name == "exception"]) == 1


def test_sentry_captures_a_5xx_that_ends_an_event_stream(
    sentry_events: list[dict[str, t.Any]],
) -> None:
    from flask_apierrors.sse import event_stream
    from flask_apierrors.sse import sse_event

    app = make_app()

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event({"step": 1}, event="progress")
        raise Outage("The store went down midway")

    response = app.test_client().get("/stream")
    text = response.get_data(as_text=True)
    assert "event: error" in text and "event: close" in text
    assert exception_types(sentry_events) == ["Outage"]
