"""Retries of calls to other services, with the parameters
:func:`~flask_apierrors.upstream.upstream_call` documents.

:class:`Retry` only names the parameters: the retry policy is the client's
:class:`~flask_apierrors.client.RetryPolicy` (one computation of backoff,
jitter, bounds and ``Retry-After`` for the whole package; its module says why
no retry library). :func:`parse_retry_after` and :data:`KINDS` are the
client layer's, kept importable from here. Pure: no IO, no Flask.
"""

from __future__ import annotations

import dataclasses
import math
import typing as t

from .client.failures import KINDS
from .client.failures import Failure
from .client.policy import RetryPolicy
from .client.transport import parse_retry_after

__all__ = ["KINDS", "Retry", "as_retry", "parse_retry_after"]

#: Error statuses (kind ``status``) an upstream call retries: a 4xx means our
#: request was wrong, and the same one will be too.
UPSTREAM_STATUSES: t.Final = frozenset(range(500, 600))


@dataclasses.dataclass(frozen=True, slots=True)
class Retry:
    """Retries of an idempotent upstream call: exponential backoff with
    jitter, at least the upstream's ``Retry-After``, bounded in attempts and
    in total time.

    :param attempts: Most calls in all (the first and the retries).
    :param base_delay: Wait before the first retry, in seconds.
    :param backoff: Factor of each further wait.
    :param max_delay: Longest wait between attempts (before jitter).
    :param jitter: Up to this fraction of the wait is added at random, so
        workers that failed together do not retry together.
    :param max_time: Seconds all attempts and waits may take together; a
        retry that could end later (its wait, then the call's ``timeout=``
        when given) is not made, and the last error is raised (with its
        ``retry_after`` for the client).
    :param kinds: The :data:`KINDS` retried; ``status`` only for 5xx
        statuses.

    .. versionadded:: 0.1
    """

    attempts: int = 3
    base_delay: float = 0.5
    backoff: float = 2.0
    max_delay: float = 8.0
    jitter: float = 0.1
    max_time: float = 30.0
    kinds: frozenset[str] = frozenset(KINDS)
    #: The same retries as a :class:`~flask_apierrors.client.RetryPolicy`.
    policy: RetryPolicy = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry(attempts=...) must be at least 1.")
        if self.jitter < 0:
            raise ValueError("Retry(jitter=...) must be at least 0.")
        # Jitter is added to the wait here and taken off it by RetryPolicy:
        # from a wait (1 + jitter) times as long, the same spread of waits.
        scale = 1 + self.jitter
        policy = RetryPolicy(
            max_retries=self.attempts - 1,
            base_delay=self.base_delay * scale,
            backoff_factor=self.backoff,
            max_delay=self.max_delay * scale,
            jitter=self.jitter / scale,
            retry_after_spread=0.0,
            max_retry_after=math.inf,
            timeout=self.max_time,
            statuses=UPSTREAM_STATUSES,
            kinds=self.kinds,
        )
        object.__setattr__(self, "policy", policy)

    def delay(
        self,
        attempt: int,
        *,
        kind: str,
        elapsed: float,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up.

        :param attempt: The attempt that just failed (1 for the first).
        :param kind: Its kind of failure (:data:`KINDS`).
        :param elapsed: Seconds since the first attempt started.
        :param status: The upstream's status, for kind ``status``.
        :param retry_after: The upstream's ``Retry-After`` in seconds.
        """
        failure = self.failure(kind, status=status, retry_after=retry_after)
        return self.policy.wait(attempt, failure, elapsed=elapsed)

    def failure(
        self, kind: str, *, status: int | None = None, retry_after: float | None = None
    ) -> Failure:
        """The failure :attr:`policy` judges; ``status`` counts for kind
        ``status`` only (429 and 503 are kinds of their own)."""
        return Failure(kind, status=status if kind == "status" else None, retry_after=retry_after)


def as_retry(retry: Retry | int | bool | None) -> Retry:
    """A :class:`Retry` from ``retry=``: ``None``/``False`` one attempt,
    ``True`` the defaults, a number of attempts, or a :class:`Retry`."""
    if retry is None or retry is False:
        return Retry(attempts=1)
    if retry is True:
        return Retry()
    if isinstance(retry, int):
        return Retry(attempts=retry)
    return retry
