"""Tests of flask_apierrors.upstream against a real misbehaving HTTP upstream
on loopback (refuses, hangs, resets, answers 500/503/429), through requests,
httpx, httpx's async client and urllib."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import typing as t
import urllib.request
import warnings

import httpx
import pytest
import requests
from flask import Flask

from flask_apierrors.sse import event_stream
from flask_apierrors.sse import sse_event
from flask_apierrors.upstream import UpstreamCall
from flask_apierrors.upstream import UpstreamStatusError
from flask_apierrors.upstream import forward_headers
from flask_apierrors.upstream import httpx_async_event_hooks
from flask_apierrors.upstream import httpx_event_hooks
from flask_apierrors.upstream import upstream_call
from tests.conftest import MakeApp
from tests.fuzz.upstream import WireUpstream
from tests.support.seeds import seed_examples
from tests.support.upstream import UpstreamServer
from tests.support.upstream import refused_url
from tests.test_sse import parse_events

EXAMPLES = seed_examples()

CLIENTS = ("requests", "httpx", "httpx_async", "urllib")
TIMEOUT = 0.3


def example(seed: str, section_end: str, name: str | None = None) -> dict[str, t.Any]:
    """The documented example whose section ends with ``section_end``."""
    for ex in EXAMPLES:
        if ex["seed"].startswith(seed) and ex["section"].endswith(section_end):
            if name is None or ex["example"] == name:
                return ex
    raise LookupError(section_end)


def assert_same_shape(body: t.Any, documented: t.Any, path: str = "body") -> None:
    """Same keys everywhere and same JSON types; codes and messages equal.
    Other values (times, ids, numbers the test server chose) may differ."""
    if isinstance(documented, dict):
        assert isinstance(body, dict), path
        assert set(body) == set(documented), f"{path}: {sorted(body)} != {sorted(documented)}"
        for key, value in documented.items():
            exact = key in ("error", "error_code", "code", "message") and "details" not in path
            if exact and isinstance(value, str):
                assert body[key] == value, f"{path}.{key}"
            else:
                assert_same_shape(body[key], value, f"{path}.{key}")
    else:
        assert type(body) is type(documented) or (
            isinstance(body, (int, float)) and isinstance(documented, (int, float))
        ), f"{path}: {body!r} vs {documented!r}"


def without_correlation_id(body: dict[str, t.Any]) -> dict[str, t.Any]:
    inner = body["detail"] if "detail" in body else body
    inner.pop("correlation_id", None)
    return body


@pytest.fixture(scope="module")
def upstream() -> t.Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


@contextlib.contextmanager
def unreachable() -> t.Iterator[str]:
    """A URL whose listener has a full accept queue: connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}/ok"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.fixture(scope="module")
def unreachable_url() -> t.Iterator[str]:
    with unreachable() as url:
        yield url


def fetch(client: str, call: UpstreamCall, url: str) -> t.Any:
    """Call ``url`` with ``client``, the way an app would, under ``call``."""
    if client == "requests":
        with call, requests.Session() as session:
            response = session.get(url, timeout=TIMEOUT, headers=forward_headers())
            response.raise_for_status()
            return response.json()
    if client == "httpx":

        @call
        def get() -> httpx.Response:
            timeout = httpx.Timeout(5, connect=TIMEOUT, read=TIMEOUT)
            with httpx.Client(event_hooks=httpx_event_hooks(), timeout=timeout) as http:
                return http.get(url)  # checked by the decorator

        return get().json()
    if client == "httpx_async":

        @call
        async def aget() -> t.Any:
            timeout = httpx.Timeout(5, connect=TIMEOUT, read=TIMEOUT)
            async with httpx.AsyncClient(
                event_hooks=httpx_async_event_hooks(), timeout=timeout
            ) as http:
                response = await http.get(url)
                response.raise_for_status()
                return response.json()

        return asyncio.run(aget())
    with call:
        request = urllib.request.Request(url, headers=forward_headers())
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())


def proxy_app(make_app: MakeApp, call: UpstreamCall, fmt: str = "error") -> Flask:
    app, errors = make_app(format=fmt)
    errors.catalog.add("FAL_API_ERROR", 502, "External service error", format="detail")
    errors.catalog.add("FAL_RATE_LIMIT", 503, "External service rate limit", format="detail")

    @app.get("/proxy/<client>")
    def proxy(client: str) -> t.Any:
        from flask import request

        return fetch(client, call, request.args["url"])

    return app


def get(app: Flask, client: str, url: str) -> t.Any:
    return app.test_client().get(f"/proxy/{client}", query_string={"url": url})


