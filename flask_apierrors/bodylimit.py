"""Streamed (chunked) request bodies: enforce ``MAX_CONTENT_LENGTH`` and turn
malformed framing into a 400.

Werkzeug checks a declared ``Content-Length`` against ``MAX_CONTENT_LENGTH``,
but a chunked body is only cut off at the limit: the view silently gets the
first ``MAX_CONTENT_LENGTH`` bytes. And a server's own error about broken
chunk framing (gunicorn's ``InvalidChunkSize``) surfaces from
``wsgi.input`` as an unhandled exception, a 500 for a client's mistake.

:func:`buffer_streamed_body` runs before the view: it reads such a body up
to one byte past the limit into a spooled temporary file (memory up to
:data:`SPOOL_BYTES`, then disk), raises 413 when the body is too large and
400 when the framing is broken, and hands the view a plain stream with a
``Content-Length``. Requests with a ``Content-Length`` are left alone.
"""

from __future__ import annotations

import tempfile
import typing as t

from flask import current_app
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge

#: Bodies up to this size are buffered in memory, larger ones on disk.
SPOOL_BYTES: t.Final = 1 << 20

_READ: t.Final = 64 * 1024


def buffer_streamed_body() -> None:
    """A ``before_request`` hook: see the module docs."""
    environ = request.environ
    if (
        "wsgi.input_terminated" not in environ
        or environ.get("CONTENT_LENGTH")
        or environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked"
    ):
        return
    limit = request.max_content_length
    if limit is None or "stream" in request.__dict__:
        return  # no limit, or the body is being read already
    stream = environ["wsgi.input"]
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    total = 0
    try:
        while True:
            try:
                chunk = stream.read(min(_READ, limit + 1 - total))
            except Exception as e:
                # Broken chunk framing or a client that went away mid-body.
                raise BadRequest("Malformed request body") from e
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise RequestEntityTooLarge()
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    environ["wsgi.input"] = spool
    environ["CONTENT_LENGTH"] = str(total)
    # The app now sees a plain body of known length: Werkzeug wraps the new
    # stream by its Content-Length.
    del environ["wsgi.input_terminated"]
    del environ["HTTP_TRANSFER_ENCODING"]
    current_app.logger.debug("buffered a streamed request body of %d bytes", total)
    request.close = _closing(request.close, spool)  # type: ignore[method-assign]


def _closing(close: t.Callable[[], None], spool: t.IO[bytes]) -> t.Callable[[], None]:
    def close_both() -> None:
        try:
            close()
        finally:
            spool.close()

    return close_both
