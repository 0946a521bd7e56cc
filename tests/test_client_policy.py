"""Tests of flask_apierrors.client.policy: the one retry policy (backoff,
jitter, bounds, what is retried, Retry-After) and the step of every retry
loop."""

from __future__ import annotations

import random
import typing as t

import httpx
import pytest
import requests

from flask_apierrors.client import RetryPolicy
from flask_apierrors.client import retry_call
from flask_apierrors.client.failures import Failure
from flask_apierrors.client.policy import Attempts
from tests.support.upstream import UpstreamServer

NO_JITTER = RetryPolicy(base_delay=1.0, backoff_factor=2.0, jitter=0.0, retry_after_spread=0.0)
BROKEN = Failure("connection")


@pytest.mark.parametrize("retry", [1, 2, 3, 8])
@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_backoff_is_exponential_with_bounded_jitter(retry: int, jitter: float) -> None:
    policy = RetryPolicy(base_delay=0.5, backoff_factor=2.0, max_delay=2.0, jitter=jitter)
    full = min(2.0, 0.5 * 2.0 ** (retry - 1))
    delays = [policy.backoff(retry, random.Random(seed)) for seed in range(50)]
    assert all(full * (1 - jitter) <= d <= full for d in delays)
    assert (len(set(delays)) > 1) is (jitter > 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"jitter": 1.5},
        {"base_delay": -1},
        {"timeout": 0},
        {"attempt_timeout": 0},
        {"kinds": frozenset({"everything"})},
    ],
)
def test_policy_checks_its_values(kwargs: dict[str, t.Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    ("attempt", "failure", "kwargs", "expected"),
    [
        (1, BROKEN, {}, 1.0),
        (3, BROKEN, {}, 4.0),
        (4, BROKEN, {}, None),  # max_retries used up
        (1, Failure("timeout"), {}, None),  # not a kind the client retries
        (1, Failure("status", status=502), {}, 1.0),
        (1, Failure("status", status=500), {}, None),  # not in statuses
        (1, Failure("status"), {}, None),  # an error status nobody named
        (1, Failure("rate_limited", status=429, retry_after=7.0), {}, 7.0),
        (1, Failure("rate_limited", status=429, retry_after=0.0), {}, 0.0),
        (1, Failure("unavailable", status=503, retry_after=121.0), {}, None),  # > max_retry_after
        (1, Failure("unavailable", status=503, retry_after=7.0), {"elapsed": 114.0}, None),
        (1, Failure("unavailable", status=503), {"idempotent": False}, 1.0),
        (1, Failure("status", status=502), {"idempotent": False}, None),  # maybe processed
        (1, Failure("connection", sent=False), {"idempotent": False}, 1.0),
        (1, BROKEN, {"idempotent": False}, None),
    ],
)
def test_wait(
    attempt: int, failure: Failure, kwargs: dict[str, t.Any], expected: float | None
) -> None:
    assert NO_JITTER.wait(attempt, failure, **kwargs) == expected


def test_retry_after_gets_a_spread_and_replaces_the_backoff() -> None:
    policy = RetryPolicy(base_delay=10.0, retry_after_spread=0.1)
    waits = {policy.wait(1, Failure("unavailable", status=503, retry_after=2.0)) for _ in range(50)}
    assert all(w is not None and 2.0 <= w <= 2.2 for w in waits) and len(waits) > 1
    response = httpx.Response(503, headers={"Retry-After": "3"})
    assert NO_JITTER.delay_for(1, response) == 3.0
    assert NO_JITTER.delay_for(2) == 2.0


def test_attempts_count_and_tell() -> None:
    now = [0.0]
    told: list[tuple[int, float, t.Any]] = []
    attempts = Attempts(
        RetryPolicy(max_retries=2, timeout=10.0, jitter=0.0, base_delay=4.0),
        clock=lambda: now[0],
        on_retry=lambda *args: told.append(args),
    )
    assert attempts.wait_after(None) is None and attempts.number == 1
    assert attempts.wait_after(BROKEN, "first") == 4.0
    now[0] = 4.0
    assert attempts.number == 2 and not attempts.last
    assert attempts.wait_after(BROKEN, "second") is None  # 4 + 8 > 10 seconds
    assert told == [(1, 4.0, "first")]


def test_attempts_that_could_end_past_the_timeout_are_not_started() -> None:
    now = [0.0]
    policy = RetryPolicy(
        max_retries=5, timeout=10.0, jitter=0.0, base_delay=1.0, attempt_timeout=3.0
    )
    attempts = Attempts(policy, clock=lambda: now[0])
    assert attempts.wait_after(BROKEN) == 1.0  # the retry may end at 1 + 3 s
    now[0] = 4.0
    assert attempts.wait_after(BROKEN) == 2.0  # at 6 + 3 s
    now[0] = 9.0
    assert attempts.wait_after(BROKEN) is None  # 9 + 4 + 3 > 10 s


@pytest.mark.parametrize(("attempt_timeout", "attempts"), [(None, 2), (1.0, 1)])
def test_retry_call_bounds_the_attempts_in_time(
    attempt_timeout: float | None, attempts: int
) -> None:
    # The upstream asks for 1 s; an attempt may then take 1 s: past 1.5 s.
    policy = RetryPolicy(
        max_retries=3, timeout=1.5, retry_after_spread=0.0, attempt_timeout=attempt_timeout
    )
    with UpstreamServer() as upstream:
        url = f"{upstream.url}/status/503?retry_after=1"
        response = retry_call(lambda: requests.get(url, timeout=1.0), policy)
        assert response.status_code == 503
        assert len(upstream.requests) == attempts
