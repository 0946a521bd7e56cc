"""The documented APIs' own client code, run unchanged against the example
app under real gunicorn: the image-to-model API's retry loop, and the chat
API's exception classes, ``handle_api_response`` and usage example."""

from __future__ import annotations

import typing as t

import pytest

from tests.support import example_server
from tests.support.example_server import ADMIN
from tests.support.example_server import JOB_KEYS
from tests.support.example_server import Server
from tests.support.example_server import bearer
from tests.support.example_server import chat
from tests.support.example_server import exhaust
from tests.support.example_server import generated
from tests.support.example_server import image_key

pytestmark = pytest.mark.slow

# The fixtures this module uses, by name (see tests/support/example_server.py).
standin = example_server.standin
main = example_server.main


#: The first document's client (verbatim).
RETRY_LOOP = """
import requests
from time import sleep

def api_request_with_retry(url, headers, max_retries=3):
    for attempt in range(max_retries):
        try:
            response = requests.get(url, headers=headers)

            if response.status_code == 200:
                return response.json()

            error = response.json()
            error_code = error['detail']['code']

            # Handle specific errors
            if error_code == 'RATE_LIMIT_EXCEEDED':
                retry_after = error['detail']['details'].get('retry_after', 60)
                sleep(retry_after)
                continue

            elif error_code == 'FAL_RATE_LIMIT':
                # External service rate limit - wait longer
                sleep(120)
                continue

            elif error_code in ['AUTHENTICATION_REQUIRED', 'INVALID_API_KEY']:
                # Authentication errors - don't retry
                raise Exception(f"Authentication error: {error['detail']['message']}")

            elif response.status_code >= 500:
                # Server errors - retry with backoff
                sleep(2 ** attempt)
                continue

            else:
                # Client errors - don't retry
                raise Exception(f"Client error: {error['detail']['message']}")

        except requests.RequestException as e:
            if attempt == max_retries - 1:
                raise
            sleep(2 ** attempt)

    raise Exception("Max retries exceeded")
"""

#: The second document's exception classes, response handler and usage
#: example, verbatim (only the spaces of blank lines dropped; one long line is
#: split between two string literals, not in the code).
HANDLER = (
    '''
import requests
from typing import Optional, Dict, Any

class MelanieAPIError(Exception):
    """Base exception for Melanie API errors."""
    def __init__(self, message: str, status_code: int, error_code: str, '''
    '''details: Optional[Dict] = None):
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.details = details or {}
        super().__init__(self.message)

class ValidationError(MelanieAPIError):
    """Validation error (400)."""
    pass

class AuthenticationError(MelanieAPIError):
    """Authentication error (401)."""
    pass

class AuthorizationError(MelanieAPIError):
    """Authorization error (403)."""
    pass

class NotFoundError(MelanieAPIError):
    """Not found error (404)."""
    pass

class RateLimitError(MelanieAPIError):
    """Rate limit error (429)."""
    def __init__(self, message: str, retry_after: int, **kwargs):
        super().__init__(message, 429, "rate_limit_exceeded", **kwargs)
        self.retry_after = retry_after

class ServerError(MelanieAPIError):
    """Server error (5xx)."""
    pass

def handle_api_response(response: requests.Response) -> Dict[Any, Any]:
    """Handle API response and raise appropriate exceptions."""

    if response.status_code == 200:
        return response.json()

    try:
        error_data = response.json()
        error_code = error_data.get('error', 'unknown_error')
        message = error_data.get('message', 'Unknown error occurred')
        details = error_data.get('details', {})
    except ValueError:
        # Non-JSON error response
        error_code = 'unknown_error'
        message = f"HTTP {response.status_code}: {response.text}"
        details = {}

    # Map status codes to exception types
    if response.status_code == 400:
        raise ValidationError(message, response.status_code, error_code, details)
    elif response.status_code == 401:
        raise AuthenticationError(message, response.status_code, error_code, details)
    elif response.status_code == 403:
        raise AuthorizationError(message, response.status_code, error_code, details)
    elif response.status_code == 404:
        raise NotFoundError(message, response.status_code, error_code, details)
    elif response.status_code == 429:
        retry_after = int(response.headers.get('Retry-After', 60))
        raise RateLimitError(message, retry_after, details=details)
    elif response.status_code >= 500:
        raise ServerError(message, response.status_code, error_code, details)
    else:
        raise MelanieAPIError(message, response.status_code, error_code, details)

# Usage example
def make_api_request(url: str, headers: Dict, data: Dict) -> Dict:
    """Make API request with proper error handling."""
    try:
        response = requests.post(url, headers=headers, json=data)
        return handle_api_response(response)

    except ValidationError as e:
        print(f"Validation error: {e.message}")
        if 'validation_errors' in e.details:
            for error in e.details['validation_errors']:
                print(f"  - {error['field']}: {error['message']}")
        raise

    except AuthenticationError as e:
        print(f"Authentication error: {e.message}")
        # Handle re-authentication
        raise

    except RateLimitError as e:
        print(f"Rate limited: {e.message}")
        print(f"Retry after: {e.retry_after} seconds")
        # Implement retry logic
        raise

    except ServerError as e:
        print(f"Server error: {e.message}")
        if 'error_id' in e.details:
            print(f"Error ID: {e.details['error_id']}")
        # Implement retry with exponential backoff
        raise
'''
)


def _load(source: str) -> dict[str, t.Any]:
    namespace: dict[str, t.Any] = {"__name__": "documented_client"}
    exec(compile(source, "<documented client>", "exec"), namespace)
    return namespace


