"""What the HTTP libraries hand back, read alike for requests, httpx, urllib
and Werkzeug: a response's status, headers and body, how long the server
asks to wait, and closing it.

:func:`parse_retry_after` is the one ``Retry-After`` parser of the package
(the client's retries and errors, and the upstream errors, use it). It is
strict and bounded: delta-seconds are ASCII digits only, dates are HTTP
dates, and no value asks for more than :data:`MAX_RETRY_AFTER` seconds.

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import re
import time
import typing as t
from datetime import timezone

#: The longest wait a server is taken to ask for (one day): a larger
#: ``Retry-After``, ``X-RateLimit-Reset`` or ``details.retry_after`` counts
#: as this.
MAX_RETRY_AFTER: t.Final = 86_400

# Longest piece of a non-JSON body kept on the exception.
_MAX_TEXT: t.Final = 2000
# X-RateLimit-Reset: seconds or an epoch timestamp, perhaps with a fraction.
_RESET: t.Final = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")


def header(response: t.Any, name: str) -> str | None:
    """A header of a requests, httpx, urllib or Werkzeug response."""
    try:
        value = response.headers.get(name)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def parse_retry_after(
    value: str | None, *, now: float | None = None, maximum: int = MAX_RETRY_AFTER
) -> int | None:
    """Seconds from a ``Retry-After`` value, rounded up; never raises.

    Delta-seconds must be ASCII digits (``"-5"``, ``"1.5"`` and ``"²"`` are no
    value); an HTTP date in the past gives 0, one without a zone is UTC.

    :param value: The header's value.
    :param now: The current POSIX time (for tests).
    :param maximum: Longer waits count as this many seconds.
    :return: ``None`` when missing or invalid.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        digits = value.lstrip("0") or "0"
        # Capped before int(): thousands of digits are slow, then refused.
        return maximum if len(digits) > len(str(maximum)) else min(int(digits), maximum)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(maximum, max(0, math.ceil(seconds)))


def _reset_seconds(value: str | None, now: float, maximum: int) -> float | None:
    """``X-RateLimit-Reset``: an epoch timestamp (most servers, including
    flask-limiter) or, when small, seconds from now."""
    if value is None or not _RESET.fullmatch(value.strip()):
        return None
    seconds = float(value)
    if seconds > 10**9:
        seconds -= now
    return min(float(maximum), max(0.0, seconds))


def retry_after(
    response: t.Any,
    details: t.Mapping[str, t.Any] | None = None,
    *,
    now: float | None = None,
    maximum: int = MAX_RETRY_AFTER,
) -> float | None:
    """Seconds the server asks to wait: ``Retry-After``, else
    ``details.retry_after``, else ``X-RateLimit-Reset`` (on a 429); ``None``
    when it does not say.

    :param response: A requests, httpx or Werkzeug response.
    :param details: The parsed body's ``details``, if known.
    :param now: The current time (epoch seconds), for tests.
    :param maximum: Longer waits count as this many seconds.
    """
    now = time.time() if now is None else now
    seconds = parse_retry_after(header(response, "Retry-After"), now=now, maximum=maximum)
    if seconds is not None:
        return float(seconds)
    value = (details or {}).get("retry_after")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(min(value, maximum))
    if status_of(response) == 429:
        return _reset_seconds(header(response, "X-RateLimit-Reset"), now, maximum)
    return None


def status_of(response: t.Any) -> int | None:
    """The status of a requests, httpx, urllib or Werkzeug response; ``None``
    for anything else."""
    for name in ("status_code", "status", "code"):
        status = getattr(response, name, None)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
    return None


def _status_of(response: t.Any) -> int:
    status = status_of(response)
    if status is None:
        raise TypeError(f"Not an HTTP response: {type(response).__name__} has no status_code.")
    return status


def _content_of(response: t.Any) -> bytes | None:
    """The body bytes of a requests, httpx or Werkzeug response, or
    ``None`` when a streamed body was not read."""
    try:
        content = response.content
    except AttributeError:
        # A Werkzeug response: no ``content``, but ``get_data()``.
        get_data = getattr(response, "get_data", None)
        data = get_data() if callable(get_data) else None
        return data if isinstance(data, bytes) else None
    except Exception:
        # httpx.ResponseNotRead: a stream nobody read yet.
        try:
            content = response.read()
        except Exception:  # an async stream, or a closed one
            return None
    return content if isinstance(content, bytes) else None


def _json_body(content: bytes | None) -> tuple[t.Any, bool]:
    if not content:
        return None, False
    try:
        return json.loads(content), True
    except (ValueError, RecursionError):  # nested past the parser's depth
        return content[:_MAX_TEXT].decode("utf-8", "replace"), False


def close_quietly(response: t.Any) -> None:
    """Release a response's connection; never raises. An httpx async
    response refuses a sync close (once read, it has released its
    connection), and a ``requests.Response`` built by hand, as tests build
    them, has no connection to close (``raw`` is ``None``)."""
    close = getattr(response, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # nothing left to release
            close()


async def aclose_quietly(response: t.Any) -> None:
    """:func:`close_quietly` for an httpx ``AsyncClient`` response."""
    aclose = getattr(response, "aclose", None)
    if callable(aclose):
        await aclose()
    else:
        close_quietly(response)
