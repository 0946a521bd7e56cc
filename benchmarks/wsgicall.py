"""Calling a WSGI app many times with nothing else measured: the environ is
built once, each call gets a fresh body stream, and the response is consumed
and closed as a WSGI server would."""

from __future__ import annotations

import dataclasses
import gc
import io
import statistics
import time
import typing as t

from werkzeug.test import EnvironBuilder

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

    from benchmarks import scenarios as sc


@dataclasses.dataclass
class Prepared:
    """A request ready to be sent many times: the environ without its body
    stream (a fresh one is made per call), and the body."""

    environ: dict[str, t.Any]
    body: bytes


def prepare(scenario: sc.Scenario) -> Prepared:
    """The environ of ``scenario``, built once."""
    builder = EnvironBuilder(
        path=scenario.path,
        method=scenario.method,
        data=scenario.body,
        content_type=scenario.content_type,
        base_url="http://127.0.0.1:8000",
    )
    try:
        environ = dict(builder.get_environ())
    finally:
        builder.close()
    environ.pop("wsgi.input", None)
    return Prepared(environ, scenario.body)


def _start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Callable[..., t.Any]:
    return _write


def _write(data: bytes) -> None:
    return None


def call(app: WSGIApplication, prepared: Prepared) -> None:
    """One request: a fresh environ and body stream, the response consumed
    and closed, as a WSGI server would."""
    environ: WSGIEnvironment = prepared.environ.copy()
    environ["wsgi.input"] = io.BytesIO(prepared.body)
    iterable = app(environ, _start_response)
    try:
        for _chunk in iterable:
            pass
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


def probe(app: WSGIApplication, prepared: Prepared) -> tuple[int, str, bytes]:
    """Status, content type and body of one request (to check the setup)."""
    seen: dict[str, t.Any] = {}

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        seen["status"] = int(status.split()[0])
        seen["type"] = dict(headers).get("Content-Type", "")
        return _write

    environ: WSGIEnvironment = prepared.environ.copy()
    environ["wsgi.input"] = io.BytesIO(prepared.body)
    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return seen["status"], seen["type"], body


def timed_batch(app: WSGIApplication, prepared: Prepared, n: int) -> float:
    """Seconds per request over ``n`` requests (garbage collection off while
    timing, as :mod:`timeit` does; collected before)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            call(app, prepared)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / n


def calibrate(app: WSGIApplication, prepared: Prepared, target: float) -> int:
    """Requests per batch so a batch takes about ``target`` seconds."""
    per = timed_batch(app, prepared, 50)
    return max(20, int(target / per))


def median(values: t.Iterable[float]) -> float:
    return float(statistics.median(list(values)))
