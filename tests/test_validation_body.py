"""The :func:`use_schema` decorator: the failures of a body that are not
validation errors (bad JSON, wrong type, too large) and bodies that are
not objects."""

from __future__ import annotations

import json

import pytest

from .conftest import MakeApp
from .support.validation_apps import HELLO
from .support.validation_apps import chat_app as _chat_app


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"model": "Melanie-3",}', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        (b"model=Melanie-3", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"model": "Melanie-3"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"model": "Melanie-3"}', None, 415, "unsupported_media_type"),
    ],
)
def test_body_failures_are_not_validation_errors(
    make_app: MakeApp, data: bytes, content_type: str | None, status: int, code: str
) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post("/v1/chat/completions", data=data, content_type=content_type)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code
    assert "validation_errors" not in body.get("details", {})


def test_invalid_json_body_has_the_decoding_error(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions", data=b'{"a": 1,,}', content_type="application/json"
    )
    assert response.get_json()["details"] == {
        "json_error": "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"
    }


def test_oversized_body_is_413(make_app: MakeApp) -> None:
    app = _chat_app(make_app, config={"MAX_CONTENT_LENGTH": 1000})
    payload = {"model": "Melanie-3", "messages": [{"role": "user", "content": "x" * 2000}]}
    response = app.test_client().post("/v1/chat/completions", json=payload)
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "payload_too_large"
    assert body["details"]["max_size"] == 1000


def test_request_without_body_loads_as_empty_object(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post("/v1/chat/completions")
    assert response.status_code == 400
    errors = response.get_json()["details"]["validation_errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("messages", "Field required"),
        ("model", "Field required"),
    ]


@pytest.mark.parametrize("body", ["null", "[1, 2]", '"x"', "3.5"])
def test_body_that_is_not_an_object(make_app: MakeApp, body: str) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.get_json()["details"]["validation_errors"]
    assert [e["field"] for e in errors] == ["_schema"]
    assert errors[0]["invalid_value"] is None
    assert errors[0]["message"] == "Invalid input type."


def test_schema_error_field_setting(make_app: MakeApp) -> None:
    app = _chat_app(make_app, schema_error_field="body")
    response = app.test_client().post(
        "/v1/chat/completions", data="[]", content_type="application/json"
    )
    assert response.get_json()["details"]["validation_errors"][0]["field"] == "body"


def test_problem_json_content_type_counts_as_json(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions",
        data=json.dumps({"model": "Melanie-3", "messages": HELLO}),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200
    assert response.get_json() == {"model": "Melanie-3", "count": 1}
