"""Tests of flask_apierrors.integrations.http_clients: which exceptions of
requests, httpx and the standard library are upstream failures, and the
correlation id forwarding helpers."""

from __future__ import annotations

import asyncio
import socket
import typing as t
import urllib.error

import httpx
import pytest
import requests

from flask_apierrors.integrations.http_clients import classify
from flask_apierrors.integrations.http_clients import forward_headers
from flask_apierrors.integrations.http_clients import httpx_async_event_hooks
from flask_apierrors.integrations.http_clients import httpx_event_hooks
from flask_apierrors.integrations.http_clients import safe_url
from flask_apierrors.integrations.http_clients import scrub
from tests.conftest import MakeApp


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionRefusedError(), ("connection", "Connection refused")),
        (BrokenPipeError(), ("connection", "Connection reset")),
        (TimeoutError(), ("timeout", None)),
        (socket.gaierror(), ("connection", "Name resolution failed")),
        (requests.exceptions.InvalidURL("x"), None),
        (httpx.UnsupportedProtocol("x"), None),
        (httpx.RemoteProtocolError("x"), ("connection", "Invalid response")),
        (requests.exceptions.TooManyRedirects("x"), ("connection", "Too many redirects")),
        (ValueError("x"), None),
        (urllib.error.URLError(ConnectionRefusedError()), ("connection", "Connection refused")),
        (urllib.error.URLError("no host"), ("connection", "Connection failed")),
        (httpx.ConnectTimeout("x"), ("connection", "Connection timeout")),
        (httpx.PoolTimeout("x"), ("timeout", None)),
        (requests.exceptions.ConnectTimeout("x"), ("connection", "Connection timeout")),
        (requests.exceptions.ReadTimeout("x"), ("timeout", None)),
    ],
)
def test_classify(exc: BaseException, expected: tuple[str, str | None] | None) -> None:
    assert classify(exc) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("for url: http://u:pw@host:1/p?key=abc", "for url: http://host:1/p?[query]"),
        (
            "HTTPConnectionPool(host='h', port=1): url: /x?token=t",
            "HTTPConnectionPool(host='h', port=1): url: /x?[query]",
        ),
        ("no url here", "no url here"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_safe_url_drops_credentials_and_query() -> None:
    class Response:
        url = "https://user:secret@api.example:8443/v1/models?api_key=k"

    assert safe_url(Response()) == "https://api.example:8443/v1/models"
    assert safe_url(object()) == "-"


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
