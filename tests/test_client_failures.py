"""Tests of flask_apierrors.client.failures: which exceptions of requests,
httpx and the standard library are transport failures, of which kind, and
whether the request had left."""

from __future__ import annotations

import socket
import traceback
import typing as t
import urllib.error

import httpx
import pytest
import requests

from flask_apierrors import upstream
from flask_apierrors.client import is_connection_error
from flask_apierrors.client.failures import Failure
from flask_apierrors.client.failures import classify
from flask_apierrors.client.failures import error_response
from flask_apierrors.client.failures import failure_of
from flask_apierrors.client.failures import failure_types
from flask_apierrors.client.failures import status_kind
from tests.fuzz.upstream import WireUpstream
from tests.support.upstream import UpstreamServer
from tests.support.upstream import refused_url
from tests.test_upstream_reads import STALLED

REFUSED = ("connection", "Connection refused")
RESET = ("connection", "Connection reset")
CONNECT_TIMEOUT = ("connection", "Connection timeout")
TIMEOUT = ("timeout", None)
INVALID = ("connection", "Invalid response")


@pytest.mark.parametrize(
    ("exc", "expected", "sent"),
    [
        (ConnectionRefusedError(), REFUSED, False),
        (ConnectionResetError(), RESET, True),
        (BrokenPipeError(), RESET, True),
        (TimeoutError(), TIMEOUT, True),
        (socket.gaierror(), ("connection", "Name resolution failed"), False),
        (requests.exceptions.InvalidURL("x"), None, None),
        (httpx.UnsupportedProtocol("x"), None, None),
        (httpx.ConnectError("refused"), ("connection", "Connection failed"), False),
        (httpx.ReadError("reset"), INVALID, True),
        (httpx.RemoteProtocolError("x"), INVALID, True),
        (requests.exceptions.TooManyRedirects("x"), ("connection", "Too many redirects"), True),
        (ValueError("x"), None, None),
        (urllib.error.URLError(ConnectionRefusedError()), REFUSED, False),
        (urllib.error.URLError("no host"), ("connection", "Connection failed"), True),
        # urllib wraps what fails while it connects: a connect timeout.
        (urllib.error.URLError(TimeoutError("timed out")), CONNECT_TIMEOUT, False),
        (httpx.ConnectTimeout("x"), CONNECT_TIMEOUT, False),
        (httpx.PoolTimeout("x"), TIMEOUT, True),
        (httpx.ReadTimeout("x"), TIMEOUT, True),
        (requests.exceptions.ConnectTimeout("x"), CONNECT_TIMEOUT, False),
        (requests.exceptions.ReadTimeout("x"), TIMEOUT, True),
    ],
)
def test_classify(
    exc: BaseException, expected: tuple[str, str | None] | None, sent: bool | None
) -> None:
    assert classify(exc) == upstream.classify(exc) == expected
    failure = failure_of(exc)
    assert (None if failure is None else failure.sent) == sent
    connection = expected is not None and expected[0] == "connection"
    assert is_connection_error(exc) is connection
    assert is_connection_error(exc, sent=False) is (connection and sent is False)


def test_a_refused_requests_connection_was_not_sent() -> None:
    with pytest.raises(requests.ConnectionError) as raised:
        requests.get(refused_url(), timeout=2)
    assert failure_of(raised.value) == Failure(
        "connection", sent=False, phrase="Connection refused"
    )


@pytest.mark.parametrize(
    ("status", "unavailable", "kind"),
    [
        (429, (429, 503), "rate_limited"),
        (503, (429, 503), "unavailable"),
        (502, (429, 503), "status"),
    ],
)
def test_status_kind(status: int, unavailable: tuple[int, ...], kind: str) -> None:
    assert status_kind(status, unavailable) == kind
    assert status_kind(503, (429,)) == "status"


