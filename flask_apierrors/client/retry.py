"""Retries: exponential backoff with jitter, ``Retry-After`` honoured, only
429, 502, 503, 504 and connection errors retried, within a bound on
attempts and on total time; for requests and httpx, sync and async.

.. versionadded:: 0.1
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import typing as t

from .errors import RETRY_STATUSES
from .parse import _peek_details
from .parse import araise_for_error
from .parse import raise_for_error
from .transport import _status_of
from .transport import is_connection_error
from .transport import retry_after

R = t.TypeVar("R")

#: Methods that may be sent twice without harm (RFC 9110).
IDEMPOTENT_METHODS: t.Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


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
        on_retry: OnRetry | None,
    ) -> None:
        self.policy = policy
        self.idempotent = idempotent
        self.clock = clock
        self.rng = rng
        self.on_retry = on_retry
        self.deadline = clock() + policy.timeout
        self.retry = 0

    def _take(self, delay: float | None, cause: t.Any) -> float | None:
        """``delay`` if the wait ends within the time bound (then it counts
        as a retry, and ``on_retry`` hears of it), else ``None``."""
        if delay is None or self.clock() + delay > self.deadline:
            return None
        self.retry += 1
        if self.on_retry is not None:
            self.on_retry(self.retry, delay, cause)
        return delay

    def after_exception(self, exc: BaseException) -> float | None:
        """The delay before retrying after ``exc``, or ``None`` to re-raise."""
        if self.retry >= self.policy.max_retries:
            return None
        if not is_connection_error(exc, sent=None if self.idempotent else False):
            return None
        return self._take(self.policy.backoff(self.retry + 1, self.rng), exc)

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
        return self._take(self.policy.delay_for(self.retry + 1, response, self.rng), response)


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
    attempts = _Attempts(policy or RetryPolicy(), idempotent, clock, rng, on_retry)
    while True:
        try:
            response = send()
        except Exception as exc:
            delay = attempts.after_exception(exc)
            if delay is None:
                raise
            sleep(delay)
            continue
        delay = attempts.after_response(response)
        if delay is None:
            return response
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
    attempts = _Attempts(policy or RetryPolicy(), idempotent, clock, rng, on_retry)
    while True:
        try:
            response = await send()
        except Exception as exc:
            delay = attempts.after_exception(exc)
            if delay is None:
                raise
            await sleep(delay)
            continue
        delay = attempts.after_response(response)
        if delay is None:
            return response
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
