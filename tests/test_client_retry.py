"""Tests of flask_apierrors.client.retry: retries against a real misbehaving
upstream, with requests and httpx, sync and async."""

from __future__ import annotations

import asyncio
import random
import time
import typing as t

import httpx
import pytest
import requests

from flask_apierrors import client
from flask_apierrors.client import ApiClientError
from flask_apierrors.client import RetryPolicy
from flask_apierrors.client import UpstreamError

from .support.upstream import UpstreamServer
from .support.upstream import refused_url

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def upstream() -> t.Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


@pytest.fixture
def session() -> t.Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def http() -> t.Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retries=3, timeout=10)


def key() -> str:
    return f"k{random.random()}"


@pytest.mark.parametrize("lib", ["requests", "httpx"])
def test_flaky_upstream_succeeds_after_retries(upstream: UpstreamServer, lib: str) -> None:
    k = key()
    url = f"{upstream.url}/flaky?fail=2&key={k}"
    retries: list[tuple[int, float, t.Any]] = []
    if lib == "requests":
        with requests.Session() as s:
            response = client.request_with_retry(
                s, "GET", url, policy=FAST, timeout=5, on_retry=lambda *a: retries.append(a)
            )
            response.close()
    else:
        with httpx.Client(timeout=5) as c:
            response = client.request_with_retry(
                c, "GET", url, policy=FAST, on_retry=lambda *a: retries.append(a)
            )
    assert response.status_code == 200 and response.json()["attempt"] == 3
    assert [r[0] for r in retries] == [1, 2]
    assert all(0 < r[1] <= 0.05 for r in retries)
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == 3


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried_until_the_bound(
    upstream: UpstreamServer, status: int, http: httpx.Client
) -> None:
    k = key()
    url = f"{upstream.url}/status/{status}?retry_after=&key={k}"
    response = client.retry_call(lambda: http.get(url), RetryPolicy(base_delay=0.01, max_retries=2))
    assert response.status_code == status
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == 3
    with pytest.raises(ApiClientError) as raised:
        client.request_with_retry(
            http, "GET", url, policy=RetryPolicy(base_delay=0.01, max_retries=1)
        )
    assert raised.value.status == status


@pytest.mark.parametrize("status", [400, 401, 404, 409, 500, 501])
def test_other_statuses_are_not_retried(
    upstream: UpstreamServer, status: int, session: requests.Session
) -> None:
    k = key()
    url = f"{upstream.url}/status/{status}?key={k}"
    response = client.request_with_retry(session, "GET", url, policy=FAST, raise_errors=False)
    response.close()
    assert response.status_code == status
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == 1


def test_retry_after_is_honoured(upstream: UpstreamServer, http: httpx.Client) -> None:
    k = key()
    url = f"{upstream.url}/flaky?fail=1&key={k}&retry_after=1"
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    response = client.retry_call(lambda: http.get(url), FAST, sleep=sleep)
    assert response.status_code == 200
    assert len(slept) == 1 and 1.0 <= slept[0] <= 1.1
    hits = [r.received_at for r in upstream.requests if r.query.get("key") == k]
    assert hits[1] - hits[0] >= 1.0
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("policy", "attempts"),
    [
        # Retry-After: 7 runs past the time bound: the 503 is returned at once.
        (RetryPolicy(timeout=2), 1),
        # ... or past max_retry_after.
        (RetryPolicy(max_retry_after=5), 1),
        (RetryPolicy(max_retries=0), 1),
    ],
)
def test_long_waits_are_not_waited_for(
    upstream: UpstreamServer, policy: RetryPolicy, attempts: int, http: httpx.Client
) -> None:
    k = key()
    url = f"{upstream.url}/status/503?key={k}"
    started = time.monotonic()
    response = client.retry_call(lambda: http.get(url), policy)
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert time.monotonic() - started < 1
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == attempts


