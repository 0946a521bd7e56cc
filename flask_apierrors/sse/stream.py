"""The response of an event stream: its iterable, which turns an exception
into the ``error``/``close`` event pair and releases everything when the
client goes away, and the view helpers that build it.

.. versionadded:: 0.1
"""

from __future__ import annotations

import functools
import itertools
import typing as t

from flask import Response
from flask import stream_with_context

from .events import EVENT_STREAM
from .events import _check_context
from .events import failure_events

#: Headers every event stream answers with: no caching, and no buffering by
#: proxies (nginx honours ``X-Accel-Buffering``), so events arrive when sent.
_STREAM_HEADERS: t.Final = (("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"))

_Chunk: t.TypeAlias = "str | bytes"
_F = t.TypeVar("_F", bound=t.Callable[..., t.Any])


def _close(iterator: t.Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _bytes(chunk: object) -> bytes:
    if isinstance(chunk, str):
        # Strict: text that is not valid Unicode (a lone surrogate) ends the
        # stream with an error event rather than with a broken body.
        return chunk.encode("utf-8")
    if isinstance(chunk, bytes):
        return chunk
    raise TypeError(f"An event stream yields str or bytes, not {type(chunk).__name__}.")


class _EventStreamBody:
    """The response iterable of an event stream.

    Runs the app's iterator inside the request context (as
    :func:`~flask.stream_with_context` does), turns an exception into the
    error/close event pair, and on :meth:`close` (end of response, a client
    that went away, or a body never read, as for ``HEAD``) closes the app's
    iterator inside the request context too, so its ``finally`` blocks run
    there and the request context is popped at once.
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
        self._started = False

    def _run(self, first: list[_Chunk], rest: t.Iterator[_Chunk]) -> t.Generator[bytes, None, None]:
        chunks = itertools.chain(first, rest)
        try:
            # Reached inside the contexts, before any event: from here on,
            # closing closes ``rest`` inside them.
            yield b""
            while True:
                try:
                    chunk = _bytes(next(chunks))
                except StopIteration:
                    return
                except Exception as e:
                    # Read now: the view may have updated it as it went.
                    yield failure_events(e, self._context or {}).encode("utf-8")
                    return
                yield chunk
        finally:
            _close(rest)

    def __iter__(self) -> t.Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        self._start()
        return next(self._body)

    def _start(self) -> None:
        """Push the contexts (at the first read, or at a close before it)."""
        if not self._started:
            self._started = True
            next(self._body)

    def close(self) -> None:
        """Close the stream and the app's iterator (idempotent)."""
        try:
            # A body never read (HEAD): enter the contexts all the same, so
            # the app's iterator closes inside them.
            self._start()
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
    :param context: App context for the ``error`` data (``item_id`` ...);
        read when the error happens, so a view may update it as it goes.
    :param status: The response status.
    :param headers: Extra response headers.
    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    if context is not None:
        _check_context(context)
    response = _wrap(Response(status=status, mimetype=EVENT_STREAM), events, context)
    if headers:
        response.headers.update(headers)
    return response


def _wrap(
    response: Response, events: t.Iterable[_Chunk], context: t.Mapping[str, t.Any] | None
) -> Response:
    """``response`` with ``events`` behind an :class:`_EventStreamBody`."""
    first, rest = _prime(events)
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
                if not rv.is_streamed:
                    return rv
                return _wrap(rv, t.cast(t.Iterable[_Chunk], rv.response), context)
            if isinstance(rv, (str, bytes, dict, tuple)) or rv is None:
                return rv
            return stream_events(rv, context=context)

        return t.cast(_F, wrapper)

    if view is not None:
        return decorator(view)
    return decorator
