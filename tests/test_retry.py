"""Tests of flask_apierrors.retry: backoff, jitter, bounds, Retry-After."""

from __future__ import annotations

import pytest

from flask_apierrors.retry import Retry
from flask_apierrors.retry import as_retry
from flask_apierrors.retry import parse_retry_after


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        (" 120 ", 120),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0),
        ("Wed, 21 Oct 2015 07:28:00", 30),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: int | None) -> None:
    now = 1445412450.0  # 2015-10-21T07:27:30Z
    assert parse_retry_after(value, now=now) == expected
