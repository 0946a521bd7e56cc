"""The :func:`use_schema` decorator: the documented validation bodies of
both documented APIs, in every format and with the configured status."""

from __future__ import annotations

import io
import re
import typing as t

import pytest
from flask import Blueprint
from werkzeug.datastructures import FileStorage

from flask_apierrors import use_schema

from .conftest import MakeApp
from .support.seeds import seed_examples
from .support.validation_apps import HELLO
from .support.validation_apps import ChatCompletion
from .support.validation_apps import Upload
from .support.validation_apps import chat_app as _chat_app
from .support.validation_apps import chat_schema

EXAMPLES = seed_examples()


def _example(section_end: str, example: str | None = None) -> dict[str, t.Any]:
    for ex in EXAMPLES:
        if ex["section"].endswith(section_end) and ex["example"] == example:
            return ex
    raise LookupError(section_end)


def _comparable(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """The body without the values that depend on time and request."""
    body = dict(body)
    body.pop("correlation_id", None)
    body.pop("timestamp", None)
    return body


@pytest.mark.parametrize(
    ("section", "example", "payload", "model_error"),
    [
        (
            "400 Bad Request",
            "Missing Required Field",
            {"messages": HELLO},
            "Invalid model type. Must be one of: {choices}",
        ),
        (
            "400 Bad Request",
            "Invalid Model",
            {"model": "gpt-4", "messages": HELLO},
            "Invalid model type. Must be one of: {choices}",
        ),
        (
            "400 Bad Request",
            "Invalid Message Content",
            {"model": "Melanie-3", "messages": [{"role": "user", "content": ""}]},
            "Invalid model type. Must be one of: {choices}",
        ),
        (
            "Validation Error Structure",
            None,
            {"model": "invalid-model", "messages": []},
            "Invalid model type",
        ),
    ],
)
def test_second_api_validation_examples(
    make_app: MakeApp,
    section: str,
    example: str | None,
    payload: dict[str, t.Any],
    model_error: str,
) -> None:
    expected = _example(section, example)
    app = _chat_app(make_app, chat_schema(model_error))
    response = app.test_client().post("/v1/chat/completions", json=payload)
    assert response.status_code == (expected["status"] or 400)
    body = response.get_json()
    assert _comparable(body) == _comparable(expected["body"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["correlation_id"] == response.headers["X-Request-ID"]


def test_first_api_validation_error_from_upload_schema(make_app: MakeApp) -> None:
    expected = _example("/ VALIDATION_ERROR")
    app, _ = make_app(format="error_code")

    @app.post("/upload")
    @use_schema(Upload, "files")
    def upload(files: dict[str, FileStorage]) -> dict[str, t.Any]:
        return {"file": files["file"].filename}

    client = app.test_client()
    bad = {"file": (io.BytesIO(b"BM..."), "image.bmp")}
    response = client.post("/upload", data=bad, content_type="multipart/form-data")
    assert response.status_code == expected["status"]
    assert _comparable(response.get_json()) == expected["body"]
    good = {"file": (io.BytesIO(b"\x89PNG"), "image.png")}
    response = client.post("/upload", data=good, content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json() == {"file": "image.png"}


@pytest.mark.parametrize(
    ("fmt", "code_of"),
    [
        ("error_code", lambda b: (b["error_code"], b["details"])),
        ("detail", lambda b: (b["detail"]["code"], b["detail"]["details"])),
        ("problem", lambda b: (b["code"], b["details"])),
        ("error", lambda b: (b["error"], b["details"])),
    ],
)
def test_validation_body_in_every_format(
    make_app: MakeApp, fmt: str, code_of: t.Callable[[dict[str, t.Any]], tuple[str, t.Any]]
) -> None:
    app = _chat_app(make_app, format=fmt)
    response = app.test_client().post("/v1/chat/completions", json={"messages": HELLO})
    code, details = code_of(response.get_json())
    assert code.lower() == "validation_error"
    assert details == {
        "validation_errors": [
            {"field": "model", "message": "Field required", "invalid_value": None}
        ]
    }


@pytest.mark.parametrize(("options", "status"), [({}, 400), ({"validation_status": 422}, 422)])
def test_validation_status(make_app: MakeApp, options: dict[str, t.Any], status: int) -> None:
    app = _chat_app(make_app, **options)
    response = app.test_client().post("/v1/chat/completions", json={})
    assert response.status_code == status
    assert response.get_json()["error"] == "validation_error"


def test_validation_status_from_config(make_app: MakeApp) -> None:
    app = _chat_app(make_app, config={"APIERRORS_VALIDATION_STATUS": 422})
    assert app.test_client().post("/v1/chat/completions", json={}).status_code == 422


def test_blueprint_override_of_validation_status(make_app: MakeApp) -> None:
    app, ext = make_app()
    v2 = Blueprint("v2", __name__, url_prefix="/v2")
    ext.override(v2, validation_status=422, format="problem")

    @v2.post("/chat")
    @use_schema(ChatCompletion)
    def chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {}

    app.register_blueprint(v2)
    response = app.test_client().post("/v2/chat", json={})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["details"]["validation_errors"]] == [
        "messages",
        "model",
    ]
