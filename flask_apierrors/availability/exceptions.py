"""The availability errors the app raises when it decides so: 503
``service_unavailable`` (unavailable, maintenance, overload) and 507
``insufficient_storage``.
"""

from __future__ import annotations

import math
import os
import shutil
import typing as t

from ..errors import ApiError
from .state import MaintenanceState
from .state import utcnow

__all__ = [
    "InsufficientStorageError",
    "MaintenanceError",
    "OverloadedError",
    "UnavailableError",
    "ensure_free_space",
]


class UnavailableError(ApiError):
    """503 ``service_unavailable``, with a ``Retry-After`` header when
    ``retry_after`` is given.

    :param message: The sentence for the client.
    :param retry_after: Seconds until the client may retry.
    :param details: Extra context (for instance the documented "AI models
        unavailable" body's ``affected_models`` and ``available_models``).
    :param error_code: Another code (its catalog entry gives the status).
    :param headers: Extra response headers.

    .. versionadded:: 0.1
    """

    error_code = "service_unavailable"
    status = 503
    message = "Service temporarily unavailable"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        details: t.Mapping[str, t.Any] | None = None,
        error_code: str | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> None:
        self.retry_after = None if retry_after is None else max(1, math.ceil(retry_after))
        all_headers = dict(headers or {})
        if self.retry_after is not None:
            all_headers.setdefault("Retry-After", str(self.retry_after))
        # ApiError falls back to the class's code, message and status. The
        # message is never None: ApiError would take a lone code for it.
        super().__init__(error_code, message or "", details=details, headers=all_headers)


class MaintenanceError(UnavailableError):
    """503 for maintenance: ``maintenance_window`` and
    ``estimated_completion`` (``null`` while the end is unknown).

    :param state: The maintenance in progress.
    :param retry_after: ``Retry-After``; by default the seconds until the
        window ends (at least 1).
    """

    error_code = "service_unavailable"
    message = "Service temporarily unavailable for maintenance"
    #: Planned: one Sentry event per request of a maintenance would be noise.
    monitored = False

    def __init__(
        self,
        state: MaintenanceState | None = None,
        *,
        retry_after: int | None = None,
        message: str | None = None,
    ) -> None:
        self.state = state = state or MaintenanceState(enabled=True)
        if retry_after is None and state.end is not None:
            retry_after = max(1, math.ceil((state.end - utcnow()).total_seconds()))
        super().__init__(
            message or state.message,
            retry_after=retry_after,
            details=state.details(),
        )


class OverloadedError(UnavailableError):
    """503 when the app decides it is overloaded::

        {"retry_after": 30, "load_level": "high", "suggestion": "Please retry in 30 seconds"}

    :param retry_after: Seconds until a retry may work (also ``Retry-After``).
    :param load_level: ``"high"``, ``"critical"`` ... as the app measures it.
    :param suggestion: Advice for the client; by default "Please retry in
        N seconds".
    """

    message = "System temporarily overloaded"
    error_code = "service_unavailable"
    #: The app's own decision to shed load, not a fault.
    monitored = False

    def __init__(
        self,
        retry_after: float = 30,
        *,
        load_level: str = "high",
        suggestion: str | None = None,
        message: str | None = None,
        details: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        seconds = max(1, math.ceil(retry_after))
        body = {
            "retry_after": seconds,
            "load_level": load_level,
            "suggestion": suggestion or f"Please retry in {seconds} seconds",
            **(details or {}),
        }
        super().__init__(message, retry_after=seconds, details=body)


class InsufficientStorageError(ApiError):
    """507 ``insufficient_storage``, ``{"required": bytes, "available": bytes}``.

    An API that calls it ``STORAGE_ERROR`` passes
    ``error_code="STORAGE_ERROR"`` (and render it in the ``error_code``
    format) to answer exactly that.

    .. versionadded:: 0.1
    """

    error_code = "insufficient_storage"
    status = 507
    message = "Insufficient storage space"

    def __init__(
        self,
        *,
        required: int,
        available: int,
        message: str | None = None,
        error_code: str | None = None,
        details: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        self.required = required
        self.available = available
        super().__init__(
            error_code,
            message or "",  # never None: see UnavailableError
            details={"required": required, "available": available, **(details or {})},
        )


def ensure_free_space(
    path: str | os.PathLike[str],
    required: int,
    *,
    reserve: int = 0,
    error_code: str | None = None,
) -> int:
    """Raise :class:`InsufficientStorageError` unless the file system of
    ``path`` has ``required`` bytes free beyond ``reserve``; returns the
    bytes available (free minus reserve).

    :param reserve: Bytes always kept free (logs, the database ...).
    """
    available = max(0, shutil.disk_usage(path).free - reserve)
    if available < required:
        raise InsufficientStorageError(
            required=required, available=available, error_code=error_code
        )
    return available
