"""Failed calls, classified once for the client's retries and the upstream
errors: which exceptions of requests, httpx, urllib3 and the standard library
are transport failures, of which kind, and whether the request had left. No
library is imported: one the app did not import raises nothing.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import socket
import sys
import typing as t

#: The kinds of failure: ``connection`` (refused, reset, connect timeout,
#: broken response), ``status`` (an error status), ``rate_limited`` (429),
#: ``unavailable`` (503), ``timeout`` (no answer in time).
KINDS: t.Final = ("connection", "status", "rate_limited", "unavailable", "timeout")


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, as a retry policy sees it.

    :param kind: One of :data:`KINDS`.
    :param status: The status of an error response.
    :param retry_after: Seconds the server asked to wait, if it said.
    :param sent: ``False`` when the request never left (refused, name not
        resolved, connect timeout).
    :param phrase: A fixed phrase for a connection failure
        (``"Connection refused"``).
    """

    kind: str
    status: int | None = None
    retry_after: float | None = None
    sent: bool = True
    phrase: str | None = None

    @property
    def processed(self) -> bool:
        """Whether the server may have acted on the request: not after 429
        and 503, which answer first, nor when it never left."""
        return self.sent if self.status is None else self.status not in (429, 503)


def status_kind(status: int, unavailable: t.Collection[int] = (429, 503)) -> str:
    """The kind of an error ``status``: ``rate_limited`` (429) or
    ``unavailable`` when in ``unavailable`` (the statuses that say when to
    come back), else ``status``."""
    if status not in unavailable:
        return "status"
    return "rate_limited" if status == 429 else "unavailable"


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


def _broken(exc: BaseException, default: str, *, sent: bool = True) -> Failure:
    """A ``connection`` failure, phrased after the socket error behind ``exc``."""
    urllib3 = sys.modules.get("urllib3.exceptions")
    for cur in _causes(exc):
        if urllib3 is not None and isinstance(cur, urllib3.NewConnectionError):
            sent = False
        code = getattr(cur, "errno", None)
        if isinstance(cur, ConnectionRefusedError) or code == errno.ECONNREFUSED:
            return Failure("connection", sent=False, phrase="Connection refused")
        if isinstance(cur, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)) or (
            code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
        ):
            return Failure("connection", sent=sent, phrase="Connection reset")
        if isinstance(cur, socket.gaierror):
            return Failure("connection", sent=False, phrase="Name resolution failed")
        if isinstance(cur, TimeoutError):
            return Failure("connection", sent=sent, phrase="Connection timeout")
    return Failure("connection", sent=sent, phrase=default)


_TIMEOUT: t.Final = Failure("timeout")
_CONNECT_TIMEOUT: t.Final = Failure("connection", sent=False, phrase="Connection timeout")
_INVALID: t.Final = Failure("connection", phrase="Invalid response")
_REDIRECTS: t.Final = Failure("connection", phrase="Too many redirects")


#: An HTTP library's exceptions, most specific first, and their failure (or
#: how to make it from the exception); ``None`` for its other exceptions.
#: Made once per module (cached), as every failed attempt is classified.
_Rules: t.TypeAlias = tuple[
    tuple[t.Any, Failure | t.Callable[[BaseException], Failure] | None], ...
]


def _requests_connection_error(exc: BaseException) -> Failure:
    """requests' ``ConnectionError``: also what it raises for a read timeout
    while the body streams (urllib3's ``ReadTimeoutError``), which is a
    timeout once connected, as httpx says, not a connection failure."""
    urllib3 = sys.modules.get("urllib3.exceptions")
    if urllib3 is not None and any(isinstance(c, urllib3.ReadTimeoutError) for c in _causes(exc)):
        return _TIMEOUT
    return _broken(exc, "Connection failed")


@functools.cache
def _requests_rules(mod: t.Any) -> _Rules:
    # ``JSONDecodeError`` (requests >= 2.27): ``response.json()`` on a body
    # that is no JSON; the server's bytes, unlike ``InvalidJSONError``.
    json_error = getattr(mod, "JSONDecodeError", ())
    return (
        (mod.ConnectTimeout, _CONNECT_TIMEOUT),
        (mod.Timeout, _TIMEOUT),
        (mod.ChunkedEncodingError, lambda exc: _broken(exc, "Incomplete response")),
        ((mod.ContentDecodingError, json_error), _INVALID),
        (mod.ConnectionError, _requests_connection_error),
        (mod.TooManyRedirects, _REDIRECTS),
        # Invalid URL, missing schema ...: our own mistake, not the server's.
        (mod.RequestException, None),
    )


