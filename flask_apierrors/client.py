"""Client side: error responses as exceptions, retries, and error tracking.

For the programs that call an API built with flask-apierrors (or one that
answers in the same shapes). It does not import Flask, and works with
``requests`` and ``httpx`` responses alike (and Werkzeug test responses)::

    response = requests.get(f"{base_url}/jobs/42", timeout=10)
    raise_for_error(response)  # NotFoundError, RateLimitError ...

Every body shape is understood: ``{"error": code, ...}``,
``{"error": true, "error_code": CODE, ...}``, ``{"detail": {"code": CODE, ...}}``,
RFC 9457 problem details, plus ``{"detail": "text"}`` and plain-text bodies.

Retries (:func:`retry_call`, :func:`request_with_retry` and their async
twins) use exponential backoff with jitter, honour ``Retry-After`` and
``X-RateLimit-Reset``, and retry only 429, 502, 503, 504 and connection
errors, within a bound on attempts and on total time.

.. versionadded:: 0.1
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import email.utils
import json
import random
import re
import threading
import time
import typing as t
from datetime import datetime
from datetime import timezone
from http import HTTPStatus

__all__ = [
    "ApiClientError",
    "AuthenticationError",
    "AuthorizationError",
    "ClientError",
    "ErrorTracker",
    "FieldViolation",
    "NotFoundError",
    "RETRY_STATUSES",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "UpstreamError",
    "ValidationError",
    "aerror_from_response",
    "araise_for_error",
    "arequest_with_retry",
    "aretry_call",
    "error_from_response",
    "is_connection_error",
    "parse_error",
    "raise_for_error",
    "request_with_retry",
    "retry_after",
    "retry_call",
]

R = t.TypeVar("R")

#: Statuses worth retrying: the request was not processed, or a gateway failed.
RETRY_STATUSES: t.Final = frozenset({429, 502, 503, 504})

#: Methods that may be sent twice without harm (RFC 9110).
IDEMPOTENT_METHODS: t.Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

#: Headers a correlation id is read from when the body has none.
CORRELATION_HEADERS: t.Final = ("X-Request-ID", "X-Correlation-ID")

# Longest piece of a non-JSON body kept on the exception.
_MAX_TEXT: t.Final = 2000


@dataclasses.dataclass(frozen=True, slots=True)
class FieldViolation:
    """One entry of ``details.validation_errors``.

    :param field: Path of the field (``messages[0].content``).
    :param message: What is wrong with it.
    :param invalid_value: The submitted value as the server echoed it
        (``None`` when missing or redacted to ``None``).
    :param location: ``json``, ``query`` ... when the server says.
    """

    field: str
    message: str
    invalid_value: t.Any = None
    location: str | None = None


class ApiClientError(Exception):
    """An error response, parsed.

    :param message: The server's sentence for the client.
    :param status: The HTTP status.
    :param code: The machine code as the server spelled it
        (``not_found``, ``JOB_NOT_FOUND``).
    :param details: The body's ``details`` (empty when none).
    :param correlation_id: From the body, else from the ``X-Request-ID``
        header; quote it when asking for support.
    :param validation_errors: Field-level errors.
    :param retry_after: Seconds to wait before retrying, when the response
        says (``Retry-After``, ``details.retry_after``, ``X-RateLimit-Reset``).
    :param headers: The response headers, names in lower case.
    :param body: The parsed JSON body (or the start of a non-JSON body).
    :param response: The response object itself.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: t.Mapping[str, t.Any] | None = None,
        correlation_id: str | None = None,
        validation_errors: t.Sequence[FieldViolation] = (),
        retry_after: float | None = None,
        timestamp: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        body: t.Any = None,
        response: t.Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, t.Any] = dict(details or {})
        self.correlation_id = correlation_id
        self.validation_errors = tuple(validation_errors)
        self.retry_after = retry_after
        self.timestamp = timestamp
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.response = response

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status`."""
        return self.status

    @property
    def error_code(self) -> str:
        """Alias of :attr:`code`."""
        return self.code

    @property
    def error_id(self) -> str | None:
        """``details.error_id`` of a 500: the id of the server's log entry."""
        value = self.details.get("error_id")
        return value if isinstance(value, str) else None

    @property
    def retryable(self) -> bool:
        """Whether retrying the same request later may succeed."""
        return self.status in RETRY_STATUSES

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.correlation_id:
            text += f" (correlation id {self.correlation_id})"
        return text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status} {self.code!r}>"


class ClientError(ApiClientError):
    """A 4xx: the request must change before it can succeed."""


class ValidationError(ClientError):
    """400 and 422: the request's data is invalid; see :attr:`validation_errors`."""


class AuthenticationError(ClientError):
    """401 (and authentication codes): missing or invalid credentials."""


class AuthorizationError(ClientError):
    """403: valid credentials without the permission."""


class NotFoundError(ClientError):
    """404: no such resource or endpoint."""


class RateLimitError(ClientError):
    """429: too many requests; wait :attr:`retry_after` seconds."""


class ServerError(ApiClientError):
    """5xx: the server failed; quote :attr:`error_id` and
    :attr:`correlation_id` to support."""


class UpstreamError(ServerError):
    """502 and 504: a service behind the API failed or timed out."""


class ServiceUnavailableError(ServerError):
    """503: maintenance or overload; wait :attr:`retry_after` seconds."""


_STATUS_CLASSES: t.Final[t.Mapping[int, type[ApiClientError]]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
    502: UpstreamError,
    503: ServiceUnavailableError,
    504: UpstreamError,
}

#: Codes whose class differs from their status's (lower case). The code
#: wins: the first documented API answers ``AUTHENTICATION_REQUIRED`` with 500.
CODE_CLASSES: t.Final[t.Mapping[str, type[ApiClientError]]] = {
    "validation_error": ValidationError,
    "invalid_json": ValidationError,
    "unauthorized": AuthenticationError,
    "authentication_required": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "forbidden": AuthorizationError,
    "insufficient_permissions": AuthorizationError,
    "not_found": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "concurrent_limit_exceeded": RateLimitError,
    "bad_gateway": UpstreamError,
    "gateway_timeout": UpstreamError,
    "service_unavailable": ServiceUnavailableError,
}

_RENAMED: t.Final = {
    413: "payload_too_large",
    414: "uri_too_long",
    416: "range_not_satisfiable",
    429: "rate_limit_exceeded",
}


def _default_code(status: int) -> str:
    if status in _RENAMED:
        return _RENAMED[status]
    try:
        phrase = HTTPStatus(status).phrase.lower().replace("'", "")
    except ValueError:
        return "unknown_error"
    return re.sub(r"[^a-z0-9]+", "_", phrase).strip("_")


def _class_for(
    status: int, code: str, classes: t.Mapping[str, type[ApiClientError]] | None
) -> type[ApiClientError]:
    key = code.lower()
    for name, cls in (classes or {}).items():
        if name.lower() == key:
            return cls
    if key in CODE_CLASSES:
        return CODE_CLASSES[key]
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if 400 <= status < 500:
        return ClientError
    if status >= 500:
        return ServerError
    return ApiClientError


# -- parsing -------------------------------------------------------------------


@dataclasses.dataclass
class _Fields:
    code: str | None = None
    message: str | None = None
    details: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    correlation_id: str | None = None
    timestamp: str | None = None
    violations: list[FieldViolation] = dataclasses.field(default_factory=list)


def _str(value: t.Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: t.Any) -> dict[str, t.Any]:
    return dict(value) if isinstance(value, dict) else {}


def _fields_of(body: t.Any) -> _Fields:
    """The code, message, details ... of any known body shape."""
    f = _Fields()
    if not isinstance(body, dict):
        return f
    detail = body.get("detail")
    error = body.get("error")
    if isinstance(detail, dict) and ("code" in detail or "message" in detail):
        # {"detail": {"code": CODE, "message", "details", "correlation_id"}}
        f.code = _str(detail.get("code"))
        f.message = _str(detail.get("message"))
        f.details = _mapping(detail.get("details"))
        f.correlation_id = _str(detail.get("correlation_id"))
    elif error is True or "error_code" in body:
        # {"error": true, "error_code": CODE, "message", "details"}
        f.code = _str(body.get("error_code"))
        f.message = _str(body.get("message"))
        f.details = _mapping(body.get("details"))
    elif isinstance(error, str):
        # {"error": code, "message", "details", "timestamp"}
        f.code = error
        f.message = _str(body.get("message"))
        f.details = _mapping(body.get("details"))
    elif isinstance(error, dict):
        # {"error": {"code", "message", "details"}}, common elsewhere.
        f.code = _str(error.get("code")) or _str(error.get("type"))
        f.message = _str(error.get("message"))
        f.details = _mapping(error.get("details"))
        f.correlation_id = _str(error.get("correlation_id"))
    elif "title" in body and ("type" in body or "status" in body):
        # RFC 9457 problem details.
        f.code = _str(body.get("code")) or _code_from_type(body.get("type"))
        f.message = _str(body.get("detail")) or _str(body.get("title"))
        f.details = _mapping(body.get("details"))
    elif isinstance(detail, str):
        f.message = detail
    elif isinstance(detail, list):
        # A list of {"loc": [...], "msg": ...} validation errors.
        f.code = "validation_error"
        f.message = "Request validation failed"
        f.violations = [_violation_from_loc(item) for item in detail if isinstance(item, dict)]
    else:
        f.message = _str(body.get("message"))
        f.details = _mapping(body.get("details"))
    f.correlation_id = (
        f.correlation_id
        or _str(body.get("correlation_id"))
        or _str(f.details.get("correlation_id"))
    )
    f.timestamp = _str(body.get("timestamp"))
    if not f.violations:
        items = f.details.get("validation_errors")
        if isinstance(items, list):
            f.violations = [_violation(item) for item in items if isinstance(item, dict)]
    return f


def _code_from_type(value: t.Any) -> str | None:
    text = _str(value)
    if text is None or text == "about:blank":
        return None
    return text.rstrip("/").rpartition("/")[2].rpartition("#")[2] or None


def _violation(item: dict[str, t.Any]) -> FieldViolation:
    return FieldViolation(
        field=str(item.get("field", "")),
        message=str(item.get("message", "")),
        invalid_value=item.get("invalid_value"),
        location=_str(item.get("location")),
    )


def _violation_from_loc(item: dict[str, t.Any]) -> FieldViolation:
    loc = item.get("loc")
    parts = [str(p) for p in loc] if isinstance(loc, list) else []
    location = parts.pop(0) if parts and parts[0] in ("body", "query", "path", "header") else None
    field = ""
    for part in parts:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    return FieldViolation(
        field=field,
        message=str(item.get("msg", "")),
        invalid_value=item.get("input"),
        location=location,
    )


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


def parse_error(
    response: t.Any,
    *,
    classes: t.Mapping[str, type[ApiClientError]] | None = None,
    body: t.Any = dataclasses.MISSING,
) -> ApiClientError:
    """The exception for an error response (which must be >= 400).

    :param response: A requests, httpx or Werkzeug response.
    :param classes: Extra ``code -> exception class`` entries (any case);
        they win over :data:`CODE_CLASSES` and the status.
    :param body: The parsed body, if already read.
    """
    status = _status_of(response)
    if body is dataclasses.MISSING:
        body, _ = _json_body(_content_of(response))
    f = _fields_of(body)
    headers = getattr(response, "headers", None)
    code = f.code or _default_code(status)
    message = f.message or f"HTTP {status} {_phrase(status)}"
    correlation_id = f.correlation_id
    if correlation_id is None:
        for name in CORRELATION_HEADERS:
            correlation_id = _header(headers, name)
            if correlation_id:
                break
    cls = _class_for(status, code, classes)
    header_items: dict[str, str] = {}
    if headers is not None:
        try:
            header_items = {str(k): str(v) for k, v in headers.items()}
        except Exception:  # pragma: no cover - an exotic headers object
            header_items = {}
    return cls(
        message,
        status=status,
        code=code,
        details=f.details,
        correlation_id=correlation_id,
        validation_errors=f.violations,
        retry_after=retry_after(response, f.details),
        timestamp=f.timestamp,
        headers=header_items,
        body=body,
        response=response,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_from_response(
    response: t.Any, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> ApiClientError | None:
    """``None`` for a success (status below 400), else the parsed
    :class:`ApiClientError` (not raised)."""
    if _status_of(response) < 400:
        return None
    return parse_error(response, classes=classes)


def raise_for_error(
    response: R, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> R:
    """Raise the parsed :class:`ApiClientError` of an error response; return
    the response otherwise, so calls chain::

        data = raise_for_error(client.get("/jobs/42")).json()
    """
    error = error_from_response(response, classes=classes)
    if error is not None:
        raise error
    return response


async def aerror_from_response(
    response: t.Any, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> ApiClientError | None:
    """:func:`error_from_response` for an httpx ``AsyncClient`` response,
    reading a streamed body first."""
    if _status_of(response) < 400:
        return None
    aread = getattr(response, "aread", None)
    if callable(aread):
        try:
            await aread()
        except Exception:  # closed or already consumed: parse what is there
            pass
    return parse_error(response, classes=classes)


async def araise_for_error(
    response: R, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> R:
    """:func:`raise_for_error` for an httpx ``AsyncClient`` response."""
    error = await aerror_from_response(response, classes=classes)
    if error is not None:
        raise error
    return response


# -- retries -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry.

    The n-th retry waits ``base_delay * backoff_factor ** (n - 1)`` seconds,
    at most ``max_delay``, minus a random part of up to ``jitter`` of it (so
    many clients do not retry in step). A response that says how long to
    wait (``Retry-After``, ``X-RateLimit-Reset``, ``details.retry_after``)
    is obeyed instead, plus up to ``retry_after_spread`` of it; if that is
    longer than ``max_retry_after`` or runs past ``timeout``, the last
    response is returned at once rather than waited for.

    :param max_retries: Retries after the first attempt.
    :param timeout: Bound on the total time, waits included (seconds).
    :param statuses: Response statuses that are retried.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    backoff_factor: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5
    retry_after_spread: float = 0.1
    max_retry_after: float = 120.0
    timeout: float = 120.0
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0.")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1.")
        if self.base_delay < 0 or self.max_delay < 0 or self.timeout <= 0:
            raise ValueError("Delays must be >= 0 and timeout > 0.")
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``retry`` (1-based), with jitter."""
        rng = rng or _RANDOM
        delay = min(self.max_delay, self.base_delay * self.backoff_factor ** (retry - 1))
        return delay * (1 - self.jitter * rng.random())

    def delay_for(
        self, retry: int, response: t.Any = None, rng: random.Random | None = None
    ) -> float | None:
        """The wait before retry number ``retry`` after ``response``;
        ``None`` when the server asks for longer than ``max_retry_after``."""
        rng = rng or _RANDOM
        if response is not None:
            asked = retry_after(response, _peek_details(response))
            if asked is not None:
                if asked > self.max_retry_after:
                    return None
                return asked * (1 + self.retry_after_spread * rng.random())
        return self.backoff(retry, rng)


_RANDOM: t.Final = random.Random()


def _peek_details(response: t.Any) -> dict[str, t.Any] | None:
    content = _content_of(response)
    body, is_json = _json_body(content)
    if not is_json:
        return None
    return _fields_of(body).details or None


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


#: ``on_retry(retry_number, delay, response_or_exception)``.
OnRetry = t.Callable[[int, float, t.Any], None]


class _Attempts:
    """The retry decisions shared by the sync and async loops."""

    def __init__(
        self,
        policy: RetryPolicy,
        idempotent: bool,
        clock: t.Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        self.policy = policy
        self.idempotent = idempotent
        self.clock = clock
        self.rng = rng
        self.deadline = clock() + policy.timeout
        self.retry = 0

    def _fits(self, delay: float | None) -> bool:
        return delay is not None and self.clock() + delay <= self.deadline

    def after_exception(self, exc: BaseException) -> float | None:
        """The delay before retrying after ``exc``, or ``None`` to re-raise."""
        if self.retry >= self.policy.max_retries:
            return None
        if not is_connection_error(exc, sent=None if self.idempotent else False):
            return None
        delay = self.policy.backoff(self.retry + 1, self.rng)
        if not self._fits(delay):
            return None
        self.retry += 1
        return delay

    def after_response(self, response: t.Any) -> float | None:
        """The delay before retrying after ``response``, or ``None`` to
        return it."""
        status = _status_of(response)
        statuses = self.policy.statuses
        if not self.idempotent:
            # 429 and 503 answer before the request is processed.
            statuses = statuses & {429, 503}
        if status not in statuses or self.retry >= self.policy.max_retries:
            return None
        delay = self.policy.delay_for(self.retry + 1, response, self.rng)
        if not self._fits(delay):
            return None
        self.retry += 1
        return delay


def retry_call(
    send: t.Callable[[], R],
    policy: RetryPolicy | None = None,
    *,
    idempotent: bool = True,
    on_retry: OnRetry | None = None,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> R:
    """Call ``send()`` (which returns a response) until it answers something
    other than a retryable status, retrying connection errors too; returns
    the last response, or raises the last connection error.

    :param send: Sends the request, e.g. ``lambda: session.get(url, timeout=5)``.
    :param policy: Attempts, delays and the time bound.
    :param idempotent: ``False`` for requests that must not run twice
        (``POST``): then only 429, 503 and failures to connect are retried.
    :param on_retry: Called before each wait, e.g. to log or count.
    """
    attempts = _Attempts(policy or RetryPolicy(), idempotent, clock, rng)
    while True:
        try:
            response = send()
        except Exception as exc:
            delay = attempts.after_exception(exc)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempts.retry, delay, exc)
            sleep(delay)
            continue
        delay = attempts.after_response(response)
        if delay is None:
            return response
        if on_retry is not None:
            on_retry(attempts.retry, delay, response)
        _close(response)
        sleep(delay)


async def aretry_call(
    send: t.Callable[[], t.Awaitable[R]],
    policy: RetryPolicy | None = None,
    *,
    idempotent: bool = True,
    on_retry: OnRetry | None = None,
    sleep: t.Callable[[float], t.Awaitable[None]] = asyncio.sleep,
    clock: t.Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> R:
    """:func:`retry_call` for coroutines (httpx ``AsyncClient``)."""
    attempts = _Attempts(policy or RetryPolicy(), idempotent, clock, rng)
    while True:
        try:
            response = await send()
        except Exception as exc:
            delay = attempts.after_exception(exc)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempts.retry, delay, exc)
            await sleep(delay)
            continue
        delay = attempts.after_response(response)
        if delay is None:
            return response
        if on_retry is not None:
            on_retry(attempts.retry, delay, response)
        await _aclose(response)
        await sleep(delay)


def _close(response: t.Any) -> None:
    close = getattr(response, "close", None)
    if callable(close):
        close()


async def _aclose(response: t.Any) -> None:
    aclose = getattr(response, "aclose", None)
    if callable(aclose):
        await aclose()
    else:
        _close(response)


class _Requester(t.Protocol):
    def request(self, method: str, url: str, **kwargs: t.Any) -> t.Any: ...


class _AsyncRequester(t.Protocol):
    def request(self, method: str, url: str, **kwargs: t.Any) -> t.Awaitable[t.Any]: ...


def request_with_retry(
    client: _Requester | t.Any,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    raise_errors: bool = True,
    on_retry: OnRetry | None = None,
    **kwargs: t.Any,
) -> t.Any:
    """``client.request(method, url, **kwargs)`` with retries, for a
    ``requests.Session`` (or the ``requests`` module) or an ``httpx.Client``.
    Methods that are not idempotent are retried only when the request was
    not processed (429, 503, connection refused).

    :param raise_errors: Raise the parsed error of the last response
        (:func:`raise_for_error`) instead of returning it.
    """
    idempotent = method.upper() in IDEMPOTENT_METHODS
    response = retry_call(
        lambda: client.request(method, url, **kwargs),
        policy,
        idempotent=idempotent,
        on_retry=on_retry,
    )
    return raise_for_error(response) if raise_errors else response


async def arequest_with_retry(
    client: _AsyncRequester | t.Any,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    raise_errors: bool = True,
    on_retry: OnRetry | None = None,
    **kwargs: t.Any,
) -> t.Any:
    """:func:`request_with_retry` for an ``httpx.AsyncClient``."""
    idempotent = method.upper() in IDEMPOTENT_METHODS

    async def send() -> t.Any:
        return await client.request(method, url, **kwargs)

    response = await aretry_call(send, policy, idempotent=idempotent, on_retry=on_retry)
    return await araise_for_error(response) if raise_errors else response


# -- tracking ------------------------------------------------------------------


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

    #: The second documented API's name for :meth:`track`.
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

    #: The second documented API's name for :meth:`summary`.
    get_error_summary = summary

    def reset(self) -> None:
        """Forget everything."""
        with self._lock:
            self._counts.clear()
            self._by_status.clear()
            self._by_code.clear()
            self._history.clear()
