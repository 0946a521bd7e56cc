"""Streamed (chunked) request bodies: enforce ``MAX_CONTENT_LENGTH`` and turn
malformed framing into a 400.

Werkzeug checks a declared ``Content-Length`` against ``MAX_CONTENT_LENGTH``,
but a chunked body is only cut off at the limit: the view silently gets the
first ``MAX_CONTENT_LENGTH`` bytes. And a server's own error about broken
chunk framing (gunicorn's ``InvalidChunkSize``) surfaces from
``wsgi.input`` as an unhandled exception, a 500 for a client's mistake.

:func:`buffer_streamed_body` runs in the extension's WSGI middleware, before
Flask sees the request. It reads such a body up to one byte past the limit
in memory (up to :data:`SPOOL_BYTES`, then in a temporary file)
and hands Flask a plain body with a ``Content-Length``. A body over the limit
keeps a ``Content-Length`` over the limit, so Werkzeug answers 413 as soon as
the app reads it, exactly as for a declared length; broken framing gives a
body whose reading raises a 400. Requests with a ``Content-Length`` are left
alone.
"""

from __future__ import annotations

import io
import tempfile
import typing as t

from werkzeug.exceptions import BadRequest

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Bodies up to this size are buffered in memory, larger ones on disk.
SPOOL_BYTES: t.Final = 1 << 20

#: Set in the environ when a streamed body was cut at the limit.
TRUNCATED: t.Final = "flask_apierrors.body_truncated"

_READ: t.Final = 64 * 1024


def is_streamed(environ: WSGIEnvironment) -> bool:
    """A chunked body whose end the server marks, without a length."""
    return (
        "wsgi.input_terminated" in environ
        and not environ.get("CONTENT_LENGTH")
        and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    )


class _MalformedBody(io.RawIOBase):
    """The body of a request whose chunk framing was broken."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        raise BadRequest("Malformed request body")


def buffer_streamed_body(environ: WSGIEnvironment, limit: int) -> t.IO[bytes]:
    """Read the streamed body of ``environ`` (at most ``limit + 1`` bytes) and
    make it a plain body of known length. Returns the buffer, for the caller
    to close when the response is done."""
    stream = environ["wsgi.input"]
    # In memory up to SPOOL_BYTES, then on disk. (Not SpooledTemporaryFile:
    # a small body must not need an explicit close to be cleaned up quietly.)
    spool: t.IO[bytes] = io.BytesIO()
    total = 0
    try:
        while total <= limit:
            chunk = stream.read(min(_READ, limit + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > SPOOL_BYTES and isinstance(spool, io.BytesIO):
                disk = tempfile.TemporaryFile()
                disk.write(spool.getvalue())
                spool = disk
            spool.write(chunk)
    except Exception:
        # Broken chunk framing, or a client that went away mid-body.
        spool.close()
        spool = t.cast(t.IO[bytes], _MalformedBody())
        total = 1
    else:
        spool.seek(0)
        if total > limit:
            environ[TRUNCATED] = True
    environ["wsgi.input"] = spool
    environ["CONTENT_LENGTH"] = str(total)
    # The app now sees a body of known length: Werkzeug wraps the new stream
    # by its Content-Length (and answers 413 past MAX_CONTENT_LENGTH).
    del environ["wsgi.input_terminated"]
    del environ["HTTP_TRANSFER_ENCODING"]
    return spool
