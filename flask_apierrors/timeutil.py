"""ISO 8601 UTC times with ``Z``, the one spelling of time in every body.

Pure functions, no Flask: the client, the core and the features share them.
"""

from __future__ import annotations

import time
import typing as t
from datetime import datetime
from datetime import timezone

__all__ = ["format_time", "now_text", "parse_time", "utcnow"]

_FORMAT: t.Final = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def parse_time(value: str | datetime) -> datetime:
    """An aware UTC datetime from ISO 8601 text (``Z`` allowed) or a
    datetime; naive values are taken as UTC."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_time(value: datetime | float) -> str:
    """``2023-12-01T10:00:00Z`` from a datetime (naive is UTC) or epoch seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime(_FORMAT)
    return time.strftime(_FORMAT, time.gmtime(value))


_clock: tuple[int, str] = (-1, "")


def now_text() -> str:
    """Now, as :func:`format_time` spells it; formatted once per second (the
    pair is swapped in one assignment, so threads never see a torn value)."""
    global _clock
    now = int(time.time())
    second, text = _clock
    if now != second:
        text = time.strftime(_FORMAT, time.gmtime(now))
        _clock = (now, text)
    return text
