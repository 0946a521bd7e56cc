"""Correlation ids: read or generate one per request, keep it with the
request (in its WSGI environ, never on ``g``, which belongs to the app
context a test suite may keep across requests), echo it on every response,
and offer it to logging.

An incoming id is used only if it matches :data:`VALID_ID`; anything else
(control characters, 129+ characters, non-ASCII ...) is dropped, never
echoed and never truncated, and a new id is generated.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import re
import traceback
import typing as t

from flask import current_app
from flask import has_request_context
from flask import request

if t.TYPE_CHECKING:
    from .config import Settings

#: What an incoming correlation id must look like to be reused: at least one
#: letter or digit, so no id reads like the ``-`` of a log line outside a
#: request.
VALID_ID: t.Final = re.compile(r"(?=[._-]*[A-Za-z0-9])[A-Za-z0-9._-]{1,128}")


class RequestState:
    """Per-request data, kept in the request's WSGI environ."""

    __slots__ = ("correlation_id", "error_id", "settings", "signalled", "unhandled")

    def __init__(self, correlation_id: str, settings: Settings) -> None:
        self.correlation_id = correlation_id
        #: The settings of the app whose middleware made it.
        self.settings = settings
        self.error_id: str | None = None
        #: The error was logged and reported (Flask logs unhandled exceptions
        #: itself; the extension logs the 5xx it renders).
        self.unhandled = False
        #: The exception the extension itself sent ``got_request_exception``
        #: for (a 5xx it rendered), so receivers can tell it from Flask's.
        self.signalled: BaseException | None = None


#: 64-bit ids as hex, cut from one read of the OS CSPRNG (4 KiB per system
#: call: a call costs from half a microsecond to tens of them on a busy or
#: sandboxed machine). ``deque.popleft`` is atomic, so threads need no lock;
#: a forked worker starts with none of its parent's.
_ids: t.Final[collections.deque[str]] = collections.deque()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.clear)


def new_id(prefix: str) -> str:
    """A fresh random id such as ``req_3f2a9c61d0b7e845``: 64 bits from the
    operating system's CSPRNG, so no number of observed ids predicts the
    next one (another client's ``error_id`` included), and no seeding of
    :mod:`random` or fork can make ids repeat."""
    try:
        return prefix + _ids.popleft()
    except IndexError:
        text = os.urandom(4096).hex()
        _ids.extend(text[i : i + 16] for i in range(16, len(text), 16))
        return prefix + text[:16]


