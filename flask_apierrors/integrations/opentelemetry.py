"""OpenTelemetry: the server span of a 5xx that ApiErrors rendered from an
exception is marked as an error, with the exception recorded.

OpenTelemetry's Flask instrumentation records the exceptions Flask finds
unhandled (they reach its ``teardown_request``), and sets the span status
from the response status; an exception an error handler turned into a 5xx
(an ``ApiError`` with status 503, ``register_exception``) reaches neither.
This plug-in records those, through the ``got_request_exception`` signal
the extension sends for them. Active when ``opentelemetry-api`` is installed
and the app is instrumented when it gets its first request.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from flask import got_request_exception

from ..correlation import current_state
from ..plugins import Plugin

if t.TYPE_CHECKING:
    from flask import Flask

    from ..state import AppState


def _record(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    found = current_state()
    if found is None or found[0].signalled is not exception:
        return  # Flask's own report of an unhandled error: recorded already
    from opentelemetry import trace
    from opentelemetry.trace import Status
    from opentelemetry.trace import StatusCode

    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exception)
        span.set_status(Status(StatusCode.ERROR, type(exception).__name__))


def _connect(state: AppState) -> None:
    # Only for an app OpenTelemetry's Flask instrumentation instruments (it
    # marks the app so): others pay nothing per error.
    if getattr(state.app, "_is_instrumented_by_opentelemetry", False):
        got_request_exception.connect(_record, state.app, weak=False)


def _setup(state: AppState) -> None:
    state.on_first_request(_connect)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without ``opentelemetry-api``."""
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:  # pragma: no cover - optional
        return None
    return Plugin("opentelemetry", setup=_setup, order=90)
