"""Errors of streaming responses as Server-Sent Events.

Once a stream has sent its first event the status line is gone, so an error
cannot become an HTTP error response any more. It becomes an event pair
instead, and the stream ends cleanly::

    event: error
    data: {"code": "PROCESSING_ERROR", "message": "Failed to generate model", "file_id": "file_001"}

    event: close
    data: {"reason": "error"}

The ``error`` data carries the same ``code``, ``message`` and ``details`` as
the HTTP body would (the code spelled as the active format spells it), the
context the app attached (``file_id`` ...) and the correlation id.

:func:`event_stream` (a view decorator) and :func:`stream_events` (a
response factory) do this for every exception a stream raises; an exception
before the first event is still an ordinary JSON error response with its
status.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import typing as t

from flask import Response
from flask import current_app
from flask import has_app_context
from flask import has_request_context
from flask import request
from flask import stream_with_context
from werkzeug.exceptions import HTTPException

from .catalog import code_for_exception_class
from .catalog import reason_phrase
from .correlation import get_correlation_id
from .correlation import get_error_id
from .correlation import new_id
from .errors import ApiError
from .problem import Problem
from .rendering import dumps

if t.TYPE_CHECKING:
    from .extension import AppState

__all__ = [
    "EVENT_STREAM",
    "RESERVED_KEYS",
    "close_event",
    "error_data",
    "error_events",
    "event_context",
    "event_stream",
    "sse_event",
    "stream_events",
]

logger = logging.getLogger("flask_apierrors")

#: The media type of a Server-Sent Events stream.
EVENT_STREAM: t.Final = "text/event-stream"

#: Keys of the ``error`` event's data that app context cannot replace.
RESERVED_KEYS: t.Final = frozenset({"code", "message", "details", "correlation_id"})

#: Attribute :func:`event_context` keeps an exception's context in.
_CONTEXT_ATTR: t.Final = "apierrors_event_context"

#: Headers every event stream answers with: no caching, and no buffering by
#: proxies (nginx honours ``X-Accel-Buffering``), so events arrive when sent.
_STREAM_HEADERS: t.Final = (("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"))

_Chunk: t.TypeAlias = "str | bytes"
_F = t.TypeVar("_F", bound=t.Callable[..., t.Any])


def _check_field(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"An SSE {name} cannot contain a line break: {value!r}.")
    return value


def sse_event(
    data: t.Any,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> str:
    """One Server-Sent Event, with its blank-line terminator.

    :param data: A string (each of its lines becomes a ``data:`` line) or
        anything JSON can encode (one ``data:`` line of JSON).
    :param event: The event name (``event:`` line); ``None`` for none.
    :param id: The event id (``id:`` line).
    :param retry: The client's reconnection delay in milliseconds.
    :raises ValueError: ``event`` or ``id`` contains a line break.
    """
    lines = []
    if event is not None:
        lines.append("event: " + _check_field("event name", event))
    if id is not None:
        lines.append("id: " + _check_field("event id", id))
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    text = data if isinstance(data, str) else dumps(data)
    lines.extend("data: " + line for line in text.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def close_event(reason: str = "error") -> str:
    """The ``event: close`` that ends a stream, ``{"reason": reason}``."""
    return sse_event({"reason": reason}, event="close")


def _check_context(context: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    clash = RESERVED_KEYS.intersection(context)
    if clash:
        raise ValueError(
            f"Event context cannot set {', '.join(sorted(clash))}: they come from the error."
            " Pass other names (file_id, job_id ...)."
        )
    return dict(context)


@contextlib.contextmanager
def event_context(**context: t.Any) -> t.Iterator[None]:
    """Attach ``context`` to any exception raised inside the block, for the
    ``error`` event it may become::

        for file in job.files:
            with event_context(file_id=file.id):
                model = generate(file)
            yield sse_event({"file_id": file.id, "status": "done"}, event="progress")

    Nested blocks add their keys; the innermost value of a key wins. The
    exception propagates unchanged.

    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    checked = _check_context(context)
    try:
        yield
    except Exception as e:
        current = getattr(e, _CONTEXT_ATTR, None)
        merged = {**checked, **(current or {})}
        with contextlib.suppress(AttributeError, TypeError):
            setattr(e, _CONTEXT_ATTR, merged)
        raise


def _state() -> AppState | None:
    if not has_app_context():
        return None
    state: AppState | None = current_app.extensions.get("apierrors")
    return state


def _uppercase(problem: Problem, state: AppState | None) -> bool:
    """Whether the active format spells codes upper case (``error_code`` and
    ``detail`` do by default), so events match the HTTP bodies."""
    if state is None or not has_request_context():
        return False
    settings = state.settings_for(request.blueprints, request.path)
    fmt = state.format_for(problem.format or settings.format, settings)
    return bool(getattr(fmt, "uppercase_codes", False))


