"""Tests of flask_apierrors.upstream when the failure comes while the
upstream's answer is read: a body that stalls after the headers, a body
that is no JSON. A real upstream on 127.0.0.1, through requests and httpx."""

from __future__ import annotations

import typing as t

import httpx
import pytest
import requests

from flask_apierrors.upstream import upstream_call
from tests.conftest import MakeApp
from tests.fuzz.upstream import WireUpstream
from tests.support.upstream import UpstreamServer

TIMEOUT = 0.3


#: The status line, headers and first byte of a longer body, then nothing.
STALLED: t.Final = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
)


@pytest.fixture
def stalling() -> t.Iterator[WireUpstream]:
    server = WireUpstream(STALLED, hold=True)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def upstream() -> t.Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


def read_json(client: str, url: str) -> t.Any:
    if client == "requests":
        return requests.get(url, timeout=TIMEOUT).json()
    return httpx.get(url, timeout=TIMEOUT).json()


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_a_read_timeout_mid_body_is_a_gateway_timeout(
    make_app: MakeApp, stalling: WireUpstream, client: str
) -> None:
    # requests raises ConnectionError (urllib3's ReadTimeoutError) here, httpx
    # ReadTimeout: a timeout once connected, both.
    app, _ = make_app()
    svc = upstream_call("search", timeout=TIMEOUT)

    @app.get("/")
    def view() -> t.Any:
        with svc:
            return read_json(client, stalling.url)

    response = app.test_client().get("/")
    assert response.status_code == 504
    body = response.get_json()
    assert (body["error"], body["details"]) == (
        "gateway_timeout",
        {"service": "search", "timeout_duration": TIMEOUT},
    )


@pytest.mark.parametrize(("client", "status"), [("requests", 502), ("httpx", 500)])
def test_a_body_that_is_no_json(
    make_app: MakeApp,
    upstream: UpstreamServer,
    client: str,
    status: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # requests' JSONDecodeError is the HTTP client's: the upstream's bytes.
    # httpx's .json() raises json's own, which app code raises too: a 500.
    app, _ = make_app(config={"TESTING": False})
    svc = upstream_call("search", timeout=TIMEOUT)

    @app.get("/")
    def view() -> t.Any:
        with svc:
            return read_json(client, upstream.url + "/status/204")  # no body at all

    monkeypatch.setattr(app.logger, "disabled", True)
    response = app.test_client().get("/")
    assert response.status_code == status
    if status == 502:
        assert response.get_json()["details"] == {
            "service": "search",
            "upstream_error": "Invalid response",
            "retry_suggested": True,
        }
    else:
        assert response.get_json()["error"] == "internal_server_error"
