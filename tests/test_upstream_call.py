"""Tests of flask_apierrors.upstream.call: retries of decorated functions
and :meth:`UpstreamCall.call` (sync and async, one policy), and checking a
response at hand."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import typing as t

import httpx
import pytest
import requests

from flask_apierrors.upstream import Retry
from flask_apierrors.upstream import UpstreamStatusError
from flask_apierrors.upstream import UpstreamTimeoutError
from flask_apierrors.upstream import UpstreamUnavailableError
from flask_apierrors.upstream import forward_headers
from flask_apierrors.upstream import httpx_async_event_hooks
from flask_apierrors.upstream import httpx_event_hooks
from flask_apierrors.upstream import upstream_call
from tests.conftest import MakeApp
from tests.support.upstream import UpstreamServer


@pytest.fixture(scope="module")
def upstream() -> t.Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


# -- retries -----------------------------------------------------------------------

FAST = Retry(attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.mark.parametrize("client", ["requests", "httpx", "httpx_async"])
@pytest.mark.parametrize(("fail", "status", "attempts"), [(2, 200, 3), (5, 503, 3)])
def test_retry_until_success_or_attempts_run_out(
    make_app: MakeApp,
    upstream: UpstreamServer,
    client: str,
    fail: int,
    status: int,
    attempts: int,
) -> None:
    key = f"{client}-{fail}-{random.random()}"
    url = f"{upstream.url}/flaky?fail={fail}&key={key}&retry_after="
    call = upstream_call("svc", retry=FAST)
    app, _ = make_app()

    @app.get("/")
    def view() -> t.Any:
        if client == "requests":
            return call.call(lambda: requests.get(url, timeout=5, headers=forward_headers())).json()
        if client == "httpx":
            with httpx.Client(event_hooks=httpx_event_hooks()) as http:
                return call.call(http.get, url).json()

        async def aget() -> t.Any:
            async with httpx.AsyncClient(event_hooks=httpx_async_event_hooks()) as http:
                return (await call.acall(http.get, url)).json()

        return asyncio.run(aget())

    response = app.test_client().get("/")
    assert response.status_code == status
    received = [r for r in upstream.requests if r.query.get("key") == key]
    assert len(received) == attempts
    # Every attempt carries the request's correlation id.
    assert {r.header("X-Request-ID") for r in received} == {response.headers["X-Request-ID"]}
    if status == 503:
        # No Retry-After upstream: the default, and no wait for it.
        assert response.get_json()["details"]["retry_after"] == 30


def test_retry_waits_for_retry_after(make_app: MakeApp, upstream: UpstreamServer) -> None:
    key = f"wait-{random.random()}"
    call = upstream_call("svc", retry=FAST)

    @call
    def fetch_flaky() -> requests.Response:
        return requests.get(f"{upstream.url}/flaky?fail=1&key={key}&retry_after=1", timeout=5)

    assert fetch_flaky().json()["attempt"] == 2
    first, second = [r for r in upstream.requests if r.query.get("key") == key]
    assert second.received_at - first.received_at >= 0.95


@pytest.mark.parametrize(
    ("path", "attempts"),
    [
        ("/status/503?retry_after=60", 1),  # later than max_time allows: fail at once
        ("/status/404", 1),  # a client error of ours: never retried
        ("/status/500", 3),
    ],
)
def test_what_is_retried(upstream: UpstreamServer, path: str, attempts: int) -> None:
    call = upstream_call("svc", retry=Retry(attempts=3, base_delay=0.01, max_time=5))
    marker = f"{random.random()}"
    url = f"{upstream.url}{path}{'&' if '?' in path else '?'}m={marker}"
    with pytest.raises((UpstreamStatusError, UpstreamUnavailableError)) as info:
        call.call(requests.get, url, timeout=5)
    assert info.value.attempts == attempts
    assert len([r for r in upstream.requests if r.query.get("m") == marker]) == attempts


def test_retries_are_bounded_in_total_time(upstream: UpstreamServer) -> None:
    call = upstream_call(
        "svc", retry=Retry(attempts=50, base_delay=0.05, max_delay=0.05, max_time=0.8)
    )
    started = time.monotonic()
    with pytest.raises(UpstreamTimeoutError) as info:
        call.call(requests.get, upstream.url + "/hang", timeout=0.2)
    elapsed = time.monotonic() - started
    assert 0.6 < elapsed < 1.6
    assert 2 <= info.value.attempts < 50


@pytest.mark.parametrize("client", ["requests", "httpx_async"])
@pytest.mark.parametrize(("max_time", "attempts"), [(1.5, 1), (2.6, 2)])
def test_no_retry_starts_that_could_not_end_within_max_time(
    upstream: UpstreamServer, client: str, max_time: float, attempts: int
) -> None:
    # Each retry waits the upstream's Retry-After (1 s), then may take the
    # call's timeout (1 s): it must fit in what is left of max_time.
    call = upstream_call("svc", timeout=1, retry=Retry(attempts=3, max_time=max_time))
    marker = f"{random.random()}"
    url = f"{upstream.url}/status/503?retry_after=1&m={marker}"

    async def aget() -> httpx.Response:
        async with httpx.AsyncClient(timeout=call.timeout) as http:
            return await call.acall(http.get, url)

    started = time.monotonic()
    with pytest.raises(UpstreamUnavailableError) as info:
        if client == "requests":
            call.call(requests.get, url, timeout=call.timeout)
        else:
            asyncio.run(aget())
    elapsed = time.monotonic() - started
    assert info.value.attempts == attempts
    assert len([r for r in upstream.requests if r.query.get("m") == marker]) == attempts
    assert elapsed < attempts - 1 + 0.5 < max_time


def test_check_standalone_logs_once_and_closes(
    upstream: UpstreamServer, caplog: pytest.LogCaptureFixture
) -> None:
    call = upstream_call("svc")
    with httpx.Client() as http:
        ok = http.get(upstream.url + "/ok")
        assert call.check(ok) is ok
        failed = http.get(upstream.url + "/status/502")
        with caplog.at_level(logging.ERROR, logger="flask_apierrors.upstream"):
            with pytest.raises(UpstreamStatusError) as info:
                call.check(failed)
    assert failed.is_closed
    assert info.value.upstream_message == "Bad gateway"
    assert len([r for r in caplog.records if r.name == "flask_apierrors.upstream"]) == 1


def test_check_an_async_response(upstream: UpstreamServer) -> None:
    call = upstream_call("svc")

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            response = await http.get(upstream.url + "/status/429?retry_after=3")
            with pytest.raises(UpstreamUnavailableError) as info:
                call.check(response)
            assert (info.value.retry_after, info.value.kind) == (3, "rate_limited")

    asyncio.run(main())
