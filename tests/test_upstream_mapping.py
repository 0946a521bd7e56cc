"""Tests of flask_apierrors.upstream.mapping: what a failure becomes (the
documented shapes, through messages, codes, details and renames) and the log
line that tells the whole story."""

from __future__ import annotations

import logging
import typing as t

import httpx
import pytest
import requests

from flask_apierrors.upstream import UpstreamConnectionError
from flask_apierrors.upstream import upstream_call
from flask_apierrors.upstream.mapping import safe_url
from flask_apierrors.upstream.mapping import scrub
from tests.conftest import MakeApp
from tests.support.upstream import UpstreamServer
from tests.support.upstream import refused_url
from tests.test_upstream import assert_same_shape
from tests.test_upstream import example
from tests.test_upstream import get
from tests.test_upstream import proxy_app
from tests.test_upstream import unreachable
from tests.test_upstream import without_correlation_id


@pytest.fixture(scope="module")
def upstream() -> t.Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


@pytest.fixture(scope="module")
def unreachable_url() -> t.Iterator[str]:
    with unreachable() as url:
        yield url


# -- the documented examples -------------------------------------------------------


def test_documented_ai_model_error(make_app: MakeApp, unreachable_url: str) -> None:
    documented = example("003", "502 Bad Gateway", "AI Model Error")
    call = upstream_call(
        "ai_model",
        messages={"connection": "AI model service unavailable"},
        details={"model": "Melanie-3"},
        rename={"service": None},
    )
    response = get(proxy_app(make_app, call), "requests", unreachable_url)
    body = without_correlation_id(response.get_json())
    assert response.status_code == documented["status"]
    assert_same_shape(body, documented["body"])
    assert body["details"] == documented["body"]["details"]  # even the values


def test_documented_external_api_error(make_app: MakeApp, upstream: UpstreamServer) -> None:
    documented = example("003", "502 Bad Gateway", "External API Error")
    # Here an upstream 503 is a 502 for the client, as documented.
    call = upstream_call("perplexity_search", unavailable_statuses=(429,))
    response = get(proxy_app(make_app, call), "httpx", upstream.url + "/status/503")
    body = without_correlation_id(response.get_json())
    assert response.status_code == documented["status"]
    body["timestamp"] = documented["body"]["timestamp"]
    assert body == documented["body"]


@pytest.mark.parametrize(
    ("name", "message", "details"),
    [
        (
            "Model Timeout",
            "AI model response timeout",
            {"model": "Melanie-3", "suggestion": "Try reducing request complexity"},
        ),
        (
            "Research Timeout",
            "Research operation timeout",
            {"operation": "deep_research", "partial_results_available": True},
        ),
    ],
)
def test_documented_gateway_timeouts(
    make_app: MakeApp,
    upstream: UpstreamServer,
    name: str,
    message: str,
    details: dict[str, t.Any],
) -> None:
    documented = example("003", "504 Gateway Timeout", name)
    call = upstream_call(
        "model", messages={"timeout": message}, details=details, rename={"service": None}
    )
    response = get(proxy_app(make_app, call), "httpx_async", upstream.url + "/hang")
    assert response.status_code == documented["status"]
    assert_same_shape(without_correlation_id(response.get_json()), documented["body"])


@pytest.mark.parametrize(
    ("section", "path"),
    [("FAL_API_ERROR", "/status/500"), ("FAL_RATE_LIMIT", "/status/429?retry_after=60")],
)
def test_documented_fal_errors(
    make_app: MakeApp, upstream: UpstreamServer, section: str, path: str
) -> None:
    documented = example("000", section)
    call = upstream_call(
        "fal.ai",
        codes={
            "status": "FAL_API_ERROR",
            "connection": "FAL_API_ERROR",
            "rate_limited": "FAL_RATE_LIMIT",
            "unavailable": "FAL_RATE_LIMIT",
        },
        rename={
            "upstream_message": "error",
            "upstream_error": "error",
            "upstream_status": None,
            "retry_suggested": None,
        },
    )
    response = get(proxy_app(make_app, call, fmt="error_code"), "requests", upstream.url + path)
    body = without_correlation_id(response.get_json())
    assert response.status_code == documented["status"]
    assert_same_shape(body, documented["body"])
    if section == "FAL_RATE_LIMIT":
        assert body == documented["body"]
        assert response.headers["Retry-After"] == "60"


# -- logging -------------------------------------------------------------------------