@pytest.fixture
def retry_loop() -> tuple[t.Callable[..., t.Any], list[float]]:
    """The first document's ``api_request_with_retry``; its ``sleep`` records
    the waits instead of waiting."""
    namespace = _load(RETRY_LOOP)
    slept: list[float] = []
    namespace["sleep"] = slept.append
    return namespace["api_request_with_retry"], slept


def test_first_client_reads_a_job(
    main: Server, retry_loop: tuple[t.Callable[..., t.Any], list[float]]
) -> None:
    request_with_retry, slept = retry_loop
    job_id = generated(main, "ok.png")
    job = request_with_retry(f"{main.url}/api/v1/jobs/{job_id}", image_key(JOB_KEYS[job_id]))
    assert (job["job_id"], job["status"], slept) == (job_id, "completed", [])


@pytest.mark.parametrize(
    ("filename", "waits"),
    [("busy.png", [120, 120, 120]), ("fail.png", [1, 2, 4])],
)
def test_first_client_retries_upstream_failures(
    main: Server,
    retry_loop: tuple[t.Callable[..., t.Any], list[float]],
    filename: str,
    waits: list[int],
) -> None:
    request_with_retry, slept = retry_loop
    job_id = generated(main, filename)
    url = f"{main.url}/api/v1/jobs/{job_id}/files/file_001/model"
    with pytest.raises(Exception, match="Max retries exceeded"):
        request_with_retry(url, image_key(JOB_KEYS[job_id]))
    assert slept == waits


def test_first_client_waits_out_the_rate_limit(
    main: Server, retry_loop: tuple[t.Callable[..., t.Any], list[float]]
) -> None:
    request_with_retry, slept = retry_loop
    key = main.new_user()
    last = exhaust(main, "/api/v1/jobs/x", image_key(key), 60)
    with pytest.raises(Exception, match="Max retries exceeded"):
        request_with_retry(f"{main.url}/api/v1/jobs/x", image_key(key))
    assert len(slept) == 3
    assert all(1 <= wait <= last.json()["detail"]["details"]["retry_after"] for wait in slept)


def test_first_client_stops_on_client_errors(
    main: Server, retry_loop: tuple[t.Callable[..., t.Any], list[float]]
) -> None:
    request_with_retry, slept = retry_loop
    with pytest.raises(Exception, match="Client error: Job not found"):
        request_with_retry(f"{main.url}/api/v1/jobs/batch_x", image_key(ADMIN))
    # INVALID_API_KEY is an error_code body, which this client cannot read:
    # the document's own mix of formats.
    with pytest.raises(KeyError, match="detail"):
        request_with_retry(f"{main.url}/api/v1/jobs/x", image_key("mel_" + "Z" * 32))
    assert slept == []


@pytest.fixture
def handler() -> dict[str, t.Any]:
    """The second document's classes and ``handle_api_response``."""
    return _load(HANDLER)


@pytest.mark.parametrize(
    ("path", "kwargs", "exception", "code"),
    [
        ("/chat/completions", {"json": {"messages": []}}, "ValidationError", "validation_error"),
        ("/api-keys/mel_other123", {"headers": {}}, "AuthenticationError", "unauthorized"),
        ("/api-keys/mel_other123", {"user": True}, "AuthorizationError", "forbidden"),
        ("/files/file-nonexistent", {}, "NotFoundError", "not_found"),
        (
            "/chat/completions",
            {"json": {**chat(), "model": "Melanie-3-code", "tools": [{}], "web_search": False}},
            "MelanieAPIError",
            "unprocessable_entity",
        ),
        ("/files/x", {"headers": {**bearer(ADMIN), "X-Fault": "crash"}}, "ServerError", None),
    ],
)
def test_second_client_raises_its_exceptions(
    main: Server,
    handler: dict[str, t.Any],
    path: str,
    kwargs: dict[str, t.Any],
    exception: str,
    code: str | None,
) -> None:
    headers = bearer(main.user) if kwargs.pop("user", False) else bearer(ADMIN)
    headers = kwargs.pop("headers", headers)
    method = "POST" if "json" in kwargs else "GET"
    response = main.request(method, path, headers=headers, **kwargs)
    with pytest.raises(handler[exception]) as raised:
        handler["handle_api_response"](response)
    error = raised.value
    assert type(error) is handler[exception]
    assert error.status_code == response.status_code
    assert error.message == response.json()["message"]
    assert error.error_code == (code or "internal_server_error")
    if exception == "ServerError":
        assert error.details["error_id"].startswith("err_")


def test_second_client_reads_rate_limits(main: Server, handler: dict[str, t.Any]) -> None:
    key = main.new_user()
    response = exhaust(main, "/files/x", bearer(key), 100)
    with pytest.raises(handler["RateLimitError"]) as raised:
        handler["handle_api_response"](response)
    assert raised.value.retry_after == response.json()["details"]["retry_after"]
    assert raised.value.message == "Rate limit of 100 requests per minute exceeded"


def test_second_client_usage_example(
    main: Server, handler: dict[str, t.Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url = main.url + "/chat/completions"
    assert handler["make_api_request"](url, bearer(ADMIN), chat())["object"] == "chat.completion"
    with pytest.raises(handler["ValidationError"]):
        handler["make_api_request"](url, bearer(ADMIN), {"messages": chat()["messages"]})
    assert capsys.readouterr().out == (
        "Validation error: Request validation failed\n  - model: Field required\n"
    )
