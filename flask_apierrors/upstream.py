"""Errors of calls to other services ("upstreams"): 502, 503 and 504.

:func:`upstream_call` wraps a call made with requests, httpx (sync or async)
or the standard library and turns its failure into an :class:`UpstreamError`
the extension renders like any :class:`~flask_apierrors.ApiError`:

========================================  ======================================
What happened                             Response
========================================  ======================================
refused, reset, connect timeout, broken   502 ``bad_gateway``: ``upstream_error``,
response                                  ``retry_suggested``
upstream answered 4xx/5xx                 502 ``bad_gateway``: ``upstream_status``,
                                          ``upstream_message``
upstream answered 429 or 503              503 ``service_unavailable``:
                                          ``retry_after`` (and ``Retry-After``)
no answer in time                         504 ``gateway_timeout``:
                                          ``timeout_duration``
========================================  ======================================

Clients see the service name the app chose and short fixed phrases, never
the upstream's URL, host, credentials or body; the full error goes to the
``flask_apierrors.upstream`` log with the correlation id, and the correlation
id goes to the upstream in a header (:func:`forward_headers`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import time
import typing as t
from types import MappingProxyType

from flask import current_app
from flask import has_app_context
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from .catalog import Catalog
from .catalog import ErrorSpec
from .catalog import reason_phrase
from .correlation import get_correlation_id
from .errors import ApiError
from .integrations.http_clients import body_snippet
from .integrations.http_clients import classify
from .integrations.http_clients import close_quietly
from .integrations.http_clients import error_response
from .integrations.http_clients import forward_correlation_id
from .integrations.http_clients import forward_headers
from .integrations.http_clients import httpx_async_event_hooks
from .integrations.http_clients import httpx_event_hooks
from .integrations.http_clients import safe_url
from .integrations.http_clients import scrub
from .integrations.http_clients import status_of
from .integrations.http_clients import timeout_of
from .retry import KINDS
from .retry import Retry
from .retry import as_retry
from .retry import parse_retry_after

if t.TYPE_CHECKING:
    from types import TracebackType

    from .integrations import Context
    from .problem import Problem

__all__ = [
    "KINDS",
    "Retry",
    "UpstreamCall",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "classify",
    "forward_correlation_id",
    "forward_headers",
    "httpx_async_event_hooks",
    "httpx_event_hooks",
    "parse_retry_after",
    "upstream_call",
]

logger = logging.getLogger("flask_apierrors.upstream")

# Short, fixed phrases for an upstream's status: clients never see the
# upstream's own text, which may hold anything.
_STATUS_PHRASES: t.Final = MappingProxyType(
    {
        400: "Bad request",
        401: "Authentication failed",
        403: "Access denied",
        404: "Not found",
        408: "Request timeout",
        409: "Conflict",
        413: "Request too large",
        422: "Unprocessable request",
        429: "Rate limit exceeded",
        500: "Internal server error",
        501: "Not implemented",
        502: "Bad gateway",
        503: "Service temporarily unavailable",
        504: "Gateway timeout",
    }
)


def upstream_phrase(status: int) -> str:
    """The phrase shown as ``upstream_message`` for an upstream ``status``."""
    return _STATUS_PHRASES.get(status) or reason_phrase(status)


_BUILTIN_CATALOG: Catalog | None = None


def _spec(code: str) -> ErrorSpec | None:
    """The spec of ``code`` in the current app's catalog, else the built-ins."""
    global _BUILTIN_CATALOG
    if has_app_context():
        state = current_app.extensions.get("apierrors")
        if state is not None:
            spec: ErrorSpec | None = state.catalog.get(code)
            return spec
    if _BUILTIN_CATALOG is None:
        _BUILTIN_CATALOG = Catalog.default()
    return _BUILTIN_CATALOG.get(code)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 3)


# -- exceptions -------------------------------------------------------------