@functools.cache
def _httpx_rules(mod: t.Any) -> _Rules:
    broken_response = (mod.NetworkError, mod.RemoteProtocolError, mod.ProxyError)
    return (
        (mod.ConnectTimeout, _CONNECT_TIMEOUT),
        (mod.TimeoutException, _TIMEOUT),
        (mod.ConnectError, lambda exc: _broken(exc, "Connection failed", sent=False)),
        (broken_response, lambda exc: _broken(exc, "Invalid response")),
        (mod.DecodingError, _INVALID),
        (mod.TooManyRedirects, _REDIRECTS),
        ((mod.HTTPError, mod.InvalidURL), None),
    )


#: The modules of the HTTP libraries, and their rules.
_LIBRARIES: t.Final = (("requests.exceptions", _requests_rules), ("httpx", _httpx_rules))


def _of_stdlib(exc: BaseException) -> Failure | None:
    import http.client
    import urllib.error

    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        if isinstance(exc.reason, TimeoutError):
            # urllib wraps what fails while it connects and sends; a timeout
            # waiting for the answer comes unwrapped (a read timeout, below).
            return _CONNECT_TIMEOUT
        if isinstance(exc.reason, BaseException) and (found := _of_stdlib(exc.reason)):
            return found
        return _broken(exc, "Connection failed")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return _TIMEOUT
    if isinstance(exc, (ConnectionError, socket.gaierror)):
        return _broken(exc, "Connection failed")
    if isinstance(exc, http.client.IncompleteRead):
        return _broken(exc, "Incomplete response")
    if isinstance(exc, http.client.HTTPException):
        return _INVALID
    return None


#: Modules of the HTTP clients: what they fail to decode was sent by the server.
_CLIENT_MODULES: t.Final = ("requests.", "urllib3.", "httpx.", "httpcore.", "h11.", "http.client")


def _decoding_what_was_received(exc: BaseException) -> bool:
    """A ``UnicodeDecodeError`` raised in an HTTP client's own code (a
    redirect's ``Location`` that is not UTF-8, say): the server's bytes, not
    the caller's mistake. Encoding errors (the caller's text) are not."""
    if not isinstance(exc, UnicodeDecodeError):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    module = tb.tb_frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.startswith(_CLIENT_MODULES)


def failure_of(exc: BaseException) -> Failure | None:
    """The :class:`Failure` (kind ``connection`` or ``timeout``) for a
    transport failure of requests, httpx or the standard library, or ``None``
    if ``exc`` is not one. Error *responses* (``raise_for_status``) are found
    by :func:`error_response`.

    .. versionchanged:: 0.2
        Bytes from the server that the HTTP client cannot decode are an
        ``Invalid response``, requests' ``JSONDecodeError`` included; a
        read timeout while requests streams the body is a ``timeout``.
    """
    for name, rules in _LIBRARIES:
        mod = sys.modules.get(name)
        for types, failure in () if mod is None else rules(mod):
            if isinstance(exc, types):
                return failure(exc) if callable(failure) else failure
    if _decoding_what_was_received(exc):
        return _INVALID
    return _of_stdlib(exc)


def classify(exc: BaseException) -> tuple[str, str | None] | None:
    """``(kind, phrase)`` of :func:`failure_of`, or ``None``."""
    failure = failure_of(exc)
    return None if failure is None else (failure.kind, failure.phrase)


def is_connection_error(exc: BaseException, *, sent: bool | None = None) -> bool:
    """Whether ``exc`` is a connection failure of requests, httpx or the
    standard library (refused, reset, DNS, connect timeout, broken
    response), as opposed to a read timeout or a bug.

    :param sent: ``False``: only failures that happened before the request
        was sent (safe to retry for any method).
    """
    failure = failure_of(exc)
    if failure is None or failure.kind != "connection":
        return False
    return sent is not False or not failure.sent


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


def failure_types() -> tuple[type[BaseException], ...]:
    """The exception classes of urllib and of requests and httpx (those
    imported so far) whose instances are upstream failures, for
    :func:`failure_of` or :func:`error_response`; the libraries' other
    exceptions (an invalid URL ...) are the caller's mistakes. Built-in
    classes (``TimeoutError`` ...), which any code raises, are left out."""
    import urllib.error

    found: list[t.Any] = [urllib.error.URLError]
    for name, rules in _LIBRARIES:
        mod = sys.modules.get(name)
        rows = () if mod is None else rules(mod)
        found += [types for types, failure in rows if failure is not None]
    for name, error in (("requests.exceptions", "HTTPError"), ("httpx", "HTTPStatusError")):
        if (mod := sys.modules.get(name)) is not None:
            found.append(getattr(mod, error))
    return tuple(dict.fromkeys(_classes(found)))


def _classes(types: t.Iterable[t.Any]) -> t.Iterator[type[BaseException]]:
    """The classes of ``types``, ``isinstance``'s nested tuples flattened."""
    for item in types:
        if isinstance(item, tuple):
            yield from _classes(item)
        else:
            yield item


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
