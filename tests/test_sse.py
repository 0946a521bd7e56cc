"""Tests of flask_apierrors.sse.events: the framing of events, the error
event pair and its data outside a view, and how a body spells a code.
(Errors raised mid-stream in an app: test_sse_errors.)"""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask

from flask_apierrors import ApiError
from flask_apierrors import Problem
from flask_apierrors.sse import close_event
from flask_apierrors.sse import error_data
from flask_apierrors.sse import error_events
from flask_apierrors.sse import event_context
from flask_apierrors.sse import spelled_code
from flask_apierrors.sse import sse_event
from tests.conftest import MakeApp

#: The documented "SSE Error Events" example, as written outside an app:
#: compact JSON, keys in the documented order.
DOCUMENTED_EVENTS = (
    "event: error\n"
    'data: {"code":"PROCESSING_ERROR","message":"Failed to generate model","file_id":"file_001"}\n'
    "\n"
    "event: close\n"
    'data: {"reason":"error"}\n'
    "\n"
)


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


# -- framing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"data": {"b": 1, "a": 2}}, 'data: {"b":1,"a":2}\n\n'),
        ({"data": "one\ntwo"}, "data: one\ndata: two\n\n"),
        ({"data": "one\r\ntwo\rthree\n"}, "data: one\ndata: two\ndata: three\ndata: \n\n"),
        ({"data": ""}, "data: \n\n"),
        ({"data": [1, 2], "event": "progress"}, "event: progress\ndata: [1,2]\n\n"),
        (
            {"data": "x", "event": "e", "id": "7", "retry": 1500},
            "event: e\nid: 7\nretry: 1500\ndata: x\n\n",
        ),
        ({"data": {"text": "a\nb"}}, 'data: {"text":"a\\nb"}\n\n'),
        # Only CR and LF end an event line: U+2028 and NEL stay inside the JSON.
        ({"data": {"text": "a\u2028b\x85c"}}, 'data: {"text":"a\u2028b\x85c"}\n\n'),
        ({"data": {"\ud800": "\udfff"}}, 'data: {"\\ud800":"\\udfff"}\n\n'),
        ({"data": {"n": float("nan")}}, 'data: {"n":null}\n\n'),
    ],
)
def test_sse_event_framing(kwargs: dict[str, t.Any], expected: str) -> None:
    assert sse_event(**kwargs) == expected


def test_sse_event_writes_json_as_the_app_does() -> None:
    app = Flask(__name__)
    with app.app_context():
        assert sse_event({"b": 1, "a": 2}) == 'data: {"a":2,"b":1}\n\n'
        app.json.sort_keys = False  # type: ignore[attr-defined]
        assert sse_event({"b": 1, "a": 2}) == 'data: {"b":1,"a":2}\n\n'


@pytest.mark.parametrize("field", ["event", "id"])
def test_sse_event_rejects_line_breaks(field: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        sse_event("x", **t.cast(dict[str, t.Any], {field: "a\nevent: forged"}))


def test_close_event() -> None:
    assert close_event() == 'event: close\ndata: {"reason":"error"}\n\n'
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


# -- helpers for streams in an app (test_sse_errors, test_sse_stream) ----------


def processing_app(make_app: MakeApp, fmt: str = "error_code") -> Flask:
    app, errors = make_app(format=fmt)
    errors.catalog.add("PROCESSING_ERROR", 500, "Failed to process image", format="detail")
    return app


# -- error data ---------------------------------------------------------------


def test_error_data_spells_code_like_the_format(make_app: MakeApp) -> None:
    app, _ = make_app(format="detail")
    with app.test_request_context("/"):
        data = error_data(ApiError("not_found"), file_id="f1")
    assert data["code"] == "NOT_FOUND"
    assert data["file_id"] == "f1"
    assert data["message"] == "Resource not found"


def test_error_data_outside_an_app_uses_the_builtin_catalog() -> None:
    data = error_data(ApiError("not_found"), item_id="i1")
    assert data == {"code": "not_found", "message": "Resource not found", "item_id": "i1"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "NOT_FOUND", "message": "x"}, "NOT_FOUND"),
        ({"detail": "Not_Found", "code": "not_found"}, "not_found"),
        ({"detail": {"code": "NOT_FOUND"}}, "NOT_FOUND"),
        ({"ok": False, "problem": "Not_Found"}, "Not_Found"),
        ({"ok": False}, "not_found"),
        (["not_found"], "not_found"),
    ],
)
def test_spelled_code(body: t.Any, expected: str) -> None:
    assert spelled_code(body, "not_found") == expected
