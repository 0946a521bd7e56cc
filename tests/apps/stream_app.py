"""An app with event streams that succeed, fail, crash and never end, for
tests that serve it through gunicorn (``tests.apps.stream_app:app``).

``GET /events/<mode>?n=N&delay=SECONDS&style=plain|context|response`` streams
``n`` progress events, then:

``ok``
    ``event: done``.
``fail``
    raises ``PROCESSING_ERROR`` (``file_id`` of the next file attached).
``crash``
    raises a ``RuntimeError`` whose text must never reach the client.
``before``
    raises ``JOB_NOT_FOUND`` before the first event (a JSON 404).
``forever``
    never ends (one event every ``delay`` seconds).

``style`` picks how the view builds the stream: a bare generator, one
wrapped in ``stream_with_context``, or a ``Response`` object. Every stream
holds a "slot" (as a concurrency limit would) released when the response
closes. ``GET /limited/<mode>`` streams under a real concurrency limit of one.
``GET /state`` reports open streams, slots held, teardowns and the limited
streams in flight, so a test can check that a client that went away left
nothing behind.
"""

from __future__ import annotations

import functools
import threading
import time
import typing as t

from flask import Flask
from flask import Response
from flask import request
from flask import stream_with_context

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.concurrency import ConcurrencyLimiter
from flask_apierrors.sse import event_context
from flask_apierrors.sse import event_stream
from flask_apierrors.sse import sse_event

_lock = threading.Lock()
_stats = {
    "open_streams": 0,
    "finished_streams": 0,
    "slots": 0,
    "slots_released": 0,
    "teardowns": 0,
}

_F = t.TypeVar("_F", bound=t.Callable[..., t.Any])


def _count(name: str, delta: int = 1) -> None:
    with _lock:
        _stats[name] += delta


def holds_slot(view: _F) -> _F:
    """Hold a slot while the response is served; release it when the response
    is closed (the way a concurrency limit does)."""

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        _count("slots")
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                _count("slots", -1)
                _count("slots_released")

        try:
            response = view(*args, **kwargs)
        except BaseException:
            release()
            raise
        response.call_on_close(release)
        return response

    return t.cast(_F, wrapper)


def _events(mode: str, n: int, delay: float) -> t.Iterator[str]:
    _count("open_streams")
    try:
        if mode == "before":
            raise ApiError(
                "JOB_NOT_FOUND",
                "Job not found",
                status=404,
                details={"job_id": "batch_20240315_123456_abc123"},
            )
        i = 0
        while mode == "forever" or i < n:
            i += 1
            yield sse_event({"file_id": f"file_{i:03}", "progress": 100}, event="progress")
            if delay:
                time.sleep(delay)
        if mode == "fail":
            with event_context(file_id=f"file_{n + 1:03}"):
                raise ApiError("PROCESSING_ERROR", "Failed to generate model")
        if mode == "crash":
            raise RuntimeError("secret internal detail: /srv/models/key.pem")
        yield sse_event({"files": n}, event="done")
    finally:
        _count("open_streams", -1)
        _count("finished_streams")


def create_app() -> Flask:
    app = Flask(__name__)
    errors = ApiErrors(app, format="error_code")
    errors.catalog.add("PROCESSING_ERROR", 500, "Failed to process image", format="detail")
    errors.catalog.add("JOB_NOT_FOUND", 404, "Job not found", format="detail")

    @app.teardown_request
    def count_teardown(exc: BaseException | None) -> None:
        _count("teardowns")

    @app.get("/health")
    def health() -> dict[str, t.Any]:
        return {"status": "ok"}

    concurrency = ConcurrencyLimiter(app, key_func=lambda: "client")

    @app.get("/state")
    def state() -> dict[str, t.Any]:
        with _lock:
            stats: dict[str, t.Any] = dict(_stats)
        stats["in_flight"] = concurrency.in_flight("client", scope="streams")
        return stats

    @app.get("/limited/<mode>")
    @concurrency.limit(1, scope="streams")
    @event_stream
    def limited(mode: str) -> t.Any:
        """One stream at a time: a slot left behind would refuse the next."""
        return _events(mode, request.args.get("n", 2, type=int), 0.02)

    @app.get("/events/<mode>")
    @holds_slot
    @event_stream
    def events(mode: str) -> t.Any:
        n = request.args.get("n", 2, type=int)
        delay = request.args.get("delay", 0.0, type=float)
        style = request.args.get("style", "plain")
        gen = _events(mode, n, delay)
        if style == "context":
            return stream_with_context(gen)
        if style == "response":
            return Response(gen, mimetype="text/event-stream")
        return gen

    return app


app = create_app()