@pytest.mark.parametrize(
    ("failure", "processed"),
    [
        (Failure("rate_limited", status=429), False),
        (Failure("unavailable", status=503), False),
        (Failure("status", status=502), True),
        (Failure("connection", sent=False), False),
        (Failure("connection"), True),
    ],
)
def test_processed(failure: Failure, processed: bool) -> None:
    assert failure.processed is processed


def test_error_response() -> None:
    response = httpx.Response(500, request=httpx.Request("GET", "http://127.0.0.1/"))
    with pytest.raises(httpx.HTTPStatusError) as raised:
        response.raise_for_status()
    assert error_response(raised.value) is response
    assert error_response(ValueError()) is None


@pytest.fixture
def wire() -> t.Iterator[WireUpstream]:
    server = WireUpstream()
    try:
        yield server
    finally:
        server.close()


NOT_UTF8_REDIRECT: t.Final = (
    b"HTTP/1.1 302 Found\r\nLocation: /\xf7\xf7.\r\nContent-Length: 0\r\n\r\n"
)


def test_failure_types() -> None:
    # The classes whose instances are upstream failures, and only those.
    types = failure_types()
    for exc in (
        urllib.error.URLError("x"),
        urllib.error.HTTPError("http://h/", 500, "x", {}, None),  # type: ignore[arg-type]
        requests.exceptions.ConnectTimeout("x"),
        requests.exceptions.ReadTimeout("x"),
        requests.exceptions.HTTPError("x"),
        httpx.ReadTimeout("x"),
        httpx.HTTPStatusError("x", request=httpx.Request("GET", "http://h/"), response=None),  # type: ignore[arg-type]
    ):
        assert isinstance(exc, types), exc
    for other in (
        requests.exceptions.InvalidURL("x"),
        httpx.UnsupportedProtocol("x"),
        TimeoutError(),
        ConnectionResetError(),
    ):
        assert not isinstance(other, types), other


def test_a_redirect_the_client_cannot_decode_is_an_invalid_response(wire: WireUpstream) -> None:
    wire.answer = NOT_UTF8_REDIRECT
    with requests.Session() as session, pytest.raises(UnicodeDecodeError) as raised:
        session.get(f"http://127.0.0.1:{wire.port}/", timeout=2)  # requests' own failure
    assert classify(raised.value) == INVALID
    assert failure_of(raised.value) == Failure("connection", phrase="Invalid response")
    # requests leaves the redirect's response open when it fails so.
    for frame, _ in traceback.walk_tb(raised.tb):
        response = frame.f_locals.get("resp")
        if isinstance(response, requests.Response):
            response.close()


def test_decoding_errors_elsewhere_are_not_the_servers() -> None:
    # Raised by the caller's own code (or built by hand): a bug, not a transport failure.
    with pytest.raises(UnicodeDecodeError) as raised:
        b"\xf7".decode("utf-8")
    assert classify(raised.value) is None
    assert classify(UnicodeDecodeError("utf-8", b"\xf7", 0, 1, "invalid")) is None
    # Encoding the caller's text is the caller's mistake, even inside http.client.
    with pytest.raises(UnicodeEncodeError) as encoding:
        requests.get(refused_url(), headers={"X-Name": "caf\u00e9\u2603"}, timeout=2)
    assert classify(encoding.value) is None


def test_reading_the_body_failures_of_requests() -> None:
    # A body that is no JSON: the server's bytes requests cannot decode.
    with UpstreamServer() as upstream:
        with pytest.raises(requests.exceptions.JSONDecodeError) as no_json:
            requests.get(upstream.url + "/status/204", timeout=2).json()
    assert classify(no_json.value) == INVALID
    # Headers, then the body stalls: requests raises a ConnectionError that
    # is a read timeout (urllib3's ReadTimeoutError), as httpx's ReadTimeout.
    stalling = WireUpstream(STALLED, hold=True)
    try:
        with pytest.raises(requests.exceptions.ConnectionError) as stalled:
            requests.get(stalling.url, timeout=0.3)
    finally:
        stalling.close()
    assert classify(stalled.value) == TIMEOUT
    assert not is_connection_error(stalled.value)
