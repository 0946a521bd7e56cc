"""What the HTTP libraries hand back, read alike for requests, httpx and
Werkzeug: a response's status, headers and body, how long the server asks
to wait, and which exceptions are connection failures.

.. versionadded:: 0.1
"""

from __future__ import annotations

import email.utils
import json
import time
import typing as t
from datetime import timezone

# Longest piece of a non-JSON body kept on the exception.
_MAX_TEXT: t.Final = 2000


def _header(headers: t.Any, name: str) -> str | None:
    try:
        value = headers.get(name)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _parse_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` value (delta seconds or an HTTP date) as seconds."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, when.timestamp() - now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _reset_seconds(value: str | None, now: float) -> float | None:
    """``X-RateLimit-Reset``: an epoch timestamp (most servers, including
    flask-limiter) or, when small, seconds from now."""
    seconds = _parse_seconds(value, now)
    if seconds is None:
        return None
    if seconds > 10**9:
        return max(0.0, seconds - now)
    return seconds


def retry_after(
    response: t.Any, details: t.Mapping[str, t.Any] | None = None, *, now: float | None = None
) -> float | None:
    """Seconds the server asks to wait: ``Retry-After``, else
    ``details.retry_after``, else ``X-RateLimit-Reset`` (on a 429); ``None``
    when it does not say.

    :param response: A requests, httpx or Werkzeug response.
    :param details: The parsed body's ``details``, if known.
    :param now: The current time (epoch seconds), for tests.
    """
    now = time.time() if now is None else now
    headers = getattr(response, "headers", None)
    seconds = _parse_seconds(_header(headers, "Retry-After"), now)
    if seconds is not None:
        return seconds
    value = (details or {}).get("retry_after")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if _status_of(response) == 429:
        return _reset_seconds(_header(headers, "X-RateLimit-Reset"), now)
    return None


def _status_of(response: t.Any) -> int:
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "status", None)
    if not isinstance(status, int):
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
    except (ValueError, UnicodeDecodeError):
        return content[:_MAX_TEXT].decode("utf-8", "replace"), False


def is_connection_error(exc: BaseException, *, sent: bool | None = None) -> bool:
    """Whether ``exc`` is a connection failure of requests, httpx or the
    standard library (refused, reset, DNS, connect timeout), as opposed to a
    read timeout or a bug.

    :param sent: ``False``: only failures that happened before the request
        was sent (safe to retry for any method).
    """
    not_sent = _not_sent(exc)
    if sent is False:
        return not_sent
    if not_sent:
        return True
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is optional
        pass
    else:
        if isinstance(exc, requests.exceptions.ConnectionError):
            return True
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is optional
        pass
    else:
        if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
            return True
    return isinstance(exc, ConnectionError)


def _not_sent(exc: BaseException) -> bool:
    try:
        import requests
        import urllib3.exceptions
    except ImportError:  # pragma: no cover - requests is optional
        pass
    else:
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return True
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = exc.args[0] if exc.args else None
            reason = getattr(reason, "reason", reason)
            if isinstance(reason, urllib3.exceptions.NewConnectionError):
                return True
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is optional
        pass
    else:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return True
    return isinstance(exc, ConnectionRefusedError)