def _problem_without_extension(e: BaseException) -> Problem:
    """A Problem for apps without :class:`~flask_apierrors.ApiErrors`."""
    if isinstance(e, ApiError):
        assert e.error_code is not None and e.status is not None
        return Problem(
            status=e.status,
            code=e.error_code,
            message=e.message or reason_phrase(e.status),
            title=reason_phrase(e.status),
            details=dict(e.details),
        )
    if isinstance(e, HTTPException) and e.code and e.code < 500:
        return Problem(
            status=e.code,
            code=code_for_exception_class(type(e)),
            message=reason_phrase(e.code),
            title=reason_phrase(e.code),
        )
    return Problem(
        status=500,
        code="internal_server_error",
        message="An unexpected error occurred",
        title=reason_phrase(500),
        details={"error_id": new_id("err_")},
    )


def _problem_for(e: BaseException, state: AppState | None) -> Problem:
    if state is None or not has_request_context():
        return _problem_without_extension(e)
    # The extension maps any exception: registered types, integrations, and
    # a 500 with an error id for the rest (as Flask does for a view).
    return state.ext.problem_for(e)


def _data(
    problem: Problem, context: t.Mapping[str, t.Any], state: AppState | None
) -> dict[str, t.Any]:
    code = problem.code.upper() if _uppercase(problem, state) else problem.code
    data: dict[str, t.Any] = {"code": code, "message": problem.message}
    details = problem.public_details()
    if details:
        data["details"] = details
    data.update(context)
    if problem.correlation_id is not None:
        data["correlation_id"] = problem.correlation_id
    return data


def _exception_context(e: BaseException) -> dict[str, t.Any]:
    return dict(getattr(e, _CONTEXT_ATTR, None) or {})


def error_data(error: BaseException | Problem, **context: t.Any) -> dict[str, t.Any]:
    """The JSON data of an ``error`` event.

    ``{"code", "message", "details"?, **context, "correlation_id"?}``: the
    code, message and details the HTTP body of ``error`` would carry, with
    the code spelled as the active format spells it.

    :param error: An exception (needs an app and request context for the
        catalog and format), or a ready :class:`~flask_apierrors.Problem`.
    :param context: App context shown at the top level (``file_id`` ...);
        context attached with :func:`event_context` wins over it.
    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    merged = _check_context(context)
    state = _state()
    if isinstance(error, Problem):
        return _data(error, merged, state)
    merged.update(_exception_context(error))
    return _data(_problem_for(error, state), merged, state)


def error_events(error: BaseException | Problem, **context: t.Any) -> str:
    """``event: error`` with :func:`error_data`, then ``event: close`` with
    ``{"reason": "error"}``: what a stream sends when it fails.

    :param error: An exception or a :class:`~flask_apierrors.Problem`.
    :param context: App context for the data (``file_id`` ...).
    """
    return sse_event(error_data(error, **context), event="error") + close_event("error")


def _log(problem: Problem, e: BaseException, state: AppState | None) -> None:
    """Log a stream's error as the error handler logs a response's: 5xx at
    ERROR with the traceback, 4xx at INFO when ``log_client_errors`` is on."""
    log = current_app.logger if has_app_context() else logger
    cid = get_correlation_id() or "-"
    if problem.status >= 500:
        cause = e.__cause__ if isinstance(e, HTTPException) else e
        log.error(
            "Exception in event stream: %s %s [error_id=%s correlation_id=%s]",
            problem.status,
            problem.code,
            get_error_id(create=False) or "-",
            cid,
            exc_info=cause,
        )
    elif state is not None and state.settings.log_client_errors:
        log.info(
            "Error in event stream: %s %s [correlation_id=%s]", problem.status, problem.code, cid
        )


_FALLBACK: t.Final = sse_event(
    {"code": "internal_server_error", "message": "An unexpected error occurred"},
    event="error",
) + close_event("error")


def _events_for(e: BaseException, context: t.Mapping[str, t.Any]) -> str:
    """The event pair for ``e``; never raises (a stream must end cleanly)."""
    try:
        state = _state()
        problem = _problem_for(e, state)
        data = _data(problem, {**context, **_exception_context(e)}, state)
        _log(problem, e, state)
        return sse_event(data, event="error") + close_event("error")
    except Exception:
        logger.exception("Rendering an event stream error failed")
        return _FALLBACK


def _close(iterator: t.Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _bytes(chunk: _Chunk) -> bytes:
    return chunk.encode() if isinstance(chunk, str) else chunk


class _EventStreamBody:
    """The response iterable of an event stream.

    Runs the app's iterator inside the request context (as
    :func:`~flask.stream_with_context` does), turns an exception into the
    error/close event pair, and on :meth:`close` (end of response, or a
    client that went away) closes the app's iterator, so its ``finally``
    blocks run and the request context is popped at once.
    """

    def __init__(
        self,
        first: list[_Chunk],
        rest: t.Iterator[_Chunk],
        context: t.Mapping[str, t.Any] | None,
    ) -> None:
        self._rest = rest
        self._context = context
        self._run_gen = self._run(first, rest)
        # stream_with_context primes its generator to just before it pushes
        # the contexts; ours only starts on the first next().
        self._body = stream_with_context(self._run_gen)

    def _run(self, first: list[_Chunk], rest: t.Iterator[_Chunk]) -> t.Generator[bytes, None, None]:
        try:
            for chunk in first:
                yield _bytes(chunk)
            first.clear()
            while True:
                try:
                    chunk = next(rest)
                except StopIteration:
                    return
                except Exception as e:
                    yield _events_for(e, self._context or {}).encode()
                    return
                yield _bytes(chunk)
        finally:
            _close(rest)

    def __iter__(self) -> t.Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._body)

    def close(self) -> None:
        """Close the stream and the app's iterator (idempotent)."""
        try:
            _close(self._body)
            self._run_gen.close()
        finally:
            _close(self._rest)


