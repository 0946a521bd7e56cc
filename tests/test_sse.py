"""Tests of flask_apierrors.sse: errors of event streams as SSE event pairs."""

from __future__ import annotations

import json
import logging
import sqlite3
import typing as t

import pytest
from flask import Flask
from flask import Response
from flask import has_request_context
from flask import stream_with_context

from flask_apierrors import ApiError
from flask_apierrors import Problem
from flask_apierrors.sse import close_event
from flask_apierrors.sse import error_data
from flask_apierrors.sse import error_events
from flask_apierrors.sse import event_context
from flask_apierrors.sse import event_stream
from flask_apierrors.sse import sse_event
from flask_apierrors.sse import stream_events
from tests.conftest import MakeApp

#: The first documented API's "WebSocket/SSE Error Events" example.
DOCUMENTED_EVENTS = (
    "event: error\n"
    'data: {"code": "PROCESSING_ERROR", "message": "Failed to generate model",'
    ' "file_id": "file_001"}\n'
    "\n"
    "event: close\n"
    'data: {"reason": "error"}\n'
    "\n"
)

STYLES = ("plain", "context", "response")


def parse_events(text: str) -> list[tuple[str | None, t.Any]]:
    """``(event name, data)`` of each event; data parsed as JSON when it is."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data_lines = []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data_lines.append(value)
        data = "\n".join(data_lines)
        try:
            events.append((name, json.loads(data)))
        except ValueError:
            events.append((name, data))
    return events


def styled(gen: t.Iterator[str], style: str) -> t.Any:
    """What a view returns for ``gen`` in each supported style."""
    if style == "context":
        return stream_with_context(gen)
    if style == "response":
        return Response(gen, mimetype="text/event-stream")
    return gen


# -- framing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"data": {"a": 1}}, 'data: {"a": 1}\n\n'),
        ({"data": "one\ntwo"}, "data: one\ndata: two\n\n"),
        ({"data": ""}, "data: \n\n"),
        ({"data": [1, 2], "event": "progress"}, "event: progress\ndata: [1, 2]\n\n"),
        (
            {"data": "x", "event": "e", "id": "7", "retry": 1500},
            "event: e\nid: 7\nretry: 1500\ndata: x\n\n",
        ),
        ({"data": {"text": "a\nb"}}, 'data: {"text": "a\\nb"}\n\n'),
    ],
)
def test_sse_event_framing(kwargs: dict[str, t.Any], expected: str) -> None:
    assert sse_event(**kwargs) == expected


@pytest.mark.parametrize("field", ["event", "id"])
def test_sse_event_rejects_line_breaks(field: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        sse_event("x", **t.cast(dict[str, t.Any], {field: "a\nevent: forged"}))


def test_close_event() -> None:
    assert close_event() == 'event: close\ndata: {"reason": "error"}\n\n'
    assert parse_events(close_event("done")) == [("close", {"reason": "done"})]


def test_documented_event_pair_from_a_problem_without_app() -> None:
    problem = Problem(status=500, code="PROCESSING_ERROR", message="Failed to generate model")
    assert error_events(problem, file_id="file_001") == DOCUMENTED_EVENTS


@pytest.mark.parametrize("key", ["code", "message", "details", "correlation_id"])
def test_context_cannot_replace_error_fields(key: str) -> None:
    problem = Problem(status=500, code="x", message="y")
    with pytest.raises(ValueError, match=key):
        error_data(problem, **{key: "forged"})
    with pytest.raises(ValueError, match=key), event_context(**{key: "forged"}):
        pass


# -- streams in an app ----------------------------------------------------------


def processing_app(make_app: MakeApp, fmt: str = "error_code") -> Flask:
    app, errors = make_app(format=fmt)
    errors.catalog.add("PROCESSING_ERROR", 500, "Failed to process image", format="detail")
    return app


@pytest.mark.parametrize("style", STYLES)
def test_documented_example_mid_stream(make_app: MakeApp, style: str) -> None:
    app = processing_app(make_app)

    def generate() -> t.Iterator[str]:
        yield sse_event({"file_id": "file_000", "status": "completed"}, event="progress")
        with event_context(file_id="file_001"):
            raise ApiError("PROCESSING_ERROR", "Failed to generate model")

    @app.get("/stream")
    @event_stream
    def stream() -> t.Any:
        return styled(generate(), style)

    response = app.test_client().get("/stream")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    text = response.get_data(as_text=True)
    events = parse_events(text)
    assert [name for name, _ in events] == ["progress", "error", "close"]
    cid = response.headers["X-Request-ID"]
    assert events[1][1]["correlation_id"] == cid
    # Exactly the documented text, plus our correlation id at the end.
    assert text.endswith(
        DOCUMENTED_EVENTS.replace('"file_001"}', f'"file_001", "correlation_id": "{cid}"}}')
    )


def test_documented_example_without_correlation_id(make_app: MakeApp) -> None:
    app, errors = make_app(format="error_code", include_correlation_id=False)
    errors.catalog.add("PROCESSING_ERROR", 500, "Failed to process image", format="detail")

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event({"file_id": "file_000"}, event="progress")
        with event_context(file_id="file_001"):
            raise ApiError("PROCESSING_ERROR", "Failed to generate model")

    text = app.test_client().get("/stream").get_data(as_text=True)
    assert text == sse_event({"file_id": "file_000"}, event="progress") + DOCUMENTED_EVENTS


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


@pytest.mark.parametrize("style", STYLES)
def test_error_before_first_event_is_a_json_response(make_app: MakeApp, style: str) -> None:
    app = processing_app(make_app)
    closed: list[bool] = []

    def generate() -> t.Iterator[str]:
        try:
            raise ApiError("not_found", "Job not found", details={"job_id": "x"})
            yield "never"
        finally:
            closed.append(True)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Any:
        return styled(generate(), style)

    response = app.test_client().get("/stream")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["details"] == {"job_id": "x"}
    assert response.get_json()["error_code"] == "NOT_FOUND"
    assert closed == [True]


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
    records = [r for r in caplog.records if "event stream" in r.getMessage()]
    assert len(records) == 1
    assert error_id in records[0].getMessage()
    assert data["correlation_id"] in records[0].getMessage()
    assert records[0].exc_info is not None and "secret" in str(records[0].exc_info[1])


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


def test_event_context_nests_innermost_wins(make_app: MakeApp) -> None:
    app = processing_app(make_app)
    context = {"job_id": "batch_9", "stage": "upload"}

    @app.get("/stream")
    def stream() -> Response:
        def generate() -> t.Iterator[str]:
            yield sse_event("started")
            context["stage"] = "generation"  # the stream's context is read at error time
            with event_context(file_id="outer", attempt=1), event_context(file_id="inner"):
                raise ApiError("PROCESSING_ERROR", "Failed to generate model")

        return stream_events(generate(), context=context)

    data = parse_events(app.test_client().get("/stream").get_data(as_text=True))[1][1]
    assert {k: data[k] for k in ("job_id", "stage", "file_id", "attempt")} == {
        "job_id": "batch_9",
        "stage": "generation",
        "file_id": "inner",
        "attempt": 1,
    }
    assert list(data)[-1] == "correlation_id"


def test_unrenderable_error_still_ends_the_stream(make_app: MakeApp) -> None:
    app = processing_app(make_app)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event("started")
        raise ApiError("PROCESSING_ERROR", details={"value": object()})

    events = parse_events(app.test_client().get("/stream").get_data(as_text=True))
    assert events[1:] == [
        ("error", {"code": "internal_server_error", "message": "An unexpected error occurred"}),
        ("close", {"reason": "error"}),
    ]


@pytest.mark.parametrize("style", STYLES)
def test_closing_mid_stream_releases_everything(make_app: MakeApp, style: str) -> None:
    """A client that goes away: the WSGI server closes the response."""
    app = processing_app(make_app)
    finished: list[str] = []
    released: list[str] = []

    def generate() -> t.Iterator[str]:
        try:
            n = 0
            while True:
                n += 1
                yield sse_event({"n": n}, event="progress")
        finally:
            finished.append("generator")

    @app.get("/stream")
    @event_stream
    def stream() -> t.Any:
        return styled(generate(), style)

    @app.after_request
    def slot(response: Response) -> Response:
        response.call_on_close(lambda: released.append("slot"))
        return response

    response = app.test_client().get("/stream", buffered=False)
    chunks = iter(response.response)
    assert b"progress" in next(chunks)
    assert b"progress" in next(chunks)
    assert has_request_context()  # held by the running stream
    response.close()
    assert finished == ["generator"]
    assert released == ["slot"]
    assert not has_request_context()


def test_closing_before_the_body_is_read_closes_the_generator(make_app: MakeApp) -> None:
    app = processing_app(make_app)
    finished: list[bool] = []

    def generate() -> t.Iterator[str]:
        try:
            yield sse_event("first")
            yield sse_event("second")
        finally:
            finished.append(True)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        return generate()

    response = app.test_client().get("/stream", buffered=False)
    response.close()
    assert finished == [True]
    assert not has_request_context()


@pytest.mark.parametrize(
    ("rv", "status", "body"),
    [
        ({"ok": True}, 200, b'{"ok":true}\n'),
        ("plain", 200, b"plain"),
        (("created", 201), 201, b"created"),
    ],
)
def test_event_stream_passes_other_return_values(
    make_app: MakeApp, rv: t.Any, status: int, body: bytes
) -> None:
    app = processing_app(make_app)

    @app.get("/view")
    @event_stream
    def view() -> t.Any:
        return rv

    response = app.test_client().get("/view")
    assert (response.status_code, response.data) == (status, body)


def test_empty_stream_and_a_non_streamed_response(make_app: MakeApp) -> None:
    app = processing_app(make_app)

    @app.get("/empty")
    @event_stream
    def empty() -> t.Iterator[str]:
        return iter(())

    @app.get("/fixed")
    @event_stream
    def fixed() -> Response:
        return Response(["data: a\n\n"], mimetype="text/event-stream")

    client = app.test_client()
    empty_response = client.get("/empty")
    assert (empty_response.status_code, empty_response.data) == (200, b"")
    assert client.get("/fixed").data == b"data: a\n\n"


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


def test_error_data_spells_code_like_the_format(make_app: MakeApp) -> None:
    app, _ = make_app(format="detail")
    with app.test_request_context("/"):
        data = error_data(ApiError("not_found"), file_id="f1")
    assert data["code"] == "NOT_FOUND"
    assert data["file_id"] == "f1"
    assert data["message"] == "Resource not found"
