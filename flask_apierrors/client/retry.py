"""Retrying requests: the loops, sync and async, for requests and httpx.
What is retried and how long to wait is :class:`RetryPolicy`'s to say
(:mod:`.policy`).

.. versionadded:: 0.1
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
import typing as t

from .failures import Failure
from .failures import failure_of
from .failures import status_kind
from .parse import _peek_details
from .parse import araise_for_error
from .parse import raise_for_error
from .policy import Attempts
from .policy import OnRetry
from .policy import RetryPolicy
from .transport import aclose_quietly
from .transport import close_quietly
from .transport import retry_after
from .transport import status_of

R = t.TypeVar("R")

#: Methods that may be sent twice without harm (RFC 9110).
IDEMPOTENT_METHODS: t.Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


def _wait(attempts: Attempts, response: t.Any) -> float | None:
    """Seconds to wait before retrying after ``response``, if the policy
    retries it (only then is its body read, for ``details.retry_after``);
    ``None``: it stands."""
    status = status_of(response)
    if status is None or status not in attempts.policy.statuses or attempts.last:
        return None
    asked = retry_after(response, _peek_details(response))
    failure = Failure(status_kind(status), status=status, retry_after=asked)
    return attempts.wait_after(failure, response)


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
    attempts = Attempts(policy, idempotent=idempotent, clock=clock, rng=rng, on_retry=on_retry)
    while True:
        try:
            response = send()
        except Exception as exc:
            if (delay := attempts.wait_after(failure_of(exc), exc)) is None:
                raise
        else:
            if (delay := _wait(attempts, response)) is None:
                return response
            close_quietly(response)
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
    attempts = Attempts(policy, idempotent=idempotent, clock=clock, rng=rng, on_retry=on_retry)
    while True:
        try:
            response = await send()
        except Exception as exc:
            if (delay := attempts.wait_after(failure_of(exc), exc)) is None:
                raise
        else:
            if (delay := _wait(attempts, response)) is None:
                return response
            await aclose_quietly(response)
        await sleep(delay)


def request_with_retry(
    client: t.Any,
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
    send = functools.partial(client.request, method, url, **kwargs)
    idempotent = method.upper() in IDEMPOTENT_METHODS
    response = retry_call(send, policy, idempotent=idempotent, on_retry=on_retry)
    return raise_for_error(response) if raise_errors else response


async def arequest_with_retry(
    client: t.Any,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    raise_errors: bool = True,
    on_retry: OnRetry | None = None,
    **kwargs: t.Any,
) -> t.Any:
    """:func:`request_with_retry` for an ``httpx.AsyncClient``."""
    send = functools.partial(client.request, method, url, **kwargs)
    idempotent = method.upper() in IDEMPOTENT_METHODS
    response = await aretry_call(send, policy, idempotent=idempotent, on_retry=on_retry)
    return await araise_for_error(response) if raise_errors else response
