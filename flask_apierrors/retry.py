"""Retry policy for calls to other services: exponential backoff with
jitter, the upstream's ``Retry-After`` honoured, bounded in attempts and in
total time. Pure: no IO, no Flask.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import random
import typing as t
from datetime import datetime
from datetime import timezone

__all__ = ["KINDS", "Retry", "as_retry", "parse_retry_after"]

#: The kinds of upstream failure: ``connection`` (refused, reset, connect
#: timeout, broken response), ``status`` (an error status), ``rate_limited``
#: (429), ``unavailable`` (503), ``timeout`` (no answer in time).
KINDS: t.Final = ("connection", "status", "rate_limited", "unavailable", "timeout")


def parse_retry_after(value: str | None, *, now: float | None = None) -> int | None:
    """Seconds from a ``Retry-After`` value (seconds or an HTTP date), rounded
    up; ``None`` when missing or invalid.

    :param now: The current POSIX time (for tests).
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0, math.ceil(when.timestamp() - current))


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
        wait that would end later is not made, and the last error is raised
        (with its ``retry_after`` for the client).
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

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry(attempts=...) must be at least 1.")
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"Unknown upstream failure kinds {sorted(unknown)}; use {KINDS}.")

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
        if attempt >= self.attempts or kind not in self.kinds:
            return None
        if kind == "status" and (status is None or status < 500):
            return None  # our request was wrong: the same one will be too
        wait = min(self.max_delay, self.base_delay * self.backoff ** (attempt - 1))
        wait += random.uniform(0, wait * self.jitter)
        if retry_after is not None:
            wait = max(wait, float(retry_after))
        if elapsed + wait > self.max_time:
            return None
        return wait


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
