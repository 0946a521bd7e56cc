"""Tests of flask_apierrors.sse.stream: event stream responses, whatever
the view returns, end with the error pair when they fail and release
everything when closed."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Response
from flask import g
from flask import has_request_context
from flask import request
from flask import stream_with_context

from flask_apierrors import ApiError
from flask_apierrors import get_correlation_id
from flask_apierrors.sse import event_context
from flask_apierrors.sse import event_stream
from flask_apierrors.sse import sse_event
from flask_apierrors.sse import stream_events
from tests.conftest import MakeApp
from tests.test_sse import parse_events
from tests.test_sse import processing_app

STYLES = ("plain", "context", "response")


def app_events(correlation_id: str | None = None) -> str:
    """The same pair as an app with Flask's JSON provider writes it: keys
    sorted, compact, as its error bodies."""
    data: dict[str, t.Any] = {
        "code": "PROCESSING_ERROR",
        "message": "Failed to generate model",
        "file_id": "file_001",
    }
    if correlation_id is not None:
        data["correlation_id"] = correlation_id
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return f'event: error\ndata: {text}\n\nevent: close\ndata: {{"reason":"error"}}\n\n'


def styled(gen: t.Iterator[str], style: str) -> t.Any:
    """What a view returns for ``gen`` in each supported style."""
    if style == "context":
        return stream_with_context(gen)
    if style == "response":
        return Response(gen, mimetype="text/event-stream")
    return gen


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
    # The documented pair plus the correlation id, as the app writes JSON.
    assert text.endswith(app_events(cid))


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
    assert text == 'event: progress\ndata: {"file_id":"file_000"}\n\n' + app_events()


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


def test_event_context_nests_innermost_wins(make_app: MakeApp) -> None:
    app = processing_app(make_app)
    app.json.sort_keys = False  # type: ignore[attr-defined]
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


@pytest.mark.parametrize("chunk", ["text \ud800", {"not": "framed"}], ids=["surrogate", "dict"])
def test_a_chunk_that_is_no_text_ends_the_stream(make_app: MakeApp, chunk: t.Any) -> None:
    app = processing_app(make_app)

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[t.Any]:
        yield sse_event("started")
        yield chunk

    events = parse_events(app.test_client().get("/stream").get_data(as_text=True))
    assert [name for name, _ in events] == [None, "error", "close"]
    assert events[1][1]["code"] == "INTERNAL_SERVER_ERROR"


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


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_a_body_never_read_is_closed_inside_the_request_context(
    make_app: MakeApp, style: str, method: str
) -> None:
    """HEAD: Werkzeug never reads the body; GET (as before): the client goes
    away after the first event. Either way the generator's ``finally`` sees
    the request, ``g`` and the correlation id."""
    app = processing_app(make_app)
    seen: list[tuple[t.Any, ...]] = []

    def generate() -> t.Iterator[str]:
        g.slot = "slot-1"
        try:
            yield sse_event("first")
            yield sse_event("second")
        finally:
            seen.append((has_request_context(), g.slot, request.path, get_correlation_id()))

    @app.route("/stream", methods=["GET"])
    @event_stream
    def stream() -> t.Any:
        return styled(generate(), style)

    response = app.test_client().open(
        "/stream", method=method, headers={"X-Request-ID": "rid-1"}, buffered=False
    )
    assert response.status_code == 200
    response.close()
    assert seen == [(True, "slot-1", "/stream", "rid-1")]
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