def test_full_error_logged_with_correlation_id_without_credentials(
    make_app: MakeApp, upstream: UpstreamServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = upstream.url.replace("http://", "http://user:hunter2@") + "/status/500"
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.upstream"):
        response = get(proxy_app(make_app, upstream_call("svc")), "requests", url + "?key=abc")
    cid = response.headers["X-Request-ID"]
    lines = [r.getMessage() for r in caplog.records if r.name == "flask_apierrors.upstream"]
    assert len(lines) == 1
    line = lines[0]
    assert cid in line and "status=500" in line
    assert "upstream answered 500" in line  # the upstream's own body, for the logs only
    assert "hunter2" not in line and "key=abc" not in line
    assert "hunter2" not in response.get_data(as_text=True)


def _url_with_secrets(upstream: UpstreamServer, path: str) -> str:
    """``path`` of the upstream (or a refused port), with a password and an
    API key that no log line may show."""
    base = refused_url("/v1/charge") if path == "refused" else upstream.url + path
    return base.replace("http://", "http://svcuser:S3CRETPASS@") + "?api_key=SK_LIVE_SECRET"


def _get(client: str, url: str) -> None:
    if client == "requests":
        requests.get(url, timeout=2).raise_for_status()
    else:
        httpx.get(url, timeout=2).raise_for_status()


@pytest.mark.parametrize("client", ["requests", "httpx"])
@pytest.mark.parametrize("path", ["/status/500", "refused"])
def test_the_logged_tracebacks_show_no_credentials_nor_query(
    make_app: MakeApp,
    upstream: UpstreamServer,
    caplog: pytest.LogCaptureFixture,
    client: str,
    path: str,
) -> None:
    # The 502 is logged with its traceback, which prints the HTTP client's
    # exception (its cause) and what that wraps: their text is scrubbed.
    url = _url_with_secrets(upstream, path)
    app, _ = make_app()
    billing = upstream_call("billing", timeout=2)

    @app.get("/")
    def view() -> t.Any:
        with billing:
            _get(client, url)
        return {}

    # WARNING: the HTTP libraries' own request lines (urllib3's DEBUG, httpx's
    # INFO) are theirs to configure.
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/")
    assert response.status_code == 502
    formatter = logging.Formatter()
    tracebacks = [formatter.formatException(r.exc_info) for r in caplog.records if r.exc_info]
    assert tracebacks and "The above exception was the direct cause" in tracebacks[0]
    text = "\n".join([caplog.text, *tracebacks, *(formatter.format(r) for r in caplog.records)])
    assert "S3CRETPASS" not in text and "SK_LIVE_SECRET" not in text
    assert "svcuser" not in text


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The ERROR records of ``caplog``, each as a handler writes it (with
    its traceback)."""
    formatter = logging.Formatter("%(name)s %(message)s")
    return [formatter.format(r) for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("client", ["requests", "httpx"])
@pytest.mark.parametrize("path", ["/status/500", "refused"])
def test_an_unwrapped_failure_is_logged_once_scrubbed_with_the_responses_ids(
    make_app: MakeApp,
    upstream: UpstreamServer,
    caplog: pytest.LogCaptureFixture,
    client: str,
    path: str,
) -> None:
    # No upstream_call: Flask must not log the client's exception as an
    # unhandled one first, its URL in clear, under an error id the 502 never
    # shows. The one line is the extension's, with the traceback scrubbed.
    url = _url_with_secrets(upstream, path)
    app, _ = make_app(config={"TESTING": False})

    @app.get("/")
    def view() -> t.Any:
        _get(client, url)
        return {}

    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/")
    assert response.status_code == 502
    lines = error_lines(caplog)
    assert len(lines) == 1, lines
    assert f"error_id=- correlation_id={response.headers['X-Request-ID']}]" in lines[0]
    assert "Traceback" in lines[0]
    assert "S3CRETPASS" not in lines[0] and "SK_LIVE_SECRET" not in lines[0]


def test_an_unhandled_http_client_exception_is_logged_scrubbed(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    # Not an upstream failure (a 500, which Flask logs), its text scrubbed all the same.
    app, _ = make_app(config={"TESTING": False})

    @app.get("/")
    def view() -> t.Any:
        url = "http://svcuser:S3CRETPASS@search.internal/v1?api_key=SK_LIVE_SECRET"
        raise requests.exceptions.RequestException(f"Cannot call {url}")

    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/")
    body = response.get_json()
    assert (response.status_code, body["error"]) == (500, "internal_server_error")
    lines = error_lines(caplog)
    assert len(lines) == 1, lines
    assert f"error_id={body['details']['error_id']} correlation_id=" in lines[0]
    assert "Cannot call http://search.internal/v1?[query]" in lines[0]


def test_the_apps_own_handler_of_an_http_client_exception_keeps_answering(
    make_app: MakeApp,
) -> None:
    app, _ = make_app()

    @app.errorhandler(requests.exceptions.RequestException)
    def own(e: requests.exceptions.RequestException) -> tuple[str, int]:
        return "the app's own", 599

    @app.get("/")
    def view() -> t.Any:
        return requests.get(refused_url(), timeout=2).json()

    response = app.test_client().get("/")
    assert (response.status_code, response.get_data(as_text=True)) == (599, "the app's own")


def test_hostile_upstream_text_is_escaped_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    call = upstream_call("svc")
    with caplog.at_level(logging.ERROR, logger="flask_apierrors.upstream"):
        with pytest.raises(UpstreamConnectionError):
            with call:
                raise ConnectionResetError("reset\n[CRITICAL] forged line\x1b[31m")
    line = caplog.records[-1].getMessage()
    assert "\n" not in line and "\x1b" not in line
    assert "forged line" in line


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


@pytest.mark.parametrize("option", ["codes", "messages"])
def test_upstream_call_rejects_unknown_kinds(option: str) -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        upstream_call("svc", **t.cast(dict[str, t.Any], {option: {"oops": "X"}}))
