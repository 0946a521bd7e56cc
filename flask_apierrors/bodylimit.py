"""Request bodies the server ends itself: the limit in force, read lazily,
and malformed framing or a short body as a 400.

Werkzeug checks a declared ``Content-Length`` against the request's
``max_content_length``, but a chunked body is only cut off at the limit:
``request.get_data()`` silently returns the first ``max_content_length``
bytes. And a server's own error about broken chunk framing (gunicorn's
``InvalidChunkSize``) surfaces from ``wsgi.input`` as an unhandled
exception, a 500 for a client's mistake.

The extension's WSGI middleware puts a :class:`StreamedBody` in front of
such a body. It reads nothing by itself: the body is read when (and only
when) the app reads it, under the limit in force for that request at that
moment (``request.max_content_length``, which a view may raise or lower),
and answers 413 as soon as one byte more than the limit arrives. Nothing is
buffered, so a 404 or a 401 never reads the body.

A body with a ``Content-Length`` is Werkzeug's, except for one thing: a
server that sets ``wsgi.input_terminated`` (gunicorn) ends it at its length
but hands over a body that ends early (the client closed its side) as if it
were whole, and Werkzeug then reads it without a check. The middleware puts
Werkzeug's own :class:`~werkzeug.wsgi.LimitedStream` in front of it, which
it uses for servers that do not end the body: a short body is a 400.
"""

from __future__ import annotations

import io
import typing as t

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream
from werkzeug.wsgi import get_content_length

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Set in the environ when a streamed body went past its limit (its size is
#: then unknown).
TRUNCATED: t.Final = "flask_apierrors.body_truncated"


def is_streamed(environ: WSGIEnvironment) -> bool:
    """A body whose end the server marks (``wsgi.input_terminated``): a
    chunked one, or one with a ``Content-Length`` it may hand over short."""
    # Most requests send neither header: the cheap tests first.
    encoding = environ.get("HTTP_TRANSFER_ENCODING")
    if encoding is None:
        length = environ.get("CONTENT_LENGTH")
        return bool(length) and length != "0" and "wsgi.input_terminated" in environ
    return (
        _is_chunked(encoding)
        and "wsgi.input_terminated" in environ
        and not environ.get("CONTENT_LENGTH")
    )


def _is_chunked(encoding: str) -> bool:
    """Whether the last transfer coding is ``chunked`` (RFC 9112 6.1: a
    server de-chunks ``gzip, chunked`` as it does ``chunked``)."""
    return encoding.rpartition(",")[2].strip().lower() == "chunked"


class StreamedBody(io.RawIOBase):
    """The server's chunked input, read on demand, under the request's limit.

    :param stream: The server's ``wsgi.input``.
    :param environ: The request's environ (for the Flask request object,
        whose ``max_content_length`` is the limit, and :data:`TRUNCATED`).
    """

    def __init__(self, stream: t.IO[bytes], environ: WSGIEnvironment) -> None:
        super().__init__()
        self._stream = stream
        self._environ = environ
        self._total = 0
        self._peeked = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _read(self, size: int) -> bytes:
        if self._peeked:
            data, self._peeked = self._peeked[:size], self._peeked[size:]
            return data
        try:
            return self._stream.read(size)
        except HTTPException:
            raise
        except Exception:
            # Broken chunk framing, or a client that went away mid-body.
            raise BadRequest("Malformed request body") from None

    def readinto(self, buffer: t.Any) -> int:
        if self._done:
            return 0
        view = memoryview(buffer).cast("B")
        limit = getattr(self._environ.get("werkzeug.request"), "max_content_length", None)
        if not isinstance(limit, int):
            limit = None
        size = len(view) if limit is None else min(len(view), limit - self._total)
        data = self._read(size) if size > 0 else b""
        self._total += len(data)
        if limit is not None and self._total >= limit:
            # At the limit (Werkzeug's own wrapper stops asking here): one
            # byte more means the body is too large, not that it ends.
            self._peeked = self._read(1)
            if self._peeked:
                self._environ[TRUNCATED] = True
                raise RequestEntityTooLarge()
        if not data:
            self._done = True
            return 0
        view[: len(data)] = data
        return len(data)


def guard_streamed_body(environ: WSGIEnvironment) -> None:
    """Put a :class:`StreamedBody` in front of a chunked request body, and
    a :class:`~werkzeug.wsgi.LimitedStream` in front of one with a length
    (for :func:`is_streamed` bodies)."""
    length = get_content_length(environ)
    if length is None:
        environ["wsgi.input"] = StreamedBody(environ["wsgi.input"], environ)
    else:
        # Buffered: a raw stream's readline (NDJSON, CSV uploads) would
        # read a byte at a time.
        environ["wsgi.input"] = io.BufferedReader(LimitedStream(environ["wsgi.input"], length))
