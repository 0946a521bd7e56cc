"""Tests of flask_apierrors.retry: the upstream's names for the retry policy
(backoff, jitter, bounds, Retry-After); the parser is tested with the client's
transport."""

from __future__ import annotations

import typing as t

import pytest

from flask_apierrors.client import RetryPolicy
from flask_apierrors.client.failures import Failure
from flask_apierrors.retry import Retry
from flask_apierrors.retry import as_retry


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6])
def test_backoff_is_exponential_with_bounded_jitter(attempt: int) -> None:
    retry = Retry(attempts=10, base_delay=0.5, backoff=2.0, max_delay=8.0, jitter=0.1)
    base = min(8.0, 0.5 * 2 ** (attempt - 1))
    delays = [retry.delay(attempt, kind="connection", elapsed=0.0) for _ in range(200)]
    assert all(d is not None and base <= d <= base * 1.1 for d in delays)
    assert len(set(delays)) > 1  # jittered


def test_retry_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Retry(attempts=0)
    with pytest.raises(ValueError, match="kinds"):
        Retry(kinds=frozenset({"everything"}))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"attempt": 3, "kind": "connection", "elapsed": 0.0}, None),  # attempts used up
        ({"attempt": 1, "kind": "status", "elapsed": 0.0, "status": 404}, None),
        ({"attempt": 1, "kind": "status", "elapsed": 0.0}, None),
        ({"attempt": 1, "kind": "timeout", "elapsed": 9.9}, None),  # past max_time
        ({"attempt": 1, "kind": "rate_limited", "elapsed": 0.0, "retry_after": 20}, None),
        ({"attempt": 1, "kind": "rate_limited", "elapsed": 0.0, "retry_after": 4}, 4.0),
        ({"attempt": 2, "kind": "status", "elapsed": 0.0, "status": 503}, 2.0),
        ({"attempt": 1, "kind": "unavailable", "elapsed": 0.0}, 1.0),
    ],
)
def test_what_is_retried_and_when(kwargs: dict[str, object], expected: float | None) -> None:
    retry = Retry(attempts=3, base_delay=1.0, backoff=2.0, jitter=0.0, max_time=10.0)
    assert retry.delay(**kwargs) == expected  # type: ignore[arg-type]


def test_only_chosen_kinds_are_retried() -> None:
    retry = Retry(kinds=frozenset({"timeout"}), jitter=0.0)
    assert retry.delay(1, kind="timeout", elapsed=0.0) == 0.5
    assert retry.delay(1, kind="connection", elapsed=0.0) is None


@pytest.mark.parametrize(
    ("value", "attempts"), [(None, 1), (False, 1), (True, 3), (5, 5), (Retry(attempts=2), 2)]
)
def test_as_retry(value: Retry | int | bool | None, attempts: int) -> None:
    assert as_retry(value).attempts == attempts


def test_retry_names_the_same_policy() -> None:
    retry = Retry(attempts=4, base_delay=1.0, backoff=3.0, max_delay=5.0, jitter=0.0, max_time=9.0)
    assert retry.policy == RetryPolicy(
        max_retries=3,
        base_delay=1.0,
        backoff_factor=3.0,
        max_delay=5.0,
        jitter=0.0,
        retry_after_spread=0.0,
        max_retry_after=float("inf"),
        timeout=9.0,
        statuses=frozenset(range(500, 600)),
        kinds=retry.kinds,
    )
    # The upstream's status counts for kind "status" only.
    assert retry.failure("rate_limited", status=429) == Failure("rate_limited")
    assert retry.delay(1, kind="rate_limited", elapsed=0.0, status=429) == 1.0


def test_retry_jitter_is_added() -> None:
    retry = Retry(base_delay=1.0, jitter=0.5)
    waits = [retry.delay(1, kind="connection", elapsed=0.0) for _ in range(200)]
    assert all(w is not None and 1.0 <= w <= 1.5 for w in waits)
    assert min(t.cast(list[float], waits)) < 1.1 and max(t.cast(list[float], waits)) > 1.4
    with pytest.raises(ValueError, match="jitter"):
        Retry(jitter=-0.1)