def test_total_time_is_bounded(upstream: UpstreamServer, http: httpx.Client) -> None:
    policy = RetryPolicy(base_delay=0.2, backoff_factor=1.0, jitter=0, max_retries=50, timeout=1)
    started = time.monotonic()
    response = client.retry_call(lambda: http.get(f"{upstream.url}/status/502"), policy)
    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert 0.6 <= elapsed <= 1.5


@pytest.mark.parametrize("lib", ["requests", "httpx"])
def test_connection_refused_is_retried_then_raised(lib: str) -> None:
    url = refused_url("/ok")
    retries: list[t.Any] = []
    expected: type[Exception] = (
        requests.ConnectionError if lib == "requests" else httpx.ConnectError
    )
    with pytest.raises(expected):
        if lib == "requests":
            client.request_with_retry(
                requests, "POST", url, policy=FAST, timeout=2, on_retry=lambda *a: retries.append(a)
            )
        else:
            with httpx.Client(timeout=2) as c:
                client.request_with_retry(
                    c, "POST", url, policy=FAST, on_retry=lambda *a: retries.append(a)
                )
    # Never sent: retried even for a POST.
    assert len(retries) == FAST.max_retries
    assert all(isinstance(r[2], expected) for r in retries)


@pytest.mark.parametrize("lib", ["requests", "httpx"])
@pytest.mark.parametrize(("method", "attempts"), [("GET", 3), ("POST", 1)])
def test_reset_connections_are_retried_only_when_idempotent(
    upstream: UpstreamServer, lib: str, method: str, attempts: int
) -> None:
    k = key()
    url = f"{upstream.url}/reset?key={k}"
    policy = RetryPolicy(base_delay=0.01, max_retries=2)
    with pytest.raises((requests.ConnectionError, httpx.TransportError)):
        if lib == "requests":
            with requests.Session() as s:
                client.request_with_retry(s, method, url, policy=policy, timeout=5)
        else:
            with httpx.Client(timeout=5) as c:
                client.request_with_retry(c, method, url, policy=policy)
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == attempts


@pytest.mark.parametrize(("status", "attempts"), [(503, 3), (429, 3), (502, 1), (504, 1)])
def test_post_is_retried_only_when_not_processed(
    upstream: UpstreamServer, status: int, attempts: int, http: httpx.Client
) -> None:
    k = key()
    url = f"{upstream.url}/status/{status}?retry_after=0&key={k}"
    policy = RetryPolicy(base_delay=0.01, max_retries=2)
    response = client.request_with_retry(http, "POST", url, policy=policy, raise_errors=False)
    assert response.status_code == status
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == attempts


def test_read_timeouts_are_not_retried(upstream: UpstreamServer) -> None:
    k = key()
    with pytest.raises(requests.ReadTimeout), requests.Session() as s:
        client.request_with_retry(
            s, "GET", f"{upstream.url}/hang?key={k}", policy=FAST, timeout=0.3
        )
    assert len([r for r in upstream.requests if r.query.get("key") == k]) == 1


def test_async_retry(upstream: UpstreamServer) -> None:
    k = key()

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as c:
            response: httpx.Response = await client.arequest_with_retry(
                c, "GET", f"{upstream.url}/flaky?fail=2&key={k}", policy=FAST
            )
            return response

    response = asyncio.run(main())
    assert response.status_code == 200 and response.json()["attempt"] == 3


def test_async_retry_gives_up_on_refused() -> None:
    url = refused_url("/ok")
    retries: list[t.Any] = []

    async def main() -> None:
        async with httpx.AsyncClient(timeout=2) as c:
            await client.arequest_with_retry(
                c, "GET", url, policy=FAST, on_retry=lambda *a: retries.append(a)
            )

    with pytest.raises(httpx.ConnectError):
        asyncio.run(main())
    assert len(retries) == FAST.max_retries


def test_async_retry_honours_status_and_raises(upstream: UpstreamServer) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as c:
            await client.arequest_with_retry(
                c,
                "GET",
                f"{upstream.url}/status/504",
                policy=RetryPolicy(base_delay=0.01, max_retries=1),
            )

    with pytest.raises(UpstreamError) as raised:
        asyncio.run(main())
    assert raised.value.status == 504
