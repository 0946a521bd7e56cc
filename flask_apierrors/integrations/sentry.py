"""Sentry: the events of a request carry its ids, so the ``error_id`` a
client quotes from a 500 body finds its event.

Every event sentry-sdk captures while a request of an app with ApiErrors
is handled gets the tag ``correlation_id``; an event with an exception also
gets ``error_id`` where the request has one: the id its 500 body and log
line show (made now if Sentry's ``got_request_exception`` receiver ran
before the extension's). A 502 or 503 shows none, and its event gets
none. Added at the first request of an app once ``sentry_sdk`` is imported:
one event processor per process, which does nothing outside such a
request.

.. versionadded:: 0.2
"""

from __future__ import annotations

import importlib.util
import sys
import typing as t

from ..correlation import current_state
from ..correlation import error_id_of
from ..plugins import Plugin

if t.TYPE_CHECKING:
    from ..state import AppState

_added = False


def tag_ids(event: t.Any, hint: t.Any) -> t.Any:
    """The event processor: the request's ids as tags of ``event`` (a
    sentry-sdk event, a dict)."""
    found = current_state()
    if found is None:
        return event
    ids, settings = found
    tags = event.get("tags")
    if not isinstance(tags, dict):
        tags = event["tags"] = {}
    tags.setdefault("correlation_id", ids.correlation_id)
    # The error id a body or log line shows; made now only for an exception
    # Flask found unhandled, when Sentry's receiver ran before the
    # extension's (``unhandled`` is set by then for every rendered 5xx, and
    # an event made of a log record comes from a line already written).
    made = ids.error_id is not None
    if event.get("exception") and (made or not (ids.unhandled or "logger" in event)):
        tags.setdefault("error_id", error_id_of(ids, settings))
    return event


def _add_processor(state: AppState) -> None:
    global _added
    if not _added and "sentry_sdk" in sys.modules:
        from sentry_sdk.scope import add_global_event_processor

        add_global_event_processor(tag_ids)
        _added = True


def _setup(state: AppState) -> None:
    state.on_first_request(_add_processor)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without ``sentry-sdk``."""
    if importlib.util.find_spec("sentry_sdk") is None:  # pragma: no cover - optional
        return None
    return Plugin("sentry", setup=_setup, order=90)
