"""Counting the errors a program receives.

.. versionadded:: 0.1
"""

from __future__ import annotations

import collections
import threading
import typing as t
from datetime import datetime
from datetime import timezone

from .errors import ApiClientError
from .parse import error_from_response
from .transport import _status_of


class ErrorTracker:
    """Counts errors by status and code and keeps the latest ones;
    thread-safe::

        tracker = ErrorTracker()
        try:
            raise_for_error(response)
        except ApiClientError as e:
            tracker.track(e)
        tracker.summary()["most_common"]  # ("429_rate_limit_exceeded", 12)

    With requests, ``session.hooks["response"].append(tracker.requests_hook)``
    tracks every response of a session.

    :param max_history: How many errors :meth:`history` keeps.
    """

    def __init__(self, max_history: int = 1000) -> None:
        if max_history < 1:
            raise ValueError("max_history must be >= 1.")
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._by_status: collections.Counter[int] = collections.Counter()
        self._by_code: collections.Counter[str] = collections.Counter()
        self._history: collections.deque[dict[str, t.Any]] = collections.deque(maxlen=max_history)

    def track(self, error: ApiClientError) -> None:
        """Count ``error`` and add it to the history."""
        key = f"{error.status}_{error.code}"
        record = {
            "timestamp": datetime.now(timezone.utc),
            "status_code": error.status,
            "error_code": error.code,
            "message": error.message,
            "correlation_id": error.correlation_id,
        }
        with self._lock:
            self._counts[key] += 1
            self._by_status[error.status] += 1
            self._by_code[error.code] += 1
            self._history.append(record)

    #: Another name of :meth:`track`.
    track_error = track

    def track_response(self, response: t.Any) -> ApiClientError | None:
        """Track ``response`` if it is an error; returns the error."""
        error = error_from_response(response)
        if error is not None:
            self.track(error)
        return error

    def requests_hook(self, response: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        """A requests ``response`` hook."""
        self.track_response(response)

    def httpx_hook(self, response: t.Any) -> None:
        """An httpx ``Client`` response event hook (reads error bodies)."""
        if _status_of(response) >= 400:
            response.read()
            self.track_response(response)

    async def ahttpx_hook(self, response: t.Any) -> None:
        """An httpx ``AsyncClient`` response event hook."""
        if _status_of(response) >= 400:
            await response.aread()
            self.track_response(response)

    @property
    def total(self) -> int:
        """Errors tracked."""
        with self._lock:
            return sum(self._counts.values())

    def counts(self) -> dict[str, int]:
        """Errors per ``"<status>_<code>"``."""
        with self._lock:
            return dict(self._counts)

    def history(self) -> list[dict[str, t.Any]]:
        """The latest errors, oldest first."""
        with self._lock:
            return list(self._history)

    def summary(self, recent: int = 10) -> dict[str, t.Any]:
        """``total_errors``, ``error_types`` (per ``"<status>_<code>"``),
        ``by_status``, ``by_code``, ``most_common`` (``(key, count)`` or
        ``None``) and the ``recent`` latest errors."""
        with self._lock:
            counts = dict(self._counts)
            most = self._counts.most_common(1)
            return {
                "total_errors": sum(counts.values()),
                "error_types": counts,
                "by_status": dict(self._by_status),
                "by_code": dict(self._by_code),
                "most_common": most[0] if most else None,
                "recent_errors": list(self._history)[-recent:] if recent > 0 else [],
            }

    #: Another name of :meth:`summary`.
    get_error_summary = summary

    def reset(self) -> None:
        """Forget everything."""
        with self._lock:
            self._counts.clear()
            self._by_status.clear()
            self._by_code.clear()
            self._history.clear()
