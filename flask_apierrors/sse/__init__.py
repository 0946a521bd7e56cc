"""Errors of streaming responses as Server-Sent Events.

Once a stream has sent its first event the status line is gone, so an error
becomes an ``event: error`` / ``event: close`` pair instead, and the stream
ends cleanly. The ``error`` data carries what the HTTP body would (rendered
by the same converters and format): the code as the format spells it, the
message, the details, the context the app attached (``item_id`` ...) and the
correlation id. :func:`event_stream` (a view decorator) and
:func:`stream_events` (a response factory) do this for every exception a
stream raises; one before the first event is still an ordinary JSON error
response.

.. versionadded:: 0.1
"""

from __future__ import annotations

from .events import EVENT_STREAM
from .events import RESERVED_KEYS
from .events import close_event
from .events import error_data
from .events import error_events
from .events import event_context
from .events import event_data
from .events import spelled_code
from .events import sse_event
from .stream import event_stream
from .stream import stream_events

__all__ = [
    "EVENT_STREAM",
    "RESERVED_KEYS",
    "close_event",
    "error_data",
    "error_events",
    "event_context",
    "event_data",
    "event_stream",
    "spelled_code",
    "sse_event",
    "stream_events",
]
