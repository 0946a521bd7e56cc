"""HTTP statuses by name: the reason phrase and the built-in error code of a
status. Pure (no Flask, no Werkzeug): the catalog and the client share it.
"""

from __future__ import annotations

import re
import typing as t
from http import HTTPStatus

__all__ = ["RENAMED", "check_error_status", "code_for_status", "reason_phrase"]

#: Statuses whose built-in code is not their reason phrase in snake case
#: (the names API documentation commonly uses).
RENAMED: t.Final = {
    413: "payload_too_large",
    414: "uri_too_long",
    416: "range_not_satisfiable",
    429: "rate_limit_exceeded",
}


def check_error_status(status: t.Any, what: str) -> None:
    """Raise ValueError, naming ``what``, unless ``status`` is an HTTP error
    status (a whole number, 400-599)."""
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"{what}: status {status!r} is not an HTTP error status (400-599).")


def reason_phrase(status: int, default: str = "Unknown Error") -> str:
    """The HTTP reason phrase for ``status`` (``default`` if none)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default


def code_for_status(status: int) -> str:
    """The built-in code of an HTTP status: ``404`` -> ``not_found``,
    ``429`` -> ``rate_limit_exceeded``; ``unknown_error`` for a status
    without a phrase."""
    if status in RENAMED:
        return RENAMED[status]
    phrase = reason_phrase(status, "").lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "_", phrase).strip("_") or "unknown_error"
