"""Tests of flask_apierrors.upstream.forwarding: the correlation id sent
along with calls to upstreams."""

from __future__ import annotations

import asyncio
import typing as t

import httpx
import pytest
import requests

from flask_apierrors.upstream import forward_correlation_id
from flask_apierrors.upstream import forward_headers
from flask_apierrors.upstream import httpx_async_event_hooks
from flask_apierrors.upstream import httpx_event_hooks
from tests.conftest import MakeApp
from tests.support.upstream import UpstreamServer


@pytest.fixture(scope="module")
def upstream() -> t.Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


def test_requests_session_forwards_the_correlation_id(
    make_app: MakeApp, upstream: UpstreamServer
) -> None:
    app, _ = make_app()

    @app.get("/")
    def view() -> t.Any:
        with forward_correlation_id(requests.Session()) as session:
            return session.get(upstream.url + "/ok", timeout=5).json()

    response = app.test_client().get("/", headers={"X-Request-ID": "abc-123"})
    assert response.get_json()["request_id"] == "abc-123"


def test_forward_headers_outside_a_request() -> None:
    assert forward_headers({"Accept": "application/json"}) == {"Accept": "application/json"}


def test_hooks_add_the_id_in_a_request_only(make_app: MakeApp) -> None:
    app, _ = make_app()
    sync_hook = httpx_event_hooks()["request"][0]
    async_hook = httpx_async_event_hooks()["request"][0]
    outside = httpx.Request("GET", "http://127.0.0.1/")
    sync_hook(outside)
    assert "X-Request-ID" not in outside.headers
    with app.test_request_context("/", headers={"X-Request-ID": "req-1"}):
        assert forward_headers() == {"X-Request-ID": "req-1"}
        first = httpx.Request("GET", "http://127.0.0.1/")
        sync_hook(first)
        second = httpx.Request("GET", "http://127.0.0.1/", headers={"X-Request-ID": "mine"})
        asyncio.run(t.cast(t.Any, async_hook)(second))
    assert first.headers["X-Request-ID"] == "req-1"
    assert second.headers["X-Request-ID"] == "mine"  # an explicit header wins
