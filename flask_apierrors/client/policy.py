"""The retry policy of the whole package: the client's retries and the
upstream calls' (:class:`flask_apierrors.upstream.Retry` names its parameters).
Backoff, jitter, the bounds on attempts and time, what is retried and how a
``Retry-After`` is honoured: :meth:`RetryPolicy.wait` decides every retry
of the loops (:meth:`RetryPolicy.delay_for` is the wait alone, with no
check of kind, status, attempts or time, for callers that loop
themselves); :class:`Attempts` is the step of every retry loop, sync or
async.

No retry library: urllib3's ``Retry`` lives inside urllib3's pools (no httpx,
no async, no wrapped call); tenacity or stamina would add a dependency to a
client that needs only requests or httpx, and the parts that matter here
(``Retry-After`` obeyed but bounded, no attempt past the time bound, the last
response handed back, ``POST`` retried only if unprocessed) would still be
our own callbacks.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import random
import time
import typing as t

from .errors import RETRY_STATUSES
from .failures import KINDS
from .failures import Failure
from .parse import _peek_details
from .transport import retry_after

#: The kinds the client retries by default: all but ``timeout`` (a request
#: that timed out may have been processed, and may time out again).
CLIENT_KINDS: t.Final = frozenset(KINDS) - {"timeout"}

#: ``on_retry(retry_number, delay, response_or_exception)``.
OnRetry = t.Callable[[int, float, t.Any], None]

_RANDOM: t.Final = random.Random()


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry.

    The n-th retry waits ``base_delay * backoff_factor ** (n - 1)`` seconds,
    at most ``max_delay``, minus a random part of up to ``jitter`` of it (so
    many clients do not retry in step). A failure that says how long to
    wait (``Retry-After``, ``X-RateLimit-Reset``, ``details.retry_after``)
    is obeyed instead, plus up to ``retry_after_spread`` of it; if that is
    longer than ``max_retry_after``, or the wait and then the next attempt
    (``attempt_timeout``) could run past ``timeout``, the last failure
    stands at once rather than being waited for.

    :param max_retries: Retries after the first attempt.
    :param timeout: Bound on the total time, waits and attempts included
        (seconds).
    :param statuses: Response statuses that are retried.
    :param kinds: Kinds of failure (:data:`~flask_apierrors.upstream.KINDS`)
        that are retried; read timeouts are not, by default.
    :param attempt_timeout: The timeout of each attempt (seconds), when
        known: no attempt is started that might end after ``timeout``.
        Unknown (``None``), only the wait must end before ``timeout``.

    .. versionchanged:: 0.2
        ``attempt_timeout``.
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
    kinds: frozenset[str] = CLIENT_KINDS
    attempt_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0.")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1.")
        if self.base_delay < 0 or self.max_delay < 0 or self.timeout <= 0:
            raise ValueError("Delays must be >= 0 and timeout > 0.")
        if self.attempt_timeout is not None and self.attempt_timeout <= 0:
            raise ValueError("attempt_timeout must be > 0 (or None: unknown).")
        if unknown := set(self.kinds) - set(KINDS):
            raise ValueError(f"Unknown failure kinds {sorted(unknown)}; use {KINDS}.")
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        object.__setattr__(self, "kinds", frozenset(self.kinds))

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``retry`` (1-based), with jitter."""
        delay = min(self.max_delay, self.base_delay * self.backoff_factor ** (retry - 1))
        return delay * (1 - self.jitter * (rng or _RANDOM).random())

    def _delay(self, retry: int, asked: float | None, rng: random.Random | None) -> float | None:
        if asked is None:
            return self.backoff(retry, rng)
        if asked > self.max_retry_after:
            return None
        return asked * (1 + self.retry_after_spread * (rng or _RANDOM).random())

    def retries(self, failure: Failure, *, idempotent: bool = True) -> bool:
        """Whether ``failure`` is one to retry (attempts and time aside).

        :param idempotent: ``False``: only if the server did not process the
            request (429, 503, a connection that never opened).
        """
        if failure.kind not in self.kinds:
            return False
        if failure.status is None:
            if failure.kind == "status":
                return False
        elif failure.status not in self.statuses:
            return False
        return idempotent or not failure.processed

    def wait(
        self,
        attempt: int,
        failure: Failure,
        *,
        elapsed: float = 0.0,
        idempotent: bool = True,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait after attempt number ``attempt`` (1 for the first)
        failed with ``failure``; ``None`` to give up.

        :param elapsed: Seconds since the first attempt started.
        :param idempotent: See :meth:`retries`.
        """
        if attempt > self.max_retries or not self.retries(failure, idempotent=idempotent):
            return None
        delay = self._delay(attempt, failure.retry_after, rng)
        # The next attempt must be able to finish, not only to start, in time.
        if delay is None or elapsed + delay + (self.attempt_timeout or 0.0) > self.timeout:
            return None
        return delay

    def delay_for(
        self, retry: int, response: t.Any = None, rng: random.Random | None = None
    ) -> float | None:
        """The wait before retry number ``retry`` after ``response``;
        ``None`` when the server asks for longer than ``max_retry_after``."""
        asked = None if response is None else retry_after(response, _peek_details(response))
        return self._delay(retry, asked, rng)


class Attempts:
    """The attempts of one call under ``policy`` (default :class:`RetryPolicy`):
    their number, the time bound, the wait after each failure (``on_retry``
    is told of each retry)."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        idempotent: bool = True,
        clock: t.Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_retry: OnRetry | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.idempotent = idempotent
        self.clock = clock
        self.rng = rng
        self.on_retry = on_retry
        self.started = clock()
        #: The attempt being made, from 1.
        self.number = 1

    @property
    def last(self) -> bool:
        """Whether this attempt is the last the policy allows."""
        return self.number > self.policy.max_retries

    def wait_after(self, failure: Failure | None, cause: t.Any = None) -> float | None:
        """Seconds to wait before the next attempt, this one having failed
        with ``failure`` (``None``: none to retry); ``None`` to stop.
        ``cause``, the response or exception, is for ``on_retry``."""
        if failure is None:
            return None
        delay = self.policy.wait(
            self.number,
            failure,
            elapsed=self.clock() - self.started,
            idempotent=self.idempotent,
            rng=self.rng,
        )
        if delay is not None:
            if self.on_retry is not None:
                self.on_retry(self.number, delay, cause)
            self.number += 1
        return delay
