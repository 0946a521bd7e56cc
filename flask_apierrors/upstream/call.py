"""Running calls to an upstream service: :func:`upstream_call` as a
context manager, a decorator of sync and async functions (with retries) and
a checker of responses at hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import inspect
import time
import typing as t

from ..client.policy import Attempts
from ..client.transport import aclose_quietly
from ..client.transport import close_quietly
from ..client.transport import status_of
from ..retry import Retry
from .exceptions import UpstreamError
from .exceptions import UpstreamUnavailableError
from .forwarding import forward_headers
from .mapping import ErrorMapping

if t.TYPE_CHECKING:
    from types import TracebackType

__all__ = ["UpstreamCall", "upstream_call"]

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


class UpstreamCall(ErrorMapping):
    """Turns the failures of calls to one upstream service into
    :class:`UpstreamError`. Made by :func:`upstream_call`; see there."""

    def __repr__(self) -> str:
        return f"<UpstreamCall {self.service!r}>"

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

    # -- retrying -----------------------------------------------------------

    def _wait_after(self, exc: Exception, attempts: Attempts, started: float) -> float:
        """Seconds to wait after the attempt that started at ``started``
        failed with ``exc`` (logged); with no next attempt, raises the
        :class:`UpstreamError` for ``exc`` (``exc`` if it is no upstream
        failure)."""
        elapsed = time.monotonic() - started
        error = self.error_for(exc, attempts=attempts.number, elapsed=elapsed)
        if error is None:
            raise exc
        failure = self.retry.failure(
            error.kind,
            status=getattr(error, "upstream_status", None),
            retry_after=(
                error.retry_after
                if isinstance(error, UpstreamUnavailableError) and error.from_upstream
                else None
            ),
        )
        wait = attempts.wait_after(failure, exc)
        self._log(error, exc, retry_in=wait)
        if wait is None:
            if error is exc:
                raise exc
            raise error from exc
        return wait

    # -- calling ------------------------------------------------------------

    @contextlib.contextmanager
    def _running(self) -> t.Iterator[Attempts]:
        """The attempts of one call of :meth:`call` or :meth:`acall`, counted
        as running (so :meth:`check` leaves the logging to them). With a
        ``timeout``, no retry starts that could end after ``max_time``."""
        policy = self.retry.policy
        if self.timeout is not None:
            policy = dataclasses.replace(policy, attempt_timeout=self.timeout)
        token = _ACTIVE.set(_ACTIVE.get() + 1)
        try:
            yield Attempts(policy)
        finally:
            _ACTIVE.reset(token)

    def call(self, func: t.Callable[..., _T], /, *args: t.Any, **kwargs: t.Any) -> _T:
        """Call ``func(*args, **kwargs)`` with the retries of ``retry=``; an
        upstream response it returns is checked (:meth:`check`)."""
        with self._running() as attempts:
            while True:
                started = time.monotonic()
                try:
                    return self._checked(func(*args, **kwargs), attempts.number)
                except Exception as exc:
                    time.sleep(self._wait_after(exc, attempts, started))

    async def acall(
        self, func: t.Callable[..., t.Awaitable[_T]], /, *args: t.Any, **kwargs: t.Any
    ) -> _T:
        """:meth:`call` for a coroutine function (waits with ``asyncio.sleep``)."""
        with self._running() as attempts:
            while True:
                started = time.monotonic()
                try:
                    return await self._achecked(await func(*args, **kwargs), attempts.number)
                except Exception as exc:
                    await asyncio.sleep(self._wait_after(exc, attempts, started))

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
            await aclose_quietly(rv)
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
        if not isinstance(exc, Exception):
            return
        elapsed = None if started is None else time.monotonic() - started
        error = self.error_for(exc, elapsed=elapsed)
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

        search = upstream_call("search", timeout=10, retry=3)


        @search
        def find(query):
            return http.get(
                SEARCH_URL, params={"q": query}, timeout=search.timeout, headers=forward_headers()
            )


        with upstream_call("model", details={"model": "small"}):
            reply = client.post(MODEL_URL, json=payload).raise_for_status()

    :param service: The name clients see; never a URL or host.
    :param messages: The client message, one for all kinds or per kind of
        :data:`KINDS` (``{"timeout": "Model response timeout"}``).
    :param codes: Another error code per kind
        (``{"rate_limited": "PAYMENTS_RATE_LIMIT", "status": "PAYMENTS_ERROR"}``);
        a code in the catalog brings its status, message and format.
    :param details: App context added to the details (``{"model": ...}``).
    :param rename: Rename detail fields, ``None`` drops one
        (``{"service": None}``, ``{"upstream_message": "error"}``).
    :param timeout: The timeout the app passes to its HTTP client for this
        upstream, in seconds, shown as ``timeout_duration`` (httpx's own is
        used when not given). The client applies it, to each wait (to
        connect, for the next bytes), not to the whole call. Retries count it
        as an attempt's length: no retry starts that could not end, this long
        after its wait, within ``max_time``.
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
