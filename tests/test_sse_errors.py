"""flask_apierrors.sse.events in an app: an error raised mid-stream is the
error event pair, rendered as the error handler renders it, logged, and
valid whatever its text."""

from __future__ import annotations

import logging
import sqlite3
import typing as t

import pytest
from flask import Flask

from flask_apierrors import ApiError
from flask_apierrors.sse import event_context
from flask_apierrors.sse import event_stream
from flask_apierrors.sse import sse_event
from tests.conftest import MakeApp
from tests.test_sse import parse_events
from tests.test_sse import processing_app


def _http_fields(fmt: str, body: dict[str, t.Any]) -> tuple[str, str, t.Any]:
    """(code, message, details) of an HTTP error body in ``fmt``."""
    if fmt == "error":
        return body["error"], body["message"], body.get("details")
    if fmt == "error_code":
        return body["error_code"], body["message"], body.get("details")
    if fmt == "detail":
        inner = body["detail"]
        return inner["code"], inner["message"], inner.get("details")
    return body["code"], body["detail"], body.get("details")


@pytest.mark.parametrize(
    ("fmt", "expected_code"),
    [
        ("error", "job_not_found"),
        ("error_code", "JOB_NOT_FOUND"),
        ("detail", "JOB_NOT_FOUND"),
        ("problem", "job_not_found"),
    ],
)
def test_event_matches_http_body_in_every_format(
    make_app: MakeApp, fmt: str, expected_code: str
) -> None:
    app, errors = make_app(format=fmt)
    errors.catalog.add("job_not_found", 404, "Job not found")

    def fail() -> t.NoReturn:
        raise ApiError("job_not_found", details={"job_id": "batch_1"})

    @app.get("/plain")
    def plain() -> str:
        fail()

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        fail()

    client = app.test_client()
    http = client.get("/plain")
    assert http.status_code == 404
    code, message, details = _http_fields(fmt, http.get_json())
    events = parse_events(client.get("/stream").get_data(as_text=True))
    error = events[1][1]
    assert (error["code"], error["message"], error["details"]) == (code, message, details)
    assert error["code"] == expected_code
    assert events[2] == ("close", {"reason": "error"})