@functools.lru_cache(maxsize=32)
def _environ_keys(headers: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("HTTP_" + name.upper().replace("-", "_") for name in headers)


#: Where the request's :class:`RequestState` lives in the WSGI environ.
ENVIRON_KEY: t.Final = "flask_apierrors.request_state"


def environ_state(environ: t.MutableMapping[str, t.Any], settings: Settings) -> RequestState:
    """The :class:`RequestState` of the request ``environ`` belongs to,
    created on first use. Needs no request context (the middleware uses it)."""
    state: RequestState | None = environ.get(ENVIRON_KEY)
    if state is None:
        cid = None
        for key in _environ_keys(settings.request_id_headers):
            value = environ.get(key)
            if value is not None:
                # First header present decides; an invalid value is dropped,
                # never echoed and never repaired.
                if VALID_ID.fullmatch(value):
                    cid = value
                break
        state = RequestState(cid or new_id(settings.request_id_prefix), settings)
        environ[ENVIRON_KEY] = state
    return state


def error_id_of(state: RequestState, settings: Settings) -> str:
    """The error id of the request ``state`` belongs to, created on first use."""
    if state.error_id is None:
        state.error_id = new_id(settings.error_id_prefix)
    return state.error_id


def current_state() -> tuple[RequestState, Settings] | None:
    """The current request's :class:`RequestState` (created on first use)
    and the app's settings, or ``None`` outside a request or in an app
    without :class:`~flask_apierrors.ApiErrors`: one look at the context."""
    if not has_request_context():
        return None
    environ = request.environ
    state: RequestState | None = environ.get(ENVIRON_KEY)
    if state is None:
        ext = current_app.extensions.get("apierrors")
        if ext is None:
            return None
        state = environ_state(environ, ext.settings)
    return state, state.settings


def get_correlation_id() -> str | None:
    """The current request's correlation id, or ``None`` outside a request
    (or in an app without :class:`~flask_apierrors.ApiErrors`)."""
    found = current_state()
    return found[0].correlation_id if found is not None else None


class CorrelationIdFilter(logging.Filter):
    """Adds ``correlation_id`` and ``error_id`` to every log record (``"-"``
    outside a request), so a format string can use ``%(correlation_id)s``.

    Installed on ``app.logger`` by :class:`~flask_apierrors.ApiErrors`; add it
    to your own handlers to get ids on other loggers' records too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        found = current_state()
        state = found[0] if found is not None else None
        if not hasattr(record, "correlation_id"):
            record.correlation_id = state.correlation_id if state is not None else "-"
        if not hasattr(record, "error_id"):
            record.error_id = (state.error_id if state is not None else None) or "-"
        return True


#: Control characters (newlines, ESC of ANSI sequences, NEL ...), line and
#: paragraph separators, and the bidirectional controls that reorder how a
#: line is displayed (U+202E ...).
_CONTROL: t.Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def escape_log(text: str) -> str:
    """``text`` with control, ANSI-escape and bidirectional characters
    escaped (``\\n``, ``\\x1b``, ``\\u202e``), so request data cannot
    forge, colour or reorder log lines."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class ExceptionLogTagger(logging.Filter):
    """Tags Flask's own "Exception on ..." record of an unhandled exception
    with the error id and correlation id, so the logged traceback can be
    found from the ``error_id`` a client reports, whatever the log format.

    Flask writes the raw request path into that line, and an exception's
    text may hold request data too: control, ANSI and bidirectional
    characters are escaped in both (the traceback is formatted here, once).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_text is None and _will_format(record):
            record.exc_text = format_exception(record.exc_info)
        if record.exc_info and record.levelno >= logging.ERROR:
            found = current_state()
            if found is None:
                return True
            state, settings = found
            if state.unhandled and isinstance(record.msg, str) and not record.args:
                eid = error_id_of(state, settings)
                suffix = f" [error_id={eid} correlation_id={state.correlation_id}]"
                if not record.msg.endswith(suffix):
                    record.msg = escape_log(record.msg) + suffix
        return True


def _will_format(record: logging.LogRecord) -> bool:
    """Whether a handler will write ``record`` (the traceback is formatted
    here only then: a record that only reaches NullHandlers costs nothing)."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    found = False
    while logger is not None:
        for handler in logger.handlers:
            found = True
            if not isinstance(handler, logging.NullHandler) and record.levelno >= handler.level:
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    return not found and logging.lastResort is not None


#: Parts of a formatted traceback that are the traceback's own text.
_FIXED_PARTS: t.Final = (
    "Traceback (most recent call last):\n",
    "\nThe above exception was the direct cause of the following exception:\n\n",
    "\nDuring handling of the above exception, another exception occurred:\n\n",
)


def format_exception(exc_info: t.Any) -> str:
    """A traceback as :class:`logging.Formatter` writes it, with the
    exceptions' own text (``Type: message`` and notes) escaped by
    :func:`escape_log`; frames are left as Python prints them."""
    if exc_info is True or not isinstance(exc_info, tuple):
        return ""
    parts = []
    for part in traceback.format_exception(*exc_info):
        if part.startswith("  File ") or part in _FIXED_PARTS:
            parts.append(part)
        else:
            text = part[:-1] if part.endswith("\n") else part
            parts.append(escape_log(text) + "\n")
    return "".join(parts).rstrip("\n")
