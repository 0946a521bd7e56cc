"""The client: parsing errors of every format from a real server, and the
error tracker. Retries are tested in test_client_retry.py."""

from __future__ import annotations

import asyncio
import json
import threading
import typing as t

import httpx
import pytest
import requests

from flask_apierrors import client
from flask_apierrors.client import ApiClientError
from flask_apierrors.client import AuthenticationError
from flask_apierrors.client import AuthorizationError
from flask_apierrors.client import ClientError
from flask_apierrors.client import ErrorTracker
from flask_apierrors.client import FieldViolation
from flask_apierrors.client import NotFoundError
from flask_apierrors.client import RateLimitError
from flask_apierrors.client import ServerError
from flask_apierrors.client import ServiceUnavailableError
from flask_apierrors.client import UpstreamError
from flask_apierrors.client import ValidationError

from .support.seeds import seed_examples
from .support.servers import GunicornServer

FORMATS: t.Final = ("error", "error_code", "detail", "problem")
CID = "req_client42"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_url() -> t.Iterator[str]:
    with GunicornServer("tests.apps.client_app:app", workers=2, health_path="/error/ok") as server:
        yield server.url


@pytest.fixture
def http() -> t.Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def get(lib: str, url: str, **kwargs: t.Any) -> t.Any:
    """A GET with requests or httpx, closed before returning (the body is read)."""
    headers = {"X-Request-ID": CID}
    if lib == "requests":
        with requests.request(
            kwargs.pop("method", "GET"), url, headers=headers, timeout=10, **kwargs
        ) as response:
            response.content  # noqa: B018 - read before the connection closes
            return response
    with httpx.Client(timeout=10) as c:
        return c.request(kwargs.pop("method", "GET"), url, headers=headers, **kwargs)


SCENARIOS: t.Final = [
    # path, status, class, code, message
    ("/jobs/job_7", 404, NotFoundError, "not_found", "Job not found"),
    ("/auth", 401, AuthenticationError, "unauthorized", "Authorization header required"),
    ("/forbidden", 403, AuthorizationError, "forbidden", "You can only view"),
    ("/legacy-auth", 500, AuthenticationError, "authentication_required", "API key not"),
    ("/limited", 429, RateLimitError, "rate_limit_exceeded", "Rate limit of 100"),
    ("/crash", 500, ServerError, "internal_server_error", "An unexpected error occurred"),
    ("/upstream", 502, UpstreamError, "bad_gateway", "External service error"),
    ("/maintenance", 503, ServiceUnavailableError, "service_unavailable", "Service temporarily"),
    ("/timeout", 504, UpstreamError, "gateway_timeout", "AI model response timeout"),
]


@pytest.mark.parametrize("lib", ["requests", "httpx"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "status", "cls", "code", "message"), SCENARIOS)
def test_errors_of_every_format_are_parsed(
    api_url: str,
    lib: str,
    fmt: str,
    path: str,
    status: int,
    cls: type[ApiClientError],
    code: str,
    message: str,
) -> None:
    response = get(lib, f"{api_url}/{fmt}{path}")
    error = client.error_from_response(response)
    assert type(error) is cls
    assert error.status == error.status_code == status
    assert error.code.lower() == error.error_code.lower() == code
    assert error.message.startswith(message)
    assert error.correlation_id == CID
    assert error.response is response
    with pytest.raises(cls) as raised:
        client.raise_for_error(response)
    assert raised.value.code == error.code
    assert CID in str(raised.value) and str(status) in str(raised.value)
    assert "hunter2" not in json.dumps(error.body)


@pytest.mark.parametrize("fmt", FORMATS)
def test_error_details_are_exposed(api_url: str, fmt: str) -> None:
    error = client.error_from_response(get("httpx", f"{api_url}/{fmt}/crash"))
    assert isinstance(error, ServerError)
    assert error.error_id is not None and error.error_id.startswith("err_")
    assert error.details["support_message"]
    assert not error.retryable
    job = client.error_from_response(get("requests", f"{api_url}/{fmt}/jobs/j1"))
    assert job is not None and job.details == {"job_id": "j1"}


