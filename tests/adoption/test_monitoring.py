"""Monitoring sees the 5xx that ApiErrors renders: Sentry (its real SDK,
capturing in-process) and OpenTelemetry (the SDK's in-memory exporter)."""

from __future__ import annotations

import sqlite3
import typing as t

import pytest
import sentry_sdk
from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.transport import Transport

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

    @app.get("/client-error")
    def client_error() -> t.NoReturn:
        raise ApiError("not_found")

    return app


class CapturingTransport(Transport):
    """Keeps the events the SDK would send (nothing leaves the process)."""

    def __init__(self, options: t.Any = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, t.Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event" and item.payload.json is not None:
                self.events.append(item.payload.json)


@pytest.fixture
def sentry_events() -> t.Iterator[list[dict[str, t.Any]]]:
    transport = CapturingTransport()
    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        transport=transport,
        integrations=[FlaskIntegration()],
        default_integrations=False,
    )
    try:
        yield transport.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()


@pytest.mark.parametrize(
    ("path", "status", "exception"),
    [
        ("/api-error", 503, "Outage"),
        ("/registered", 500, "OperationalError"),
        ("/unhandled", 500, "KeyError"),
    ],
)
def test_sentry_captures_each_5xx_once(
    sentry_events: list[dict[str, t.Any]], path: str, status: int, exception: str
) -> None:
    app = make_app()
    response = app.test_client().get(path)
    assert response.status_code == status
    sentry_sdk.flush()
    types = [e["exception"]["values"][-1]["type"] for e in sentry_events if "exception" in e]
    assert types == [exception]


def test_sentry_does_not_capture_client_errors(sentry_events: list[dict[str, t.Any]]) -> None:
    assert make_app().test_client().get("/client-error").status_code == 404
    sentry_sdk.flush()
    assert [e for e in sentry_events if "exception" in e] == []


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
    sentry_sdk.flush()
    types = [e["exception"]["values"][-1]["type"] for e in sentry_events if "exception" in e]
    assert types == ["Outage"]