class UpstreamError(ApiError):
    """A call to another service failed (502 ``bad_gateway``).

    Details are ``{"service": service, **details, **fields}`` where the
    fields depend on the subclass; ``rename`` renames fields (or drops them,
    with ``None``) to fit a documented shape.

    :param service: The name clients see (``"fal.ai"``, ``"perplexity_search"``);
        never a URL or host.
    :param message: The sentence for the client; defaults to the catalog's
        message of ``error_code`` if given, else the class's.
    :param details: App context (``{"model": "Melanie-3"}``).
    :param rename: ``{"upstream_message": "error", "service": None}``.
    :param error_code: Another code for this failure (``"FAL_API_ERROR"``);
        its catalog entry, if any, gives the status, message and format.
    :param headers: Extra response headers.
    :param attempts: How many attempts were made.

    .. versionadded:: 0.1
    """

    error_code = "bad_gateway"
    status = 502
    message = "External service error"
    #: Which of :data:`KINDS` this failure is.
    kind: str = "status"
    #: What the log line adds about the upstream response (URL without
    #: credentials or query, start of the body); never rendered.
    log_info: tuple[str, ...] = ()

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        details: t.Mapping[str, t.Any] | None = None,
        rename: t.Mapping[str, str | None] | None = None,
        error_code: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        attempts: int = 1,
    ) -> None:
        self.service = service
        self.attempts = attempts
        cls = type(self)
        code = error_code or cls.error_code
        assert code is not None
        spec = _spec(code) if error_code else None
        body: dict[str, t.Any] = {"service": service, **(details or {}), **self.fields()}
        for old, new in (rename or {}).items():
            if old in body:
                value = body.pop(old)
                if new is not None:
                    body[new] = value
        super().__init__(
            code,
            message or (spec.message if spec is not None else cls.message) or "",
            status=spec.status if spec is not None else cls.status,
            details=body,
            headers={**self.extra_headers(), **(headers or {})},
        )

    def fields(self) -> dict[str, t.Any]:
        """The details this kind of failure adds."""
        return {}

    def extra_headers(self) -> dict[str, str]:
        """Headers this kind of failure adds."""
        return {}