# -- the failure modes, per client ----------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("path", "status", "code", "details"),
    [
        (
            "/status/500",
            502,
            "bad_gateway",
            {"service": "svc", "upstream_status": 500, "upstream_message": "Internal server error"},
        ),
        (
            "/status/404",
            502,
            "bad_gateway",
            {"service": "svc", "upstream_status": 404, "upstream_message": "Not found"},
        ),
        ("/status/503", 503, "service_unavailable", {"service": "svc", "retry_after": 7}),
        (
            "/status/429?retry_after=12",
            503,
            "service_unavailable",
            {"service": "svc", "retry_after": 12},
        ),
        ("/hang", 504, "gateway_timeout", {"service": "svc", "timeout_duration": TIMEOUT}),
        (
            "/reset",
            502,
            "bad_gateway",
            {"service": "svc", "upstream_error": "Connection reset", "retry_suggested": True},
        ),
        (
            "/reset-mid",
            502,
            "bad_gateway",
            {"service": "svc", "upstream_error": "Connection reset", "retry_suggested": True},
        ),
        (
            "/reset-mid?framing=chunked",
            502,
            "bad_gateway",
            {"service": "svc", "upstream_error": "Connection reset", "retry_suggested": True},
        ),
    ],
)
def test_upstream_failures(
    make_app: MakeApp,
    upstream: UpstreamServer,
    client: str,
    path: str,
    status: int,
    code: str,
    details: dict[str, t.Any],
) -> None:
    call = upstream_call("svc", timeout=TIMEOUT if client in ("requests", "urllib") else None)
    response = get(proxy_app(make_app, call), client, upstream.url + path)
    body = response.get_json()
    assert response.status_code == status
    assert (body["error"], body["details"]) == (code, details)
    if status == 503:
        assert response.headers["Retry-After"] == str(details["retry_after"])
    else:
        assert "Retry-After" not in response.headers
    # Nothing of the upstream reaches the client.
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and str(upstream.port) not in text
    assert "upstream answered" not in text and "flaky" not in text


def test_a_redirect_requests_cannot_decode_is_a_bad_gateway(make_app: MakeApp) -> None:
    wire = WireUpstream()
    wire.answer = b"HTTP/1.1 302 Found\r\nLocation: /\xf7\xf7.\r\nContent-Length: 0\r\n\r\n"
    try:
        url = f"http://127.0.0.1:{wire.port}/"
        response = get(proxy_app(make_app, upstream_call("svc")), "requests", url)
    finally:
        wire.close()
        # requests leaves the redirect's socket to the garbage collector.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    assert response.status_code == 502
    assert response.get_json()["details"] == {
        "service": "svc",
        "upstream_error": "Invalid response",
        "retry_suggested": True,
    }


@pytest.mark.parametrize("client", CLIENTS)
def test_refused(make_app: MakeApp, client: str) -> None:
    response = get(proxy_app(make_app, upstream_call("svc")), client, refused_url("/ok"))
    assert response.status_code == 502
    assert response.get_json()["details"] == {
        "service": "svc",
        "upstream_error": "Connection refused",
        "retry_suggested": True,
    }


@pytest.mark.parametrize("client", CLIENTS)
def test_connect_timeout(make_app: MakeApp, unreachable_url: str, client: str) -> None:
    response = get(proxy_app(make_app, upstream_call("svc")), client, unreachable_url)
    assert response.status_code == 502
    assert response.get_json()["details"]["upstream_error"] == "Connection timeout"


@pytest.mark.parametrize("client", CLIENTS)
def test_success_forwards_the_correlation_id(
    make_app: MakeApp, upstream: UpstreamServer, client: str
) -> None:
    response = get(proxy_app(make_app, upstream_call("svc")), client, upstream.url + "/ok")
    assert response.status_code == 200
    cid = response.headers["X-Request-ID"]
    assert response.get_json() == {"ok": True, "request_id": cid}


# -- without upstream_call ------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "path", "status", "code"),
    [
        ("requests", "refused", 502, "bad_gateway"),
        ("httpx", "/reset", 502, "bad_gateway"),
        ("httpx", "/hang", 504, "gateway_timeout"),
    ],
)
def test_unwrapped_upstream_exceptions_are_gateway_errors(
    make_app: MakeApp,
    upstream: UpstreamServer,
    client: str,
    path: str,
    status: int,
    code: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, _ = make_app(config={"TESTING": False})
    url = refused_url() if path == "refused" else upstream.url + path

    @app.get("/")
    def view() -> t.Any:
        if client == "requests":
            return requests.get(url, timeout=TIMEOUT).json()
        return httpx.get(url, timeout=TIMEOUT).json()

    # Flask logs the traceback of the unhandled exception; the logger is
    # shared by name with later tests, so restore it afterwards.
    monkeypatch.setattr(app.logger, "disabled", True)
    response = app.test_client().get("/")
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code
    assert body["details"]["service"] == "upstream"
    assert "127.0.0.1" not in response.get_data(as_text=True)


@pytest.mark.parametrize("exc", [TimeoutError("pool"), ConnectionResetError("db")])
def test_bare_socket_errors_escaping_a_view_stay_500(
    make_app: MakeApp, exc: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = make_app(config={"TESTING": False})

    @app.get("/")
    def view() -> str:
        raise exc

    monkeypatch.setattr(app.logger, "disabled", True)
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"


def test_upstream_error_mid_stream(make_app: MakeApp, upstream: UpstreamServer) -> None:
    app, _ = make_app(format="detail")
    call = upstream_call("fal.ai")

    @app.get("/stream")
    @event_stream
    def stream() -> t.Iterator[str]:
        yield sse_event({"file_id": "file_001"}, event="progress")
        with call:
            httpx.get(upstream.url + "/status/500").raise_for_status()

    events = parse_events(app.test_client().get("/stream").get_data(as_text=True))
    assert events[1][1]["code"] == "BAD_GATEWAY"
    assert events[1][1]["details"]["upstream_status"] == 500
    assert events[2] == ("close", {"reason": "error"})


# -- units -------------------------------------------------------------------------------


def test_exceptions_raised_directly(make_app: MakeApp) -> None:
    app, _ = make_app(format="error")

    @app.get("/")
    def view() -> t.Any:
        raise UpstreamStatusError("billing", 401, details={"account": "a1"})

    body = app.test_client().get("/").get_json()
    assert body["details"] == {
        "service": "billing",
        "account": "a1",
        "upstream_status": 401,
        "upstream_message": "Authentication failed",
    }
