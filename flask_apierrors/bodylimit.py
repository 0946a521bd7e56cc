"""Streamed (chunked) request bodies: the limit in force, read lazily, and
malformed framing as a 400.

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
buffered, so a 404 or a 401 never reads the body. Requests with a
``Content-Length`` are left to Werkzeug.
"""

from __future__ import annotations

import io
import typing as t

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Set in the environ when a streamed body went past its limit (its size is
#: then unknown).
TRUNCATED: t.Final = "flask_apierrors.body_truncated"


def is_streamed(environ: WSGIEnvironment) -> bool:
    """A chunked body whose end the server marks, without a length."""
    # Most requests send no Transfer-Encoding: that test first.
    encoding = environ.get("HTTP_TRANSFER_ENCODING")
    return (
        encoding is not None
        and encoding.lower() == "chunked"
        and "wsgi.input_terminated" in environ
        and not environ.get("CONTENT_LENGTH")
    )


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
    """Put a :class:`StreamedBody` in front of a chunked request body."""
    environ["wsgi.input"] = StreamedBody(environ["wsgi.input"], environ)
