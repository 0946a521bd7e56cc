"""Every documented example the core can produce, compared with the
machine-readable examples of both documented APIs.

The bodies come out exactly, except for values that depend on time or on
the request (``timestamp``, ``error_id``) and the ``correlation_id`` member
that every body carries in addition.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask
from flask import request

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from tests.support.seeds import seed_examples

EXAMPLES = seed_examples()

# Produced by other parts of the package (validation, limits) and tested there.
_ELSEWHERE = {"validation_error", "rate_limit_exceeded", "concurrent_limit_exceeded"}


def _code(body: dict[str, t.Any]) -> str:
    if "detail" in body:
        return str(body["detail"]["code"])
    if body.get("error") is True:
        return str(body["error_code"])
    return str(body["error"])


def _format(body: dict[str, t.Any]) -> str:
    if "detail" in body:
        return "detail"
    return "error_code" if body.get("error") is True else "error"


def _inner(body: dict[str, t.Any]) -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", body["detail"]) if "detail" in body else body


def _raisable() -> list[t.Any]:
    params = []
    for ex in EXAMPLES:
        body = ex["body"]
        if ex["status"] is None or ex["status"] < 400 or not isinstance(body, dict):
            continue
        if _code(body) in _ELSEWHERE or _code(body) == "ERROR_CODE":
            continue
        if ex["section"] == "Correlation IDs":
            continue  # shown with a correlation id in place of details: see below
        params.append(pytest.param(ex, id=f"{ex['seed'][:3]}-{ex['section']}-{ex['example']}"))
    return params


def normalize(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """Drop what varies per request: timestamp value, ids, correlation_id."""
    body = json.loads(json.dumps(body))
    inner = _inner(body)
    inner.pop("correlation_id", None)
    if "timestamp" in inner:
        inner["timestamp"] = "<timestamp>"
    details = inner.get("details")
    if isinstance(details, dict) and "error_id" in details:
        details["error_id"] = "<error_id>"
    return body


@pytest.mark.parametrize("example", _raisable())
def test_documented_example_from_the_catalog(example: dict[str, t.Any]) -> None:
    """A catalog entry (status, message, format) plus ``details`` raised in a
    view reproduce the documented status and body."""
    body = example["body"]
    inner = _inner(body)
    code = _code(body)
    catalog = Catalog.default()
    if code not in catalog or catalog[code].status != example["status"]:
        catalog.add(code, example["status"], inner["message"], format=_format(body))
    app = Flask(__name__)
    ApiErrors(app, catalog=catalog, format=_format(body))

    @app.get("/raise")
    def raise_it() -> str:
        raise ApiError(code, inner["message"], details=inner.get("details"))

    response = app.test_client().get("/raise")
    assert response.status_code == example["status"]
    assert response.mimetype == "application/json"
    got = response.get_json()
    assert _inner(got)["correlation_id"] == response.headers["X-Request-ID"]
    assert normalize(got) == normalize(body)


def _example(section_end: str, name: str | None = None) -> dict[str, t.Any]:
    for ex in EXAMPLES:
        if ex["section"].endswith(section_end) and ex["example"] == name:
            return ex
    raise LookupError(section_end)


@pytest.fixture
def chat_app() -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1_000_000
    ApiErrors(app, expected_content_types=["application/json", "multipart/form-data"])

    @app.post("/chat/completions")
    def chat() -> t.Any:
        return request.get_json()

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret database password in this text")

    return app


def test_invalid_endpoint(chat_app: Flask) -> None:
    ex = _example("404 Not Found", "Invalid Endpoint")
    response = chat_app.test_client().get("/invalid/endpoint")
    assert response.status_code == ex["status"]
    assert normalize(response.get_json()) == normalize(ex["body"])


def test_request_body_too_large(chat_app: Flask) -> None:
    ex = _example("413 Payload Too Large", "Request Body Too Large")
    response = chat_app.test_client().post(
        "/chat/completions", data=b"x" * 1_048_576, content_type="application/json"
    )
    assert response.status_code == ex["status"]
    assert normalize(response.get_json()) == normalize(ex["body"])


def test_invalid_content_type(chat_app: Flask) -> None:
    ex = _example("415 Unsupported Media Type", "Invalid Content Type")
    response = chat_app.test_client().post(
        "/chat/completions", data="hello", content_type="text/plain"
    )
    assert response.status_code == ex["status"]
    assert normalize(response.get_json()) == normalize(ex["body"])


def test_invalid_json(chat_app: Flask) -> None:
    ex = _example("400 Bad Request", "Invalid JSON")
    # The parser's own message, for a body that breaks where the example says.
    broken = '{\n  "model": "Melanie-3", "stream": true\n    "messages": []\n}'
    response = chat_app.test_client().post(
        "/chat/completions", data=broken, content_type="application/json"
    )
    assert response.status_code == ex["status"]
    assert normalize(response.get_json()) == normalize(ex["body"])


def test_general_server_error(chat_app: Flask) -> None:
    ex = _example("500 Internal Server Error", "General Server Error")
    response = chat_app.test_client().get("/boom")
    assert response.status_code == ex["status"]
    body = response.get_json()
    assert normalize(body) == normalize(ex["body"])
    assert body["details"]["error_id"].startswith("err_")
    assert "secret" not in response.get_data(as_text=True)


def test_correlation_id_example() -> None:
    """The first API documents ``correlation_id`` inside ``detail``."""
    ex = _example("Correlation IDs")
    app = Flask(__name__)
    ApiErrors(app, format="detail")

    @app.get("/fail")
    def fail() -> str:
        raise ApiError("PROCESSING_ERROR", "Internal error", status=500)

    response = app.test_client().get("/fail", headers={"X-Request-ID": "req_abc123xyz"})
    assert response.status_code == ex["status"]
    assert response.get_json() == ex["body"]
