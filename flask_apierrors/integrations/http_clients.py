"""What flask-apierrors knows about HTTP client libraries: which exceptions
of requests, httpx and the standard library are upstream failures, where
their error responses are, and how to send the correlation id with their
requests. The libraries are never imported here unless the app already did
(``sys.modules``), except by :func:`forward_correlation_id`.
"""

from __future__ import annotations

import errno
import re
import socket
import sys
import typing as t

from flask import current_app
from flask import has_app_context
from flask import has_request_context

from ..correlation import get_correlation_id

if t.TYPE_CHECKING:
    import requests

__all__ = [
    "body_snippet",
    "classify",
    "close_quietly",
    "error_response",
    "forward_correlation_id",
    "forward_headers",
    "httpx_async_event_hooks",
    "httpx_event_hooks",
    "safe_url",
    "scrub",
    "status_of",
    "timeout_of",
]


# -- classifying exceptions ---------------------------------------------------


def _causes(exc: BaseException) -> t.Iterator[BaseException]:
    """``exc`` and what it wraps (``__cause__``, ``__context__``, urllib3's
    ``reason``, exceptions in ``args``), breadth first, bounded."""
    queue = [exc]
    seen: set[int] = set()
    while queue and len(seen) < 32:
        cur = queue.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for sub in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args):
            if isinstance(sub, BaseException):
                queue.append(sub)


def _socket_reason(exc: BaseException, default: str) -> str:
    """A fixed phrase for the socket error behind ``exc``."""
    for cur in _causes(exc):
        code = getattr(cur, "errno", None)
        if isinstance(cur, ConnectionRefusedError) or code == errno.ECONNREFUSED:
            return "Connection refused"
        if isinstance(cur, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)) or (
            code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
        ):
            return "Connection reset"
        if isinstance(cur, socket.gaierror):
            return "Name resolution failed"
        if isinstance(cur, TimeoutError):
            return "Connection timeout"
    return default


_Found = tuple[str, str | None]


def _classify_requests(exc: BaseException) -> _Found | t.Literal[False] | None:
    mod = sys.modules.get("requests.exceptions")
    if mod is None or not isinstance(exc, mod.RequestException):
        return None
    if isinstance(exc, mod.ConnectTimeout):
        return "connection", "Connection timeout"
    if isinstance(exc, mod.Timeout):
        return "timeout", None
    if isinstance(exc, mod.ChunkedEncodingError):
        return "connection", _socket_reason(exc, "Incomplete response")
    if isinstance(exc, mod.ContentDecodingError):
        return "connection", "Invalid response"
    if isinstance(exc, mod.ConnectionError):
        return "connection", _socket_reason(exc, "Connection failed")
    if isinstance(exc, mod.TooManyRedirects):
        return "connection", "Too many redirects"
    # Invalid URL, missing schema ...: our own mistake, not the upstream's.
    return False


def _classify_httpx(exc: BaseException) -> _Found | t.Literal[False] | None:
    mod = sys.modules.get("httpx")
    if mod is None or not isinstance(exc, (mod.HTTPError, mod.InvalidURL)):
        return None
    if isinstance(exc, mod.ConnectTimeout):
        return "connection", "Connection timeout"
    if isinstance(exc, mod.TimeoutException):
        return "timeout", None
    if isinstance(exc, mod.ConnectError):
        return "connection", _socket_reason(exc, "Connection failed")
    if isinstance(exc, (mod.NetworkError, mod.RemoteProtocolError, mod.ProxyError)):
        return "connection", _socket_reason(exc, "Invalid response")
    if isinstance(exc, mod.DecodingError):
        return "connection", "Invalid response"
    if isinstance(exc, mod.TooManyRedirects):
        return "connection", "Too many redirects"
    return False


def _classify_stdlib(exc: BaseException) -> _Found | None:
    import http.client
    import urllib.error

    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _classify_stdlib(reason) or ("connection", "Connection failed")
        return "connection", "Connection failed"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout", None
    if isinstance(exc, (ConnectionError, socket.gaierror)):
        return "connection", _socket_reason(exc, "Connection failed")
    if isinstance(exc, http.client.IncompleteRead):
        return "connection", "Incomplete response"
    if isinstance(exc, http.client.HTTPException):
        return "connection", "Invalid response"
    return None


def classify(exc: BaseException) -> tuple[str, str | None] | None:
    """``(kind, phrase)`` for a transport failure of requests, httpx or the
    standard library, or ``None`` if ``exc`` is not one. Error *responses*
    (``raise_for_status``) are found by :func:`error_response`."""
    for classifier in (_classify_requests, _classify_httpx):
        found = classifier(exc)
        if found is False:
            return None
        if found is not None:
            return found
    return _classify_stdlib(exc)


def error_response(exc: BaseException) -> t.Any:
    """The response of a ``raise_for_status`` error (requests, httpx, urllib)."""
    requests_exc = sys.modules.get("requests.exceptions")
    if requests_exc is not None and isinstance(exc, requests_exc.HTTPError):
        return exc.response
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return exc.response
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return exc
    return None