@pytest.mark.parametrize("lib", ["requests", "httpx"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_validation_errors_are_objects(api_url: str, lib: str, fmt: str) -> None:
    payload: dict[str, t.Any] = {"messages": []}
    response = get(lib, f"{api_url}/{fmt}/chat", method="POST", json=payload)
    error = client.error_from_response(response)
    assert isinstance(error, ValidationError) and isinstance(error, ClientError)
    assert error.status == 400
    by_field = {v.field: v for v in error.validation_errors}
    assert by_field["model"] == FieldViolation("model", "Field required", None)
    assert by_field["messages"].message == "At least one message is required"
    assert by_field["messages"].invalid_value == []


@pytest.mark.parametrize("lib", ["requests", "httpx"])
def test_retry_after_comes_from_the_response(api_url: str, lib: str) -> None:
    error = client.error_from_response(get(lib, f"{api_url}/error/limited"))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.0 and error.retryable
    assert error.headers["x-ratelimit-limit"] == "100"
    maintenance = client.error_from_response(get(lib, f"{api_url}/detail/maintenance"))
    assert maintenance is not None and maintenance.retry_after == 30.0


@pytest.mark.parametrize("lib", ["requests", "httpx"])
def test_success_is_not_an_error(api_url: str, lib: str) -> None:
    response = get(lib, f"{api_url}/problem/ok")
    assert client.error_from_response(response) is None
    assert client.raise_for_error(response) is response


@pytest.mark.parametrize("lib", ["requests", "httpx"])
def test_a_non_json_error_keeps_its_status(api_url: str, lib: str) -> None:
    error = client.error_from_response(get(lib, f"{api_url}/proxy-error"))
    assert isinstance(error, UpstreamError)
    assert (error.code, error.message) == ("bad_gateway", "HTTP 502 Bad Gateway")
    assert error.body == "<html><body>502 Bad Gateway</body></html>"
    # No correlation id in that body: the header's is used.
    assert error.correlation_id == CID


def test_async_streamed_response(api_url: str) -> None:
    async def main() -> ApiClientError | None:
        async with httpx.AsyncClient(timeout=10) as c:
            async with c.stream("GET", f"{api_url}/error_code/jobs/j9") as response:
                return await client.aerror_from_response(response)

    error = asyncio.run(main())
    assert isinstance(error, NotFoundError)
    assert error.code == "NOT_FOUND" and error.details == {"job_id": "j9"}


def test_async_raise_for_error(api_url: str) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=10) as c:
            ok = await c.get(f"{api_url}/error/ok")
            assert await client.araise_for_error(ok) is ok
            with pytest.raises(AuthorizationError):
                await client.araise_for_error(await c.get(f"{api_url}/error/forbidden"))

    asyncio.run(main())


def test_streamed_sync_response_is_read(api_url: str, http: httpx.Client) -> None:
    with http.stream("GET", f"{api_url}/detail/jobs/j3") as response:
        error = client.error_from_response(response)
    assert isinstance(error, NotFoundError) and error.details == {"job_id": "j3"}


def test_custom_code_classes_win(api_url: str) -> None:
    class JobMissing(NotFoundError):
        pass

    response = get("httpx", f"{api_url}/error/jobs/j1")
    assert type(client.error_from_response(response, classes={"NOT_FOUND": JobMissing})) is (
        JobMissing
    )


def seed_errors() -> list[tuple[str, int, dict[str, t.Any]]]:
    return [
        (e["section"], e["status"], e["body"])
        for e in seed_examples()
        if e["json_valid"] and e["status"] is not None and e["status"] >= 400
    ]


@pytest.mark.parametrize(("section", "status", "body"), seed_errors())
def test_the_documented_bodies_are_understood(
    section: str, status: int, body: dict[str, t.Any]
) -> None:
    response = httpx.Response(status, json=body)
    error = client.error_from_response(response)
    assert error is not None
    inner = body["detail"] if "detail" in body else body
    code = inner.get("code") or inner.get("error_code") or inner["error"]
    assert error.code == code
    assert error.message == inner["message"]
    assert error.details == inner.get("details", {})
    assert len(error.validation_errors) == len(
        inner.get("details", {}).get("validation_errors", [])
    )
    if status == 429:
        assert isinstance(error, RateLimitError)
        assert error.retry_after == inner["details"]["retry_after"]


@pytest.mark.parametrize(
    ("body", "code", "message", "fields"),
    [
        ({"detail": "Not authenticated"}, "unauthorized", "Not authenticated", []),
        (
            {"detail": [{"loc": ["body", "messages", 0, "content"], "msg": "Too short"}]},
            "validation_error",
            "Request validation failed",
            ["messages[0].content"],
        ),
        (
            {"error": {"code": "quota", "message": "Over quota", "details": {"used": 3}}},
            "quota",
            "Over quota",
            [],
        ),
        (
            {"type": "https://errors.example/job_gone", "title": "Gone", "status": 401},
            "job_gone",
            "Gone",
            [],
        ),
        ({"message": "plain"}, "unauthorized", "plain", []),
        ([1, 2], "unauthorized", "HTTP 401 Unauthorized", []),
    ],
)
def test_other_common_shapes(body: t.Any, code: str, message: str, fields: list[str]) -> None:
    error = client.parse_error(httpx.Response(401, json=body))
    assert (error.code, error.message) == (code, message)
    assert [v.field for v in error.validation_errors] == fields


def test_empty_and_unknown_status() -> None:
    error = client.parse_error(httpx.Response(599))
    assert (error.code, error.message, error.body) == ("unknown_error", "HTTP 599 Error", None)
    assert type(error) is ServerError
    teapot = client.parse_error(httpx.Response(418, text="short and stout"))
    assert type(teapot) is ClientError and teapot.code == "im_a_teapot"


@pytest.mark.parametrize("lib", ["requests", "httpx"])
def test_a_body_nested_past_the_json_parser_is_text(lib: str) -> None:
    # A hostile or broken server: the parser gives up on the depth, the
    # client keeps the status and reads the body as text.
    content = b"[" * 100_000 + b"]" * 100_000
    response: t.Any
    if lib == "httpx":
        response = httpx.Response(502, content=content)
    else:
        response = requests.Response()
        response.status_code, response._content = 502, content
    error = client.parse_error(response)
    assert type(error) is UpstreamError and error.status == 502
    assert isinstance(error.body, str) and error.body.startswith("[[[")


def test_werkzeug_test_responses_are_understood() -> None:
    from tests.apps.client_app import create_app

    response = create_app().test_client().get("/error_code/jobs/j5")
    error = client.error_from_response(response)
    assert isinstance(error, NotFoundError) and error.code == "NOT_FOUND"


# -- tracking ------------------------------------------------------------------------


def make_error(status: int, code: str) -> ApiClientError:
    return client.parse_error(httpx.Response(status, json={"error": code, "message": code}))


def test_tracker_counts_under_threads() -> None:
    tracker = ErrorTracker(max_history=100)
    errors = [make_error(429, "rate_limit_exceeded"), make_error(404, "not_found")]
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(500):
            tracker.track(errors[(n + i) % 2])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = tracker.summary()
    assert summary["total_errors"] == tracker.total == 4000
    assert summary["error_types"] == {"429_rate_limit_exceeded": 2000, "404_not_found": 2000}
    assert summary["by_status"] == {429: 2000, 404: 2000}
    assert summary["by_code"] == {"rate_limit_exceeded": 2000, "not_found": 2000}
    assert len(tracker.history()) == 100
    assert len(summary["recent_errors"]) == 10
    assert summary["most_common"][1] == 2000


def test_tracker_summary_like_the_documented_one() -> None:
    tracker = ErrorTracker(max_history=3)
    assert tracker.get_error_summary()["most_common"] is None
    for status, code in [(500, "a"), (502, "b"), (502, "b"), (503, "c")]:
        tracker.track_error(make_error(status, code))
    summary = tracker.get_error_summary(recent=2)
    assert summary["most_common"] == ("502_b", 2)
    assert [e["error_code"] for e in summary["recent_errors"]] == ["b", "c"]
    assert [e["error_code"] for e in tracker.history()] == ["b", "b", "c"]
    record = summary["recent_errors"][-1]
    assert set(record) == {"timestamp", "status_code", "error_code", "message", "correlation_id"}
    assert record["timestamp"].tzinfo is not None
    assert tracker.summary(recent=0)["recent_errors"] == []
    tracker.reset()
    assert tracker.total == 0 and tracker.history() == [] and tracker.counts() == {}
    with pytest.raises(ValueError):
        ErrorTracker(max_history=0)


def test_tracker_hooks_track_live_responses(api_url: str) -> None:
    tracker = ErrorTracker()
    with requests.Session() as s:
        s.hooks["response"].append(tracker.requests_hook)
        for path in ("/error/ok", "/error/jobs/1", "/detail/limited"):
            s.get(api_url + path, timeout=10).close()
    with httpx.Client(timeout=10, event_hooks={"response": [tracker.httpx_hook]}) as c:
        c.get(api_url + "/problem/forbidden")
        c.get(api_url + "/problem/ok")

    async def main() -> None:
        hooks = {"response": [tracker.ahttpx_hook]}
        async with httpx.AsyncClient(timeout=10, event_hooks=hooks) as c:
            await c.get(api_url + "/error_code/crash")

    asyncio.run(main())
    assert tracker.counts() == {
        "404_not_found": 1,
        "429_RATE_LIMIT_EXCEEDED": 1,
        "403_forbidden": 1,
        "500_INTERNAL_SERVER_ERROR": 1,
    }