class UpstreamConnectionError(UpstreamError):
    """The upstream could not be reached or broke the connection (502).

    :param upstream_error: A fixed phrase: ``"Connection refused"``,
        ``"Connection reset"``, ``"Connection timeout"`` ...
    :param retry_suggested: Tell the client a retry may work.
    """

    error_code = "bad_gateway"
    message = "External service unavailable"
    kind = "connection"

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        upstream_error: str = "Connection failed",
        retry_suggested: bool = True,
        **kwargs: t.Any,
    ) -> None:
        self.upstream_error = upstream_error
        self.retry_suggested = retry_suggested
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {"upstream_error": self.upstream_error, "retry_suggested": self.retry_suggested}


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status (502).

    :param upstream_status: The upstream's status code.
    :param upstream_message: A short phrase for it; defaults to a fixed
        phrase per status (``503`` -> ``"Service temporarily unavailable"``).
    """

    error_code = "bad_gateway"
    kind = "status"

    def __init__(
        self,
        service: str,
        upstream_status: int,
        message: str | None = None,
        *,
        upstream_message: str | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.upstream_status = upstream_status
        self.upstream_message = upstream_message or upstream_phrase(upstream_status)
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {"upstream_status": self.upstream_status, "upstream_message": self.upstream_message}


class UpstreamUnavailableError(UpstreamError):
    """The upstream is rate limiting us or is unavailable, and said when to
    come back (503 ``service_unavailable`` with ``retry_after`` and a
    ``Retry-After`` header).

    :param retry_after: Seconds until a retry may work.
    :param upstream_status: 429 (kind ``rate_limited``) or 503 (``unavailable``).
    :param from_upstream: ``retry_after`` is the upstream's own
        ``Retry-After`` (retries wait for it), not a default.
    """

    error_code = "service_unavailable"
    status = 503
    message = "External service temporarily unavailable"
    kind = "unavailable"

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        retry_after: int = 30,
        upstream_status: int = 503,
        from_upstream: bool = True,
        **kwargs: t.Any,
    ) -> None:
        self.retry_after = max(1, int(retry_after))
        self.from_upstream = from_upstream
        self.upstream_status = upstream_status
        if upstream_status == 429:
            self.kind = "rate_limited"
            message = message or "External service rate limit"
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {"retry_after": self.retry_after}

    def extra_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UpstreamTimeoutError(UpstreamError):
    """The upstream did not answer in time (504 ``gateway_timeout``).

    :param timeout_duration: The timeout, in seconds; left out if unknown.
    """

    error_code = "gateway_timeout"
    status = 504
    message = "External service timeout"
    kind = "timeout"

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        timeout_duration: float | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.timeout_duration = None if timeout_duration is None else _number(timeout_duration)
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        if self.timeout_duration is None:
            return {}
        return {"timeout_duration": self.timeout_duration}


# -- the call wrapper --------------------------------------------------------

_F = t.TypeVar("_F", bound=t.Callable[..., t.Any])
_T = t.TypeVar("_T")

# Start times of the ``with`` blocks being run, innermost last (per thread
# and per task, so one UpstreamCall may be used concurrently).
_STARTED: contextvars.ContextVar[tuple[float, ...]] = contextvars.ContextVar(
    "apierrors_upstream_started", default=()
)
# How many calls (decorated or ``with``) are running in this context.
_ACTIVE: contextvars.ContextVar[int] = contextvars.ContextVar(
    "apierrors_upstream_active", default=0
)


class UpstreamCall:
    """Turns the failures of calls to one upstream service into
    :class:`UpstreamError`. Made by :func:`upstream_call`; see there."""

    def __init__(
        self,
        service: str,
        *,
        messages: str | t.Mapping[str, str] | None = None,
        codes: t.Mapping[str, str] | None = None,
        details: t.Mapping[str, t.Any] | None = None,
        rename: t.Mapping[str, str | None] | None = None,
        timeout: float | None = None,
        retry: Retry | int | bool | None = None,
        unavailable_statuses: t.Collection[int] = (429, 503),
        default_retry_after: int = 30,
    ) -> None:
        for name, mapping in (("codes", codes), ("messages", messages)):
            if isinstance(mapping, t.Mapping):
                unknown = set(mapping) - set(KINDS)
                if unknown:
                    raise ValueError(
                        f"upstream_call({name}=...): unknown kinds {sorted(unknown)}; use {KINDS}."
                    )
        self.service = service
        self.messages = messages
        self.codes = dict(codes or {})
        self.details = dict(details or {})
        self.rename = dict(rename or {})
        #: The timeout the app uses for this upstream; shown as
        #: ``timeout_duration`` (pass it to your client too).
        self.timeout = timeout
        self.retry = as_retry(retry)
        self.unavailable_statuses = frozenset(unavailable_statuses)
        self.default_retry_after = default_retry_after

    def __repr__(self) -> str:
        return f"<UpstreamCall {self.service!r}>"

    # -- building errors ----------------------------------------------------

    def _options(self, kind: str, attempts: int) -> dict[str, t.Any]:
        if isinstance(self.messages, str):
            message: str | None = self.messages
        else:
            message = (self.messages or {}).get(kind)
        return {
            "message": message,
            "details": self.details,
            "rename": self.rename,
            "error_code": self.codes.get(kind),
            "attempts": attempts,
        }

    def error_for_response(self, response: t.Any, *, attempts: int = 1) -> UpstreamError | None:
        """The error for an upstream response (requests, httpx or urllib), or
        ``None`` if its status is below 400."""
        status = status_of(response)
        if status is None or status < 400:
            return None
        error: UpstreamError
        if status in self.unavailable_statuses:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            kind = "rate_limited" if status == 429 else "unavailable"
            error = UpstreamUnavailableError(
                self.service,
                retry_after=self.default_retry_after if retry_after is None else retry_after,
                upstream_status=status,
                from_upstream=retry_after is not None,
                **self._options(kind, attempts),
            )
        else:
            error = UpstreamStatusError(self.service, status, **self._options("status", attempts))
        # For the log line only: never rendered.
        info = [f"url={safe_url(response)!r}"]
        snippet = body_snippet(response)
        if snippet is not None:
            info.append(f"body={snippet!r}")
        error.log_info = tuple(info)
        return error

    def error_for(
        self, exc: BaseException, *, attempts: int = 1, elapsed: float | None = None
    ) -> UpstreamError | None:
        """The :class:`UpstreamError` for ``exc``, or ``None`` if it is not an
        upstream failure (it should then propagate unchanged).

        :param elapsed: Seconds the failed attempt took (the timeout shown
            when neither ``timeout=`` nor the client tells it).
        """
        if isinstance(exc, UpstreamError):
            return exc
        response = error_response(exc)
        if response is not None:
            return self.error_for_response(response, attempts=attempts)
        found = classify(exc)
        if found is None:
            return None
        kind, phrase = found
        if kind == "timeout":
            duration = self.timeout if self.timeout is not None else timeout_of(exc)
            if duration is None and elapsed is not None:
                duration = round(elapsed, 1)
            return UpstreamTimeoutError(
                self.service, timeout_duration=duration, **self._options("timeout", attempts)
            )
        return UpstreamConnectionError(
            self.service,
            upstream_error=phrase or "Connection failed",
            **self._options("connection", attempts),
        )

    def check(self, response: _T) -> _T:
        """Return ``response`` if its status is below 400; else close it and
        raise the matching :class:`UpstreamError`."""
        error = self.error_for_response(response)
        if error is not None:
            if not _ACTIVE.get():
                # Inside ``with`` or a decorated function, they log it.
                self._log(error, None)
            close_quietly(response)
            raise error
        return response

    @property
    def headers(self) -> dict[str, str]:
        """:func:`forward_headers` for this call."""
        return forward_headers()

    # -- logging ------------------------------------------------------------

    def _log(
        self,
        error: UpstreamError,
        exc: BaseException | None,
        *,
        retry_in: float | None = None,
    ) -> None:
        parts = [f"upstream {self.service!r} failed: {error.kind}"]
        if isinstance(error, (UpstreamStatusError, UpstreamUnavailableError)):
            parts.append(f"status={error.upstream_status}")
        parts.extend(error.log_info)
        if exc is not None and exc is not error:
            # repr() escapes control characters: upstream text is untrusted.
            text = scrub(str(exc)[:500])
            parts.append(f"error={type(exc).__name__}: {text!r}")
        parts.append(f"attempt={error.attempts}/{self.retry.attempts}")
        if retry_in is not None:
            parts.append(f"retrying in {retry_in:.2f}s")
        logger.log(
            logging.WARNING if retry_in is not None else logging.ERROR,
            "%s [correlation_id=%s]",
            ", ".join(parts),
            get_correlation_id() or "-",
        )

    def _delay(self, error: UpstreamError, attempt: int, elapsed: float) -> float | None:
        return self.retry.delay(
            attempt,
            kind=error.kind,
            elapsed=elapsed,
            status=error.upstream_status if isinstance(error, UpstreamStatusError) else None,
            retry_after=(
                error.retry_after
                if isinstance(error, UpstreamUnavailableError) and error.from_upstream
                else None
            ),
        )

    def _fail(
        self, exc: BaseException, attempts: int, elapsed: float | None
    ) -> UpstreamError | None:
        error = self.error_for(exc, attempts=attempts, elapsed=elapsed)
        if error is not None and error is not exc:
            error.__cause__ = exc
        return error

    # -- calling ------------------------------------------------------------

    def call(self, func: t.Callable[..., _T], /, *args: t.Any, **kwargs: t.Any) -> _T:
        """Call ``func(*args, **kwargs)`` with the retries of ``retry=``; an
        upstream response it returns is checked (:meth:`check`)."""
        token = _ACTIVE.set(_ACTIVE.get() + 1)
        try:
            return self._call(func, args, kwargs)
        finally:
            _ACTIVE.reset(token)

    def _call(
        self, func: t.Callable[..., _T], args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> _T:
        begin = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                return self._checked(func(*args, **kwargs), attempt)
            except Exception as exc:
                now = time.monotonic()
                error = self._fail(exc, attempt, now - started)
                if error is None:
                    raise
                wait = self._delay(error, attempt, now - begin)
                self._log(error, exc, retry_in=wait)
                if wait is None:
                    if error is exc:
                        raise
                    raise error from exc
                time.sleep(wait)

    async def acall(
        self, func: t.Callable[..., t.Awaitable[_T]], /, *args: t.Any, **kwargs: t.Any
    ) -> _T:
        """:meth:`call` for a coroutine function (waits with ``asyncio.sleep``)."""
        token = _ACTIVE.set(_ACTIVE.get() + 1)
        try:
            return await self._acall(func, args, kwargs)
        finally:
            _ACTIVE.reset(token)

    async def _acall(
        self,
        func: t.Callable[..., t.Awaitable[_T]],
        args: tuple[t.Any, ...],
        kwargs: dict[str, t.Any],
    ) -> _T:
        begin = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                return await self._achecked(await func(*args, **kwargs), attempt)
            except Exception as exc:
                now = time.monotonic()
                error = self._fail(exc, attempt, now - started)
                if error is None:
                    raise
                wait = self._delay(error, attempt, now - begin)
                self._log(error, exc, retry_in=wait)
                if wait is None:
                    if error is exc:
                        raise
                    raise error from exc
                await asyncio.sleep(wait)

    def _error_of(self, rv: t.Any, attempt: int) -> UpstreamError | None:
        # A returned response is checked, so ``return session.get(url)`` is
        # enough in a decorated function.
        if status_of(rv) is None or not hasattr(rv, "headers"):
            return None
        return self.error_for_response(rv, attempts=attempt)

    def _checked(self, rv: _T, attempt: int) -> _T:
        error = self._error_of(rv, attempt)
        if error is not None:
            close_quietly(rv)
            raise error
        return rv

    async def _achecked(self, rv: _T, attempt: int) -> _T:
        error = self._error_of(rv, attempt)
        if error is not None:
            aclose = getattr(rv, "aclose", None)
            if aclose is not None:
                await aclose()
            raise error
        return rv

    def __call__(self, func: _F) -> _F:
        """Decorate a function (sync or async) that calls the upstream."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                return await self.acall(func, *args, **kwargs)

            return t.cast(_F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return self.call(func, *args, **kwargs)

        return t.cast(_F, wrapper)

    # -- context manager ----------------------------------------------------

    def __enter__(self) -> UpstreamCall:
        _STARTED.set((*_STARTED.get(), time.monotonic()))
        _ACTIVE.set(_ACTIVE.get() + 1)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack = _STARTED.get()
        started = stack[-1] if stack else None
        _STARTED.set(stack[:-1])
        _ACTIVE.set(max(0, _ACTIVE.get() - 1))
        if exc is None or not isinstance(exc, Exception):
            return
        elapsed = None if started is None else time.monotonic() - started
        error = self._fail(exc, 1, elapsed)
        if error is None:
            return
        self._log(error, exc)
        if error is not exc:
            raise error from exc

    async def __aenter__(self) -> UpstreamCall:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def upstream_call(
    service: str,
    *,
    messages: str | t.Mapping[str, str] | None = None,
    codes: t.Mapping[str, str] | None = None,
    details: t.Mapping[str, t.Any] | None = None,
    rename: t.Mapping[str, str | None] | None = None,
    timeout: float | None = None,
    retry: Retry | int | bool | None = None,
    unavailable_statuses: t.Collection[int] = (429, 503),
    default_retry_after: int = 30,
) -> UpstreamCall:
    """Errors of calls to ``service`` as 502/503/504 :class:`UpstreamError`.

    A context manager (``with`` / ``async with``), a decorator of sync and
    async functions (which may ``return`` the upstream response: it is
    checked), and :meth:`UpstreamCall.check` for a response at hand::

        search = upstream_call("perplexity_search", timeout=10, retry=3)


        @search
        def find(query):
            return http.get(
                SEARCH_URL, params={"q": query}, timeout=search.timeout, headers=forward_headers()
            )


        with upstream_call("ai_model", details={"model": "Melanie-3"}):
            reply = client.post(MODEL_URL, json=payload).raise_for_status()

    :param service: The name clients see; never a URL or host.
    :param messages: The client message, one for all kinds or per kind of
        :data:`KINDS` (``{"timeout": "AI model response timeout"}``).
    :param codes: Another error code per kind
        (``{"rate_limited": "FAL_RATE_LIMIT", "status": "FAL_API_ERROR"}``);
        a code in the catalog brings its status, message and format.
    :param details: App context added to the details (``{"model": ...}``).
    :param rename: Rename detail fields, ``None`` drops one
        (``{"service": None}``, ``{"upstream_message": "error"}``).
    :param timeout: The app's timeout for this upstream, in seconds, shown as
        ``timeout_duration`` (httpx's own is used when not given).
    :param retry: Retries for the decorator and :meth:`UpstreamCall.call`:
        a :class:`Retry`, a number of attempts, or ``True`` for
        ``Retry()``. Only for idempotent calls. A ``with`` block is never
        retried.
    :param unavailable_statuses: Upstream statuses answered with 503 and
        ``retry_after``; other error statuses give 502.
    :param default_retry_after: ``retry_after`` when the upstream sends no
        usable ``Retry-After``.

    .. versionadded:: 0.1
    """
    return UpstreamCall(
        service,
        messages=messages,
        codes=codes,
        details=details,
        rename=rename,
        timeout=timeout,
        retry=retry,
        unavailable_statuses=unavailable_statuses,
        default_retry_after=default_retry_after,
    )


_DEFAULT_CALL: t.Final = UpstreamCall("upstream")
_CLIENT_MODULES: t.Final = frozenset({"requests", "httpx", "urllib", "urllib3"})


def convert_upstream_exception(e: BaseException, ctx: Context) -> Problem | None:
    """Converter for requests, httpx and urllib errors that escaped a view
    without :func:`upstream_call`: a 502/504 for service ``"upstream"``
    instead of a 500 (Flask hands them over as ``InternalServerError``)."""
    original = e.original_exception if isinstance(e, InternalServerError) else e
    if original is None or isinstance(original, HTTPException):
        return None
    # Only HTTP client libraries' own exceptions say "an upstream failed"; a
    # bare TimeoutError or ConnectionError may come from anywhere.
    if type(original).__module__.partition(".")[0] not in _CLIENT_MODULES:
        return None
    error = _DEFAULT_CALL.error_for(original)
    if error is None:
        return None
    assert error.error_code is not None
    return ctx.problem(
        error.error_code,
        status=error.status,
        message=error.message,
        details=error.details,
        headers=tuple(error.headers.items()),
    )