def _prime(events: t.Iterable[_Chunk]) -> tuple[list[_Chunk], t.Iterator[_Chunk]]:
    """Run ``events`` up to its first event, in the view: an exception here
    still becomes an ordinary error response."""
    iterator = iter(events)
    try:
        return [next(iterator)], iterator
    except StopIteration:
        return [], iterator
    except BaseException:
        _close(iterator)
        raise


def stream_events(
    events: t.Iterable[_Chunk],
    *,
    context: t.Mapping[str, t.Any] | None = None,
    status: int = 200,
    headers: t.Mapping[str, str] | None = None,
) -> Response:
    """A ``text/event-stream`` response of ``events`` that fails cleanly.

    Call it in a view. ``events`` runs up to its first event at once: an
    exception before it propagates (the ordinary JSON error response, with
    its status). An exception after it becomes :func:`error_events` and the
    end of the stream. The rest runs in the request context (no need for
    :func:`~flask.stream_with_context`, though it does no harm), and closing
    the response (a client that disconnects) closes ``events``.

    :param events: Chunks of SSE text (from :func:`sse_event`) or bytes.
    :param context: App context for the ``error`` data (``file_id`` ...);
        read when the error happens, so a view may update it as it goes.
    :param status: The response status.
    :param headers: Extra response headers.
    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    if context is not None:
        _check_context(context)
    first, rest = _prime(events)
    body = _EventStreamBody(first, rest, context)
    response = Response(body, status=status, mimetype=EVENT_STREAM)
    for name, value in _STREAM_HEADERS:
        response.headers.setdefault(name, value)
    if headers:
        response.headers.update(headers)
    return response


def _wrap_response(response: Response, context: t.Mapping[str, t.Any] | None) -> Response:
    """Put a streamed response's iterable behind :class:`_EventStreamBody`."""
    if not response.is_streamed:
        return response
    first, rest = _prime(t.cast(t.Iterable[_Chunk], response.response))
    response.response = _EventStreamBody(first, rest, context)
    for name, value in _STREAM_HEADERS:
        response.headers.setdefault(name, value)
    return response


@t.overload
def event_stream(view: _F, /) -> _F: ...


@t.overload
def event_stream(
    view: None = None, /, *, context: t.Mapping[str, t.Any] | None = None
) -> t.Callable[[_F], _F]: ...


def event_stream(
    view: _F | None = None, /, *, context: t.Mapping[str, t.Any] | None = None
) -> _F | t.Callable[[_F], _F]:
    """Decorate a streaming view so its errors become SSE error events.

    The view returns (or, as a generator function, is) an iterable of
    events, or a streamed :class:`~flask.Response`; see
    :func:`stream_events`::

        @app.get("/jobs/<job_id>/stream")
        @event_stream
        def job_events(job_id):
            job = load_job(job_id)  # ApiError here: a JSON 404
            for file in job.files:
                with event_context(file_id=file.id):
                    yield sse_event(process(file), event="progress")

    :param context: Fixed app context for every ``error`` event.
    """

    def decorator(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            rv = func(*args, **kwargs)
            if isinstance(rv, Response):
                return _wrap_response(rv, context)
            if isinstance(rv, (str, bytes, dict, tuple)) or rv is None:
                return rv
            return stream_events(rv, context=context)

        return t.cast(_F, wrapper)

    if view is not None:
        return decorator(view)
    return decorator