def test_unhandled_exception_mid_stream_hides_its_text(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = processing_app(make_app)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise RuntimeError("secret: /srv/keys/model.pem")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/stream")
    text = response.get_data(as_text=True)
    assert "secret" not in text and "RuntimeError" not in text
    name, data = parse_events(text)[1]
    assert name == "error"
    assert data["code"] == "INTERNAL_SERVER_ERROR"
    error_id = data["details"]["error_id"]
    assert error_id.startswith("err_")
    # The error handler's one log line, with both ids.
    records = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(records) == 1
    assert (
        records[0]
        .getMessage()
        .endswith(f"[error_id={error_id} correlation_id={data['correlation_id']}]")
    )
    assert data["correlation_id"] == response.headers["X-Request-ID"]
    assert records[0].exc_info is not None and "secret" in str(records[0].exc_info[1])


def _cut_feed(library: str) -> Exception:
    if library == "httpx":
        import httpx

        return httpx.RemoteProtocolError("peer closed connection: https://u:pw@feed.internal/x")
    import requests

    return requests.exceptions.ChunkedEncodingError("Connection broken: feed.internal")


@pytest.mark.parametrize("library", ["httpx", "requests"])
def test_an_http_clients_failure_mid_stream_is_the_502_a_view_gives(
    make_app: MakeApp, library: str
) -> None:
    # The event was internal_server_error: only a plain view's error went
    # through the converters of the InternalServerError Flask wraps it in.
    app, errors = make_app(format="error")
    app.config["TESTING"] = False

    @app.get("/view")
    def view() -> str:
        raise _cut_feed(library)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise _cut_feed(library)

    plain = app.test_client().get("/view").get_json()
    text = app.test_client().get("/stream").get_data(as_text=True)
    name, data = parse_events(text)[1]
    assert name == "error" and data["code"] == plain["error"] == "bad_gateway"
    assert data["details"] == plain["details"]
    assert "feed.internal" not in text and "pw@" not in text
    with app.test_request_context("/"):
        assert errors.problem_for(_cut_feed(library)).status == 502


def test_registered_exception_mid_stream(make_app: MakeApp) -> None:
    app, errors = make_app(format="error")
    errors.catalog.add("database_error", 500, "Database operation failed")
    errors.register_exception(sqlite3.OperationalError, "database_error")

    @app.get("/stream")
    @event_stream(context={"job_id": "batch_1"})
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise sqlite3.OperationalError("database is locked: /var/db/secret.sqlite")

    text = app.test_client().get("/stream").get_data(as_text=True)
    data = parse_events(text)[1][1]
    assert "secret" not in text
    assert (data["code"], data["message"], data["job_id"]) == (
        "database_error",
        "Database operation failed",
        "batch_1",
    )


def test_unencodable_details_are_written_as_their_text(make_app: MakeApp) -> None:
    app = processing_app(make_app)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise ApiError("PROCESSING_ERROR", details={"value": object()})

    data = parse_events(app.test_client().get("/stream").get_data(as_text=True))[1][1]
    # As the HTTP body of the same error writes them.
    assert (data["code"], data["details"]) == ("PROCESSING_ERROR", {"value": "<object>"})


def test_unrenderable_error_still_ends_the_stream(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app, errors = make_app(format="error_code")

    def broken(e: BaseException, ctx: t.Any) -> t.NoReturn:
        raise RuntimeError("converter bug")

    errors.register_converter(KeyError, broken)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise KeyError("secret")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/stream")
        events = parse_events(response.get_data(as_text=True))
    # The app's fallback 500, in the app's format, with an id for the log.
    name, data = events[1]
    assert name == "error" and events[2:] == [("close", {"reason": "error"})]
    assert (data["code"], data["message"]) == (
        "INTERNAL_SERVER_ERROR",
        "An unexpected error occurred",
    )
    assert data["correlation_id"] == response.headers["X-Request-ID"]
    error_id = data["details"]["error_id"]
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert data["correlation_id"] in record.getMessage()
    # The traceback is the rendering failure's, raised while handling the error.
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert isinstance(record.exc_info[1].__context__, KeyError)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ApiError("PROCESSING_ERROR", "broken \ud800 text"), "broken \ud800 text"),
        (
            ApiError("PROCESSING_ERROR", details={"\udfff": "x", "value": "\ud83d"}),
            "Failed to process image",
        ),
    ],
    ids=["message", "detail"],
)
def test_lone_surrogates_keep_the_stream_valid(
    make_app: MakeApp, error: ApiError, message: str
) -> None:
    app = processing_app(make_app)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        with event_context(**{"key\ud800": "value\udc00"}):
            raise error

    raw = app.test_client().get("/stream").get_data()
    text = raw.decode("utf-8")  # valid UTF-8: the escapes are ASCII
    events = parse_events(text)
    assert [name for name, _ in events] == [None, "error", "close"]
    data = events[1][1]
    assert data["code"] == "PROCESSING_ERROR"
    assert data["key\ud800"] == "value\udc00"
    assert data["message"] == message
    assert data.get("details", {}) == dict(error.details)


def test_stream_without_the_extension() -> None:
    app = Flask(__name__)

    @app.get("/stream")
    @event_stream(context={"job_id": "j1"})
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise ApiError("job_failed", "Job failed", status=500, details={"step": 2})

    @app.get("/crash")
    @event_stream
    def crash() -> t.Iterator[str]:
        yield sse_event("started")
        raise KeyError("secret")

    client = app.test_client()
    events = parse_events(client.get("/stream").get_data(as_text=True))
    assert events[1] == (
        "error",
        {"code": "job_failed", "message": "Job failed", "details": {"step": 2}, "job_id": "j1"},
    )
    text = client.get("/crash").get_data(as_text=True)
    assert "secret" not in text
    data = parse_events(text)[1][1]
    assert data["code"] == "internal_server_error"
    assert data["details"]["error_id"].startswith("err_")


def test_client_errors_mid_stream_are_logged_when_asked(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app(log_client_errors=True)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise ApiError("not_found", "Item not found")

    with caplog.at_level(logging.INFO):
        response = app.test_client().get("/stream")
        response.get_data()  # the stream runs as it is read
    cid = response.headers["X-Request-ID"]
    (record,) = [r for r in caplog.records if cid in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.getMessage() == f"404 not_found: Item not found [correlation_id={cid}]"