def status_of(response: t.Any) -> int | None:
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "code", None)
    return status if isinstance(status, int) else None


def timeout_of(exc: BaseException) -> float | None:
    """The timeout httpx applied to the request that timed out."""
    httpx = sys.modules.get("httpx")
    if httpx is None or not isinstance(exc, httpx.TimeoutException):
        return None
    try:
        timeouts = exc.request.extensions.get("timeout") or {}
    except RuntimeError:  # no request attached
        return None
    name = {
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
        httpx.ConnectTimeout: "connect",
    }.get(type(exc), "read")
    value = timeouts.get(name)
    return float(value) if isinstance(value, (int, float)) else None


# -- log helpers --------------------------------------------------------------


# ``//user:password@`` in URLs quoted by exception messages.
_USERINFO: t.Final = re.compile(r"//[^/@\s'\"]*@")
# Query strings of quoted URLs (they may carry API keys).
_QUERY: t.Final = re.compile(r"\?[^\s'\"]+")


def safe_url(response_or_request: t.Any) -> str:
    """Scheme, host and path of a URL, without credentials or query (log only)."""
    import urllib.parse

    url = getattr(response_or_request, "url", None)
    if url is None:
        return "-"
    parts = urllib.parse.urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def body_snippet(response: t.Any, limit: int = 300) -> str | None:
    """The start of an already-read upstream body, for the log only."""
    import urllib.error

    content = None
    try:
        httpx = sys.modules.get("httpx")
        if httpx is not None and isinstance(response, httpx.Response):
            content = response.content  # raises ResponseNotRead if streamed
        elif isinstance(response, urllib.error.HTTPError):
            try:
                content = response.read(limit)
            finally:
                response.close()
        elif getattr(response, "_content_consumed", False):
            content = response.content
    except Exception:
        return None
    if not isinstance(content, bytes):
        return None
    return content[:limit].decode("utf-8", "replace")


def close_quietly(response: t.Any) -> None:
    """Release an error response's connection. An httpx async response
    refuses a sync close; once read, it has released its connection."""
    close = getattr(response, "close", None)
    if close is not None:
        try:
            close()
        except RuntimeError:
            pass


def scrub(text: str) -> str:
    """``text`` (an exception message) without URL credentials and query
    strings, for the log."""
    return _QUERY.sub("?[query]", _USERINFO.sub("//", text))


# -- correlation id forwarding --------------------------------------------------


def _id_header() -> str:
    if has_app_context():
        state = current_app.extensions.get("apierrors")
        if state is not None:
            name: str = state.settings.response_id_header
            return name
    return "X-Request-ID"


def forward_headers(headers: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` plus the current correlation id (``X-Request-ID`` by
    default, the ``response_id_header`` setting), for a call to an upstream::

        requests.get(url, headers=forward_headers({"Accept": "application/json"}))

    Outside a request the id is left out.
    """
    rv = dict(headers or {})
    cid = get_correlation_id() if has_request_context() else None
    if cid is not None:
        rv.setdefault(_id_header(), cid)
    return rv


def _add_id(headers: t.MutableMapping[str, str]) -> None:
    for name, value in forward_headers().items():
        if name not in headers:
            headers[name] = value


def _httpx_hook(request: t.Any) -> None:
    _add_id(request.headers)


async def _httpx_async_hook(request: t.Any) -> None:
    _add_id(request.headers)


def httpx_event_hooks() -> dict[str, list[t.Callable[..., t.Any]]]:
    """Event hooks for an ``httpx.Client`` that forward the correlation id:
    ``httpx.Client(event_hooks=httpx_event_hooks())``."""
    return {"request": [_httpx_hook]}


def httpx_async_event_hooks() -> dict[str, list[t.Callable[..., t.Any]]]:
    """The same for an ``httpx.AsyncClient``."""
    return {"request": [_httpx_async_hook]}


def forward_correlation_id(session: requests.Session) -> requests.Session:
    """Make a requests ``Session`` send the correlation id with every request
    (its ``http://`` and ``https://`` adapters are replaced by ones that add
    the header, keeping their pool sizes and retries); returns ``session``."""
    from requests.adapters import HTTPAdapter

    class CorrelationIdAdapter(HTTPAdapter):
        def add_headers(self, request: t.Any, **kwargs: t.Any) -> None:
            super().add_headers(request, **kwargs)
            _add_id(request.headers)

    for prefix in ("http://", "https://"):
        old = session.get_adapter(prefix)
        options: dict[str, t.Any] = {}
        if isinstance(old, HTTPAdapter):
            options = {
                "pool_connections": getattr(old, "_pool_connections", 10),
                "pool_maxsize": getattr(old, "_pool_maxsize", 10),
                "max_retries": old.max_retries,
                "pool_block": getattr(old, "_pool_block", False),
            }
        old.close()
        session.mount(prefix, CorrelationIdAdapter(**options))
    return session
