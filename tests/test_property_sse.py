"""Property tests: hostile values in the errors of event streams.

A stream that has sent its first event and then fails (an
:class:`~flask_apierrors.ApiError` with any message and details, context of
any type attached with :func:`~flask_apierrors.sse.event_context`, an
unhandled exception, a chunk that is not valid Unicode, an event whose
data JSON cannot hold) always ends with the ``error``/``close`` pair, in
every format, with and without ``problem_on_accept``: every event's data is
strict JSON in valid UTF-8 without a memory address, and values JSON can
carry read back as raised.
"""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask
from flask import request
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.sse import RESERVED_KEYS
from flask_apierrors.sse import event_context
from flask_apierrors.sse import event_stream
from flask_apierrors.sse import sse_event

from .support.hostile_values import any_values
from .support.hostile_values import as_json
from .support.hostile_values import as_text
from .support.hostile_values import check_body
from .support.hostile_values import circular
from .support.hostile_values import json_values
from .support.hostile_values import nested
from .support.hostile_values import texts

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

FORMATS: t.Final = ("error", "error_code", "detail", "problem")
SETUPS: t.Final = [(f, on) for f in FORMATS for on in (True, False)]
PAYLOAD: t.Final = "sse.payload"
#: The last two events of a stream that failed.
ERROR_PAIR: t.Final = re.compile(
    r"event: error\n((?:data: [^\n]*\n)+)\nevent: close\ndata: (\{[^\n]*\})\n\n\Z"
)


class Failure(t.NamedTuple):
    """What the stream view does after its first event."""

    #: ``raise`` (an ApiError), ``boom`` (RuntimeError), ``yield`` (the
    #: chunk as given), ``event`` (``sse_event(data)``).
    how: str
    code: str = "processing_error"
    message: t.Any = None
    details: t.Any = None
    context: t.Mapping[str, t.Any] = {}
    chunk: t.Any = None


_APPS: dict[tuple[str, bool], Flask] = {}


def stream_app(fmt: str, problem_on_accept: bool) -> Flask:
    key = (fmt, problem_on_accept)
    if key not in _APPS:
        app = Flask(f"sse_{fmt}_{problem_on_accept}")
        ApiErrors(app, format=fmt, problem_on_accept=problem_on_accept)

        @app.get("/stream")
        @event_stream
        def stream() -> t.Iterator[str]:
            failure: Failure = request.environ[PAYLOAD]
            yield sse_event({"step": 1}, event="progress")
            with event_context(**failure.context):
                if failure.how == "raise":
                    raise ApiError(
                        failure.code, failure.message, status=409, details=failure.details
                    )
                if failure.how == "boom":
                    raise RuntimeError(failure.message)
                if failure.how == "yield":
                    yield failure.chunk
                else:
                    yield sse_event(failure.chunk, event="progress")

        _APPS[key] = app
    return _APPS[key]


def run(setup: tuple[str, bool], failure: Failure, accept: str | None = None) -> TestResponse:
    environ: dict[str, t.Any] = {PAYLOAD: failure}
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    return stream_app(*setup).test_client().get("/stream", environ_overrides=environ)


def error_event(response: TestResponse) -> dict[str, t.Any]:
    """The data of the ``error`` event that ends the stream (checked)."""
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    raw = response.get_data()
    text = raw.decode("utf-8")  # strict: the stream is valid UTF-8
    match = ERROR_PAIR.search(text)
    assert match is not None, text[-500:]
    data_lines = [line[len("data: ") :] for line in match.group(1).splitlines()]
    data = check_body("\n".join(data_lines).encode("utf-8"))
    assert check_body(match.group(2).encode()) == {"reason": "error"}
    assert isinstance(data, dict)
    assert {"code", "message"} <= set(data)
    return data


setups = st.sampled_from(SETUPS)
accepts = st.sampled_from([None, "application/problem+json"])
context_keys = texts.filter(lambda k: k not in RESERVED_KEYS and k.isidentifier())


@given(setup=setups, accept=accepts, message=texts, details=json_values)
def test_an_api_error_reads_back_as_raised(
    setup: tuple[str, bool], accept: str | None, message: str, details: t.Any
) -> None:
    failure = Failure("raise", message=message or None, details={"value": details})
    data = error_event(run(setup, failure, accept))
    assert data["code"].lower() == "processing_error"
    if message:
        assert data["message"] == as_text(message)
    assert data["details"] == {"value": as_json(details)}


@given(
    setup=setups,
    details=st.dictionaries(texts, any_values, max_size=4),
    context=st.dictionaries(context_keys, any_values, max_size=3),
)
def test_details_and_context_of_any_type(
    setup: tuple[str, bool], details: dict[str, t.Any], context: dict[str, t.Any]
) -> None:
    data = error_event(run(setup, Failure("raise", details=details, context=context)))
    assert set(context) <= set(data)


@given(
    setup=setups,
    depth=st.integers(min_value=1, max_value=3000),
    kind=st.sampled_from(["list", "dict"]),
)
def test_deep_details(setup: tuple[str, bool], depth: int, kind: str) -> None:
    error_event(run(setup, Failure("raise", details={"v": nested(depth, kind)})))


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_circular_details_and_context(kind: str) -> None:
    failure = Failure("raise", details={"v": circular(kind)}, context={"job": circular(kind)})
    error_event(run(("error", True), failure))


@given(setup=setups, accept=accepts, text=texts)
def test_an_unhandled_exception_ends_the_stream_without_its_text(
    setup: tuple[str, bool], accept: str | None, text: str
) -> None:
    data = error_event(run(setup, Failure("boom", message=f"secret {text}"), accept))
    assert data["code"].lower() == "internal_server_error"
    assert data["details"]["error_id"].startswith("err_")
    assert "secret" not in str(data)


@given(setup=setups, chunk=texts)
def test_a_chunk_of_any_text(setup: tuple[str, bool], chunk: str) -> None:
    response = run(setup, Failure("yield", chunk=chunk))
    assert response.status_code == 200
    raw = response.get_data()
    try:
        chunk.encode("utf-8")
    except UnicodeEncodeError:
        # Not valid Unicode: the stream ends with the error pair instead.
        assert error_event(response)["code"].lower() == "internal_server_error"
    else:
        assert raw.endswith(chunk.encode("utf-8"))


@given(setup=setups, data=any_values.filter(lambda v: not isinstance(v, str)))
def test_event_data_of_any_type(setup: tuple[str, bool], data: t.Any) -> None:
    response = run(setup, Failure("event", chunk=data))
    assert response.status_code == 200
    text = response.get_data().decode("utf-8")
    assert "event: error" not in text
    last = text.rstrip("\n").rpartition("event: progress\n")[2]
    check_body("\n".join(line[6:] for line in last.splitlines()).encode("utf-8"))
