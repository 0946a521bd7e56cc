"""webargs and flask-smorest apps get the same ``validation_error`` bodies
as :func:`~flask_apierrors.use_schema`, from the 422 they raise."""

from __future__ import annotations

import io
import typing as t

import pytest

from tests.support import webargs_apps
from tests.support.seeds import seed_examples
from tests.support.webargs_apps import app_client as _client
from tests.support.webargs_apps import smorest_app
from tests.support.webargs_apps import webargs_app

EXAMPLES = seed_examples()

# The fixture this module uses, by name (see tests/support/webargs_apps.py).
kind = webargs_apps.kind


def _comparable(body: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in body.items() if k not in ("timestamp", "correlation_id")}


@pytest.mark.parametrize(
    ("example", "payload"),
    [
        ("Missing Required Field", {"messages": [{"role": "user", "content": "Hi"}]}),
        ("Invalid Model", {"model": "gpt-4", "messages": [{"role": "user", "content": "Hi"}]}),
        (
            "Invalid Message Content",
            {"model": "Melanie-3", "messages": [{"role": "user", "content": ""}]},
        ),
    ],
)
def test_documented_examples(kind: str, example: str, payload: dict[str, t.Any]) -> None:
    expected = next(ex for ex in EXAMPLES if ex["example"] == example)
    client, _ = _client(kind)
    response = client.post("/v1/chat/completions", json=payload)
    assert response.status_code == expected["status"] == 400
    assert _comparable(response.get_json()) == _comparable(expected["body"])


@pytest.mark.parametrize(("options", "status"), [({}, 400), ({"validation_status": 422}, 422)])
def test_webargs_default_status_follows_the_setting(
    kind: str, options: dict[str, t.Any], status: int
) -> None:
    client, _ = _client(kind, **options)
    response = client.post("/v1/chat/completions", json={})
    assert response.status_code == status
    assert [e["field"] for e in response.get_json()["details"]["validation_errors"]] == [
        "messages",
        "model",
    ]


def test_secrets_and_load_only_fields_are_redacted(kind: str) -> None:
    client, _ = _client(kind)
    payload = {
        "model": "Melanie-3",
        "messages": [{"role": "user", "content": "Hi", "password": "pw1"}],
        "api_token": "short",
        "pin": "123456",
    }
    response = client.post("/v1/chat/completions", json=payload)
    assert response.get_json()["details"]["validation_errors"] == [
        {
            "field": "messages[0].password",
            "message": "Unknown field.",
            "invalid_value": "[REDACTED]",
        },
        {
            "field": "api_token",
            "message": "Shorter than minimum length 10.",
            "invalid_value": "[REDACTED]",
        },
        {"field": "pin", "message": "Length must be 4.", "invalid_value": "[REDACTED]"},
    ]
    assert "123456" not in response.get_data(as_text=True)


def test_attribute_names_and_codes(kind: str) -> None:
    client, prefix = _client(kind, field_error_codes=True)
    payload = {"model": "gpt-4", "messages": [], "key": "short"}
    assert client.post("/v1/chat/completions", json=payload).get_json()["details"] == {
        "validation_errors": [
            {
                "field": "messages",
                "message": "At least one message is required",
                "invalid_value": [],
                "code": "too_short",
            },
            {
                "field": "model",
                "message": "Invalid model type. Must be one of: Melanie-3, Melanie-3-light,"
                " Melanie-3-code",
                "invalid_value": "gpt-4",
                "code": "invalid_choice",
            },
            {
                "field": "key",
                "message": "Shorter than minimum length 10.",
                "invalid_value": "[REDACTED]",
                "code": "too_short",
            },
        ]
    }
    query = client.get(prefix + "/items?page=0&ids=x").get_json()["details"]
    assert [e["code"] for e in query["validation_errors"]] == ["out_of_range", "invalid_type"]


def test_query_errors_carry_their_location(kind: str) -> None:
    client, prefix = _client(kind)
    # webargs leaves out unknown query parameters (EXCLUDE) by default.
    response = client.get(prefix + "/items?page=0&ids=1&ids=two&sort=asc")
    assert response.status_code == 400
    assert response.get_json()["details"]["validation_errors"] == [
        {"field": "page", "message": "Must be greater than or equal to 1.", "invalid_value": "0"},
        {"field": "ids[1]", "message": "Not a valid integer.", "invalid_value": "two"},
    ]
    assert client.get(prefix + "/items?page=2&ids=1&ids=3").get_json() == {"page": 2, "ids": [1, 3]}


def test_entry_cap(kind: str) -> None:
    client, _ = _client(kind, max_validation_errors=2)
    payload = {"model": 1, "messages": [{"role": "x", "content": ""}] * 3}
    body = client.post("/v1/chat/completions", json=payload).get_json()
    assert len(body["details"]["validation_errors"]) == 2
    assert body["details"]["total_errors"] == 7


def test_chosen_status_form_files_headers_and_kwargs() -> None:
    client = webargs_app(validation_status=422).test_client()
    form = client.post("/form", data={"other": "x"})
    assert form.status_code == 409
    assert form.get_json()["details"]["validation_errors"] == [
        {"field": "name", "message": "Field required", "invalid_value": None},
        {"field": "other", "message": "Unknown field.", "invalid_value": "x"},
    ]
    files = client.post(
        "/files",
        data={"other": (io.BytesIO(b"x"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert files.status_code == 422
    assert [e["field"] for e in files.get_json()["details"]["validation_errors"]] == ["upload"]
    headers = client.get("/headers", headers={"X-Page": "one"})
    assert headers.status_code == 422
    assert headers.headers["X-Hint"] == "send X-Page"
    assert headers.get_json()["details"]["validation_errors"] == [
        {"field": "X-Page", "message": "Not a valid integer.", "invalid_value": "one"}
    ]
    kwargs = client.post("/kwargs", json={"count": "many"})
    assert kwargs.get_json()["details"]["validation_errors"] == [
        {"field": "count", "message": "Not a valid integer.", "invalid_value": "many"}
    ]
    assert client.post("/kwargs", json={"count": 3}).get_json() == {"count": 3}


def test_smorest_abort_message_and_errors() -> None:
    client = smorest_app(format="error_code").test_client()
    missing = client.get("/v1/jobs/7")
    assert missing.status_code == 404
    assert _comparable(missing.get_json()) == {
        "error": True,
        "error_code": "NOT_FOUND",
        "message": "Job 7 not found",
    }
    conflict = client.post("/v1/jobs")
    assert conflict.status_code == 409
    assert _comparable(conflict.get_json()) == {
        "error": True,
        "error_code": "VALIDATION_ERROR",
        "message": "Request validation failed",
        "details": {
            "validation_errors": [
                {"field": "name", "message": "Name already taken", "invalid_value": None}
            ]
        },
    }
