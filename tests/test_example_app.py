"""The example app in process: every route and every error of both APIs,
through Flask's test client, with the stand-in services on loopback.

The bodies are compared with the documented examples of both APIs
(tests/data/seed_examples.json), values that depend on time or ids and
the ``correlation_id`` member aside.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import runpy
import sqlite3
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from example_app import chat_model
from example_app import create_app
from example_app import db
from example_app import errors
from example_app import generation
from example_app import settings
from example_app.standin import StandinService
from example_app.standin import glb
from flask_apierrors import Problem
from tests.support.seeds import seed_examples
from tests.support.upstream import refused_url

EXAMPLES = seed_examples()
REPO = Path(__file__).parents[1]

ADMIN: t.Final = "mel_" + "A" * 32
PNG: t.Final = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
#: A JSON body with a missing comma, giving the documented decoding error.
BAD_JSON: t.Final = '{\n  "model": "Melanie-3", "stream": true\n    "messages": []\n}'
#: Values that depend on time or on ids.
VOLATILE: t.Final = frozenset(
    {"timestamp", "error_id", "key_id", "your_key", "deactivated_at", "reset_at", "retry_after"}
)

MakeApp = t.Callable[..., Flask]


def example(section: str, name: str | None = None) -> dict[str, t.Any]:
    """The documented example of ``section`` (the last part of its title)."""
    for ex in EXAMPLES:
        if ex["section"].rpartition(" / ")[2] == section and ex["example"] == name:
            return ex
    raise LookupError(section)


def normalized(body: t.Any, aside: t.AbstractSet[str] = VOLATILE) -> t.Any:
    """``body`` without ``correlation_id`` and with ``aside`` values blanked."""
    if isinstance(body, dict):
        return {
            k: "<varies>" if k in aside else normalized(v, aside)
            for k, v in body.items()
            if k != "correlation_id"
        }
    if isinstance(body, list):
        return [normalized(v, aside) for v in body]
    return body


def assert_example(
    response: TestResponse,
    section: str,
    name: str | None = None,
    aside: t.AbstractSet[str] = VOLATILE,
) -> dict[str, t.Any]:
    """The response has the documented status and body."""
    ex = example(section, name)
    body = response.get_json()
    assert response.status_code == ex["status"], body
    assert response.mimetype == "application/json"
    assert normalized(body, aside) == normalized(ex["body"], aside)
    inner = body.get("detail", body)
    assert inner["correlation_id"] == response.headers["X-Request-ID"]
    return t.cast(dict[str, t.Any], body)


def multipart(parts: t.Iterable[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of ``(field, filename, content type, data)``
    parts (built in memory: the test client's own encoder leaves a temporary
    file open for large bodies)."""
    boundary = "example-boundary-7MA4YWxkTrZu0gW"
    chunks = []
    for field, filename, content_type, data in parts:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}";'
            f' filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        chunks += [head.encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(content: str = "Hello", **extra: t.Any) -> dict[str, t.Any]:
    return {"model": "Melanie-3", "messages": [{"role": "user", "content": content}], **extra}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EXAMPLE_APP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_app(tmp_path: Path) -> t.Iterator[MakeApp]:
    """Apps with their instance folder in ``tmp_path`` and the admin key."""

    def factory(**config: t.Any) -> Flask:
        base = {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "ADMIN_KEY": ADMIN,
            # Polling a job counts too; tests of the limits set their own.
            "IMAGE_RATE_LIMIT": "1000 per minute",
        }
        return create_app({**base, **config})

    yield factory
    assert generation.wait_idle(20), "a background generation is still running"


@pytest.fixture
def standin() -> t.Iterator[StandinService]:
    with StandinService(work_seconds=0.05, slow_seconds=30) as service:
        yield service


@pytest.fixture
def client(make_app: MakeApp) -> FlaskClient:
    return make_app().test_client()


def call(client: FlaskClient, method: str, path: str, **kwargs: t.Any) -> TestResponse:
    """A request whose response is read and closed at once (freeing its
    concurrency slot)."""
    response = client.open(path, method=method, **kwargs)
    response.get_data()
    response.close()
    return response


def user_key(client: FlaskClient) -> str:
    response = call(client, "POST", "/api-keys", headers=bearer(ADMIN))
    assert response.status_code == 201
    return str(response.get_json()["api_key"])


# -- settings, catalog, format ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_KEY", "mel_short"),
        ("ADMIN_KEY", "sk_" + "A" * 32),
        ("CONCURRENT_LIMIT", 0),
        ("UPSTREAM_TIMEOUT", -1),
        ("MAX_JSON_BYTES", "big"),
        ("STORAGE_QUOTA", -5),
        ("GENERATION_RETRIES", True),
        # Not finite, or past any sane range.
        ("STORAGE_QUOTA", float("nan")),
        ("UPSTREAM_TIMEOUT", float("nan")),
        ("UPSTREAM_TIMEOUT", float("inf")),
        ("DB_TIMEOUT", 1e300),
        ("MAX_JSON_BYTES", float("inf")),
        ("GENERATION_MAX_TIME", float("-inf")),
        ("STREAM_HEARTBEAT", 0),
        # Rate limits that do not parse.
        ("CHAT_RATE_LIMIT", "lots per fortnight"),
        ("CHAT_RATE_LIMIT", 100),
        ("IMAGE_RATE_LIMIT", "100"),
        # Service URLs without an http(s) scheme or a host.
        ("MODEL_SERVICE_URL", "not a url"),
        ("SEARCH_SERVICE_URL", "ftp://example.com"),
        ("GENERATION_SERVICE_URL", "http://"),
        ("MODEL_SERVICE_URL", "http://127.0.0.1:99999"),
    ],
)
def test_settings_that_cannot_work_refuse_to_start(
    make_app: MakeApp, name: str, value: t.Any
) -> None:
    with pytest.raises(ValueError, match=f"EXAMPLE_APP_{name}") as caught:
        make_app(**{name: value})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_JSON_BYTES", "1e400"), ("UPSTREAM_TIMEOUT", "NaN"), ("DB_TIMEOUT", "Infinity")],
)
def test_settings_from_the_environment_that_cannot_work_refuse_to_start(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"EXAMPLE_APP_{name}", value)
    with pytest.raises(ValueError, match=f"EXAMPLE_APP_{name}"):
        make_app()


@pytest.mark.parametrize("where", ["a file", "under /proc"])
def test_an_unusable_instance_folder_refuses_to_start(tmp_path: Path, where: str) -> None:
    path = tmp_path / "instance"
    if where == "a file":
        path.write_text("not a folder")
    else:
        path = Path("/proc/example-app-instance")
    with pytest.raises(ValueError, match="EXAMPLE_APP_INSTANCE_PATH") as caught:
        create_app({"INSTANCE_PATH": str(path), "ADMIN_KEY": ADMIN})
    assert "\n" not in str(caught.value)


def test_settings_come_from_the_environment(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXAMPLE_APP_CONCURRENT_LIMIT", "7")
    monkeypatch.setenv("EXAMPLE_APP_CHAT_RATE_LIMIT", "5 per minute")
    app = make_app()
    assert app.config["CONCURRENT_LIMIT"] == 7
    assert app.config["CHAT_RATE_LIMIT"] == "5 per minute"
    assert set(settings.DEFAULTS) <= set(app.config)


def test_every_setting_is_documented() -> None:
    page = (REPO / "docs" / "example_app.rst").read_text()
    missing = [name for name in settings.DEFAULTS if f"EXAMPLE_APP_{name}" not in page]
    assert missing == []


def _first_api_codes() -> list[tuple[str, int]]:
    rv = []
    for ex in EXAMPLES:
        body = ex["body"]
        if not ex["seed"].startswith("000") or ex["status"] is None:
            continue
        code = body["detail"]["code"] if "detail" in body else body["error_code"]
        if code != "ERROR_CODE":
            rv.append((code, ex["status"]))
    return sorted(set(rv))


@pytest.mark.parametrize(("code", "status"), _first_api_codes())
def test_catalog_has_every_code_of_the_first_api(code: str, status: int) -> None:
    spec = errors.catalog()[code]
    assert spec.status == status
    assert spec.description


@pytest.mark.parametrize("code", sorted(errors.DETAIL_CODES))
def test_image_format_uses_detail_for_the_documented_codes(code: str) -> None:
    body = errors.ImageApiFormat().render(Problem(status=404, code=code.lower(), message="m"))
    assert body == {"detail": {"code": code, "message": "m"}}


@pytest.mark.parametrize("code", ["INVALID_API_KEY", "validation_error", "STORAGE_ERROR"])
def test_image_format_uses_error_code_for_the_others(code: str) -> None:
    body = errors.ImageApiFormat().render(Problem(status=400, code=code, message="m"))
    assert body == {"error": True, "error_code": code.upper(), "message": "m"}


@pytest.mark.parametrize("cls", errors.EXCEPTIONS)
def test_exception_classes_are_api_errors_of_the_first_api(cls: type[errors.APIException]) -> None:
    raised = cls()
    ex = next(e for e in EXAMPLES if e["body"].get("error_code") == cls.__name__.upper())
    assert (raised.error_code, raised.status, raised.message) == (
        ex["body"]["error_code"],
        ex["status"],
        ex["body"]["message"],
    )
    assert isinstance(raised, errors.APIException)


# -- local model and stand-in ----------------------------------------------------


def test_local_model_is_deterministic() -> None:
    payload = {**chat_body("one two three"), "max_tokens": 4}
    first, second = chat_model.completion(payload), chat_model.completion(payload)
    assert first["id"] == second["id"]
    assert first["choices"] == second["choices"]
    assert first["choices"][0]["finish_reason"] == "length"
    assert first["usage"]["completion_tokens"] == 4
    words = [c["choices"][0]["delta"]["content"] for c in chat_model.chunks(first)]
    assert "".join(words) == first["choices"][0]["message"]["content"]


def test_standin_makes_valid_gltf_binaries() -> None:
    model = glb("a.png", PNG)
    assert model[:4] == b"glTF"
    assert int.from_bytes(model[8:12], "little") == len(model)
    assert len(model) % 4 == 0
    chunk_length = int.from_bytes(model[12:16], "little")
    assert json.loads(model[20 : 20 + chunk_length])["extras"]["source"] == "a.png"


# -- health, routing, openapi ----------------------------------------------------


def test_health_answers(client: FlaskClient) -> None:
    response = call(client, "GET", "/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_unknown_endpoint(client: FlaskClient) -> None:
    assert_example(call(client, "GET", "/invalid/endpoint"), "404 Not Found", "Invalid Endpoint")


def test_unknown_endpoint_of_the_image_api_uses_its_format(client: FlaskClient) -> None:
    body = call(client, "GET", "/api/v1/nowhere").get_json()
    assert body["error"] is True
    assert body["error_code"] == "NOT_FOUND"


def test_openapi_document_is_valid(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    response = call(client, "GET", "/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert {"/chat/completions", "/api/v1/batch/upload", "/api/v1/jobs/{job_id}"} <= set(
        document["paths"]
    )


def test_openapi_operations_list_their_own_errors(client: FlaskClient) -> None:
    document = call(client, "GET", "/openapi.json").get_json()
    completions = document["paths"]["/chat/completions"]["post"]["responses"]
    assert sorted(completions) == [
        "2XX", "400", "401", "413", "415", "422", "429", "500", "502", "503", "504"
    ]  # fmt: skip
    # Two codes answer 429 there: the rate limit and the concurrency limit.
    both = completions["429"]["$ref"].rpartition("/")[2]
    assert both == "ConcurrentLimitExceeded_RateLimitExceeded"
    schema = document["components"]["responses"][both]["content"]["application/json"]["schema"]
    assert len(schema["anyOf"]) == 2
    # The image API's views answer in its own codes and bodies.
    job = document["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]
    assert job["403"] == {"$ref": "#/components/responses/images.InvalidApiKey"}
    assert sorted(job) == ["2XX", "400", "403", "404", "429", "500", "503"]
    health = document["paths"]["/health"]["get"]["responses"]
    assert "503" not in health and "401" not in health


# -- chat API: keys --------------------------------------------------------------


def test_create_key(client: FlaskClient) -> None:
    response = call(client, "POST", "/api-keys", headers=bearer(ADMIN))
    ex = example("201 Created", "Example")
    body = response.get_json()
    assert response.status_code == 201
    assert normalized(body, {"api_key", "key_id"}) == normalized(ex["body"], {"api_key", "key_id"})
    assert settings.KEY_PATTERN.fullmatch(body["api_key"])
    assert body["key_id"] == body["api_key"][:12]


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({}, "Missing Authorization Header"),
        ({"Authorization": "mel_" + "B" * 32}, "Missing Authorization Header"),
        (bearer("invalid_key"), "Invalid API Key Format"),
        (bearer("mel_invalid12" + "x" * 23), "API Key Not Found"),
    ],
)
def test_chat_authentication_errors(
    client: FlaskClient, headers: dict[str, str], name: str
) -> None:
    response = call(client, "GET", "/api-keys/mel_abcdef12", headers=headers)
    assert_example(response, "401 Unauthorized", name)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_key_is_never_echoed(client: FlaskClient) -> None:
    secret = "mel_" + "S" * 32
    response = call(client, "GET", "/api-keys/x", headers=bearer(secret))
    assert secret not in response.get_data(as_text=True)
    assert response.get_json()["details"]["key_id"] == secret[:12]


def test_deactivated_key(client: FlaskClient) -> None:
    key = user_key(client)
    response = call(client, "DELETE", f"/api-keys/{key[:12]}", headers=bearer(key))
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    response = call(client, "GET", f"/api-keys/{key[:12]}", headers=bearer(key))
    body = assert_example(response, "401 Unauthorized", "Deactivated API Key")
    assert body["details"]["key_id"] == key[:12]


def test_key_information(client: FlaskClient) -> None:
    key = user_key(client)
    response = call(client, "GET", f"/api-keys/{key[:12]}", headers=bearer(key))
    assert response.status_code == 200
    assert response.get_json()["active"] is True
    other = call(client, "GET", "/api-keys/mel_other123", headers=bearer(key))
    body = assert_example(other, "403 Forbidden", "Accessing Another User's Key")
    assert body["details"]["your_key"] == key[:12]
    missing = call(client, "GET", "/api-keys/mel_notfound", headers=bearer(ADMIN))
    assert_example(missing, "404 Not Found", "API Key Not Found")
    denied = call(client, "DELETE", "/api-keys/mel_other123", headers=bearer(key))
    assert denied.status_code == 403


def test_only_admin_keys_create_keys(client: FlaskClient) -> None:
    key = user_key(client)
    response = call(client, "POST", "/api-keys", headers=bearer(key))
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_create_keys_command(make_app: MakeApp) -> None:
    app = make_app(ADMIN_KEY=None)
    result = app.test_cli_runner().invoke(args=["create-keys"])
    assert result.exit_code == 0, result.output
    keys = [word for word in result.output.split() if settings.KEY_PATTERN.fullmatch(word)]
    assert len(keys) == 2
    client = app.test_client()
    assert call(client, "POST", "/api-keys", headers=bearer(keys[0])).status_code == 201
    assert call(client, "POST", "/api-keys", headers=bearer(keys[1])).status_code == 403


# -- chat API: completions -------------------------------------------------------


def test_chat_completion(client: FlaskClient) -> None:
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    body = response.get_json()
    assert response.status_code == 200
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Melanie-3: you said Hello"


def test_chat_completion_with_web_search(client: FlaskClient) -> None:
    payload = chat_body("flask errors", web_search=True)
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    content = response.get_json()["choices"][0]["message"]["content"]
    assert "Sources:" in content
    assert chat_model.search("flask errors")[0]["title"] in content


def test_chat_completion_stream(client: FlaskClient) -> None:
    payload = chat_body("stream me", stream=True)
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    assert response.mimetype == "text/event-stream"
    data = [line[6:] for line in response.get_data(as_text=True).splitlines() if line]
    assert data[-1] == "[DONE]"
    words = "".join(json.loads(d)["choices"][0]["delta"]["content"] for d in data[:-1])
    assert words == "Melanie-3: you said stream me"


@pytest.mark.parametrize(
    ("payload", "section", "name"),
    [
        (
            {"messages": [{"role": "user", "content": "Hello"}]},
            "400 Bad Request",
            "Missing Required Field",
        ),
        ({**chat_body(), "model": "gpt-4"}, "400 Bad Request", "Invalid Model"),
        (chat_body(""), "400 Bad Request", "Invalid Message Content"),
        (
            {
                **chat_body(),
                "model": "Melanie-3-code",
                "tools": [{"type": "x"}],
                "web_search": False,
            },
            "422 Unprocessable Entity",
            "Conflicting Parameters",
        ),
    ],
)
def test_chat_completion_errors(
    client: FlaskClient, payload: dict[str, t.Any], section: str, name: str
) -> None:
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    assert_example(response, section, name)


def test_validation_error_structure(client: FlaskClient) -> None:
    payload = {"model": "invalid-model", "messages": []}
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    body = response.get_json()
    template = example("Validation Error Structure")["body"]
    assert response.status_code == 400
    assert body.keys() - {"correlation_id"} == template.keys()
    got = {e["field"]: e for e in body["details"]["validation_errors"]}
    for expected in template["details"]["validation_errors"]:
        assert got[expected["field"]]["invalid_value"] == expected["invalid_value"]
        assert got[expected["field"]]["message"].startswith(expected["message"])


def test_invalid_json(client: FlaskClient) -> None:
    response = call(
        client,
        "POST",
        "/chat/completions",
        data=BAD_JSON,
        content_type="application/json",
        headers=bearer(ADMIN),
    )
    assert_example(response, "400 Bad Request", "Invalid JSON")


def test_wrong_content_type(client: FlaskClient) -> None:
    response = call(
        client,
        "POST",
        "/chat/completions",
        data="hello",
        content_type="text/plain",
        headers=bearer(ADMIN),
    )
    assert_example(response, "415 Unsupported Media Type", "Invalid Content Type")


def test_request_body_too_large(client: FlaskClient) -> None:
    body = json.dumps(chat_body("x" * (1048576 - 200)))
    body += " " * (1048576 - len(body))
    response = call(
        client,
        "POST",
        "/chat/completions",
        data=body,
        content_type="application/json",
        headers=bearer(ADMIN),
    )
    assert_example(response, "413 Payload Too Large", "Request Body Too Large")


# -- chat API: the model service ---------------------------------------------------


def test_completion_from_the_model_service(make_app: MakeApp, standin: StandinService) -> None:
    client = make_app(MODEL_SERVICE_URL=standin.url).test_client()
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    assert response.status_code == 200
    assert response.get_json()["choices"] == chat_model.completion(chat_body())["choices"]


@pytest.mark.parametrize(
    ("prompt", "status", "message", "details"),
    [
        (
            "simulate:reset",
            502,
            "AI model service unavailable",
            {"model": "Melanie-3", "upstream_error": "Connection reset", "retry_suggested": True},
        ),
        (
            "simulate:error",
            502,
            "AI model service unavailable",
            {
                "model": "Melanie-3",
                "upstream_status": 500,
                "upstream_message": "Internal server error",
            },
        ),
        (
            "simulate:overload",
            503,
            "System temporarily overloaded",
            {"retry_after": 30, "load_level": "high", "suggestion": "Please retry in 30 seconds"},
        ),
        (
            "simulate:rate-limit",
            503,
            "System temporarily overloaded",
            {"retry_after": 30, "load_level": "high", "suggestion": "Please retry in 30 seconds"},
        ),
        (
            "simulate:hang",
            504,
            "AI model response timeout",
            {
                "model": "Melanie-3",
                "timeout_duration": 0.5,
                "suggestion": "Try reducing request complexity or using a lighter model",
            },
        ),
    ],
)
def test_model_service_failures(
    make_app: MakeApp,
    standin: StandinService,
    prompt: str,
    status: int,
    message: str,
    details: dict[str, t.Any],
) -> None:
    client = make_app(MODEL_SERVICE_URL=standin.url, UPSTREAM_TIMEOUT=0.5).test_client()
    payload = chat_body(prompt)
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    body = response.get_json()
    assert (response.status_code, body["message"], body["details"]) == (status, message, details)
    assert standin.url not in response.get_data(as_text=True)
    if status == 503:
        assert response.headers["Retry-After"] == "30"


def test_model_service_refused(make_app: MakeApp) -> None:
    client = make_app(MODEL_SERVICE_URL=refused_url("")).test_client()
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    body = assert_example(
        response, "502 Bad Gateway", "AI Model Error", aside=VOLATILE | {"upstream_error"}
    )
    assert body["details"]["upstream_error"] == "Connection refused"


def test_models_unavailable(make_app: MakeApp, standin: StandinService) -> None:
    standin.unavailable_models = ["Melanie-3", "Melanie-3-light"]
    standin.estimated_recovery = "2023-12-01T10:15:00Z"
    client = make_app(MODEL_SERVICE_URL=standin.url).test_client()
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    assert_example(response, "503 Service Unavailable", "AI Models Unavailable")


def test_search_service_error(make_app: MakeApp, standin: StandinService) -> None:
    client = make_app(SEARCH_SERVICE_URL=standin.url).test_client()
    payload = chat_body("simulate:unavailable", web_search=True)
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    assert_example(response, "502 Bad Gateway", "External API Error")


# -- chat API: files ---------------------------------------------------------------


def upload(
    client: FlaskClient, key: str, data: bytes, name: str, content_type: str
) -> TestResponse:
    body, mimetype = multipart([("file", name, content_type, data)])
    return call(client, "POST", "/files", data=body, content_type=mimetype, headers=bearer(key))


def test_file_lifecycle(make_app: MakeApp) -> None:
    app = make_app(FILE_PROCESSING_SECONDS=0.3)
    client = app.test_client()
    created = upload(client, ADMIN, b"some notes", "notes.txt", "text/plain")
    assert created.status_code == 201
    record = created.get_json()
    assert (record["status"], record["bytes"]) == ("processing", 10)
    path = f"/files/{record['id']}"
    busy = call(client, "DELETE", path, headers=bearer(ADMIN))
    assert_example(busy, "422 Unprocessable Entity", "Invalid State")
    time.sleep(0.35)
    assert call(client, "GET", path, headers=bearer(ADMIN)).get_json()["status"] == "idle"
    assert call(client, "DELETE", path, headers=bearer(ADMIN)).get_json()["deleted"] is True
    assert call(client, "GET", path, headers=bearer(ADMIN)).status_code == 404
    assert not os.listdir(os.path.join(app.instance_path, "files"))


def test_file_not_found(client: FlaskClient) -> None:
    response = call(client, "GET", "/files/file-nonexistent", headers=bearer(ADMIN))
    assert_example(response, "404 Not Found", "File Not Found")


def test_other_users_file_is_not_found(client: FlaskClient) -> None:
    record = upload(client, ADMIN, b"x", "a.md", "text/markdown").get_json()
    response = call(client, "GET", f"/files/{record['id']}", headers=bearer(user_key(client)))
    assert response.status_code == 404


def test_unsupported_file_type(client: FlaskClient) -> None:
    response = upload(client, ADMIN, b"MZ", "setup.exe", "application/exe")
    assert_example(response, "415 Unsupported Media Type", "Unsupported File Type")


def test_file_type_guessed_from_the_name(client: FlaskClient) -> None:
    response = upload(client, ADMIN, b"%PDF-1.7", "paper.pdf", "application/octet-stream")
    assert response.get_json()["content_type"] == "application/pdf"


def test_file_too_large(make_app: MakeApp) -> None:
    client = make_app(MAX_FILE_BYTES=1000).test_client()
    response = upload(client, ADMIN, b"x" * 1001, "big.txt", "text/plain")
    body = response.get_json()
    assert response.status_code == 413
    assert body["message"] == "File size exceeds maximum limit"
    assert body["details"] == {"file_size": 1001, "max_size": 1000, "size_limit": "0.001MB"}


def test_upload_without_a_file(client: FlaskClient) -> None:
    body, mimetype = multipart([("other", "other.txt", "text/plain", b"x")])
    response = call(
        client, "POST", "/files", data=body, content_type=mimetype, headers=bearer(ADMIN)
    )
    errors_ = response.get_json()["details"]["validation_errors"]
    assert response.status_code == 400
    assert [(e["field"], e["message"], e["invalid_value"]) for e in errors_] == [
        ("file", "Field required", None)
    ]


def test_chat_storage_quota(make_app: MakeApp) -> None:
    client = make_app(STORAGE_QUOTA=10).test_client()
    assert upload(client, ADMIN, b"12345678", "a.txt", "text/plain").status_code == 201
    response = upload(client, ADMIN, b"123", "b.txt", "text/plain")
    body = response.get_json()
    assert (response.status_code, body["error"]) == (507, "insufficient_storage")
    assert body["details"] == {"required": 3, "available": 2}


# -- chat API: research, limits --------------------------------------------------


def test_research(client: FlaskClient) -> None:
    payload = {"query": "error handling", "depth": 2}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 6


@pytest.mark.parametrize(("depth", "partial"), [(1, False), (2, True)])
def test_research_timeout(
    make_app: MakeApp, standin: StandinService, depth: int, partial: bool
) -> None:
    client = make_app(SEARCH_SERVICE_URL=standin.url, RESEARCH_TIMEOUT=0.4).test_client()
    # A slow search answers in 0.3 s, so the second one runs out of time.
    payload = {"query": "simulate:slow" if partial else "simulate:hang", "depth": depth}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    body = response.get_json()
    assert response.status_code == 504
    assert body["message"] == "Research operation timeout"
    assert body["details"] == {
        "operation": "deep_research",
        "timeout_duration": 0.4,
        "partial_results_available": partial,
    }


def test_a_whole_research_timeout_is_written_as_an_integer(
    make_app: MakeApp, standin: StandinService
) -> None:
    # The documented body says 300, not 300.0: a client may read an integer.
    client = make_app(SEARCH_SERVICE_URL=standin.url, RESEARCH_TIMEOUT=1.0).test_client()
    payload = {"query": "simulate:hang", "depth": 1}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    assert response.status_code == 504
    assert re.search(r'"timeout_duration":1[,}]', response.get_data(as_text=True))


def test_a_model_service_that_answers_a_byte_at_a_time_is_cut_at_upstream_timeout(
    make_app: MakeApp, standin: StandinService
) -> None:
    # httpx's timeout bounds each wait, never reached here: the whole answer
    # is due within UPSTREAM_TIMEOUT.
    client = make_app(MODEL_SERVICE_URL=standin.url, UPSTREAM_TIMEOUT=0.5).test_client()
    started = time.monotonic()
    payload = chat_body("simulate:drip")
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    took = time.monotonic() - started
    body = response.get_json()
    assert (response.status_code, body["message"]) == (504, "AI model response timeout")
    assert body["details"]["timeout_duration"] == 0.5
    assert took < 1.5


def test_a_search_that_answers_a_byte_at_a_time_runs_out_of_research_time(
    make_app: MakeApp, standin: StandinService
) -> None:
    client = make_app(SEARCH_SERVICE_URL=standin.url, RESEARCH_TIMEOUT=0.5).test_client()
    started = time.monotonic()
    payload = {"query": "simulate:drip", "depth": 2}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    took = time.monotonic() - started
    assert response.status_code == 504
    assert response.get_json()["details"] == {
        "operation": "deep_research",
        "timeout_duration": 0.5,
        "partial_results_available": False,
    }
    assert took < 1.5


def test_chat_rate_limit(make_app: MakeApp) -> None:
    client = make_app(CHAT_RATE_LIMIT="3 per minute").test_client()
    statuses = [
        call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code for _ in range(3)
    ]
    assert statuses == [404, 404, 404]
    response = call(client, "GET", "/files/x", headers=bearer(ADMIN))
    body = response.get_json()
    assert response.status_code == 429
    assert body["message"] == "Rate limit of 3 requests per minute exceeded"
    assert body["details"]["limit"] == 3
    assert body["details"]["remaining"] == 0
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert int(response.headers["Retry-After"]) == body["details"]["retry_after"] >= 1
    assert call(client, "GET", "/health").status_code == 200


def test_concurrent_limit(make_app: MakeApp) -> None:
    client = make_app(CONCURRENT_LIMIT=1).test_client()
    payload = chat_body(stream=True)
    held = client.post("/chat/completions", json=payload, headers=bearer(ADMIN))
    try:
        response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
        body = response.get_json()
        assert response.status_code == 429
        assert body["error"] == "concurrent_limit_exceeded"
        assert body["details"]["concurrent_limit"] == 1
        assert body["details"]["current_concurrent"] == 2
    finally:
        held.close()
    again = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    assert again.status_code == 200


# -- image API: keys --------------------------------------------------------------


def test_authentication_required_until_a_key_exists(make_app: MakeApp) -> None:
    app = make_app(ADMIN_KEY=None)
    client = app.test_client()
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    assert_example(response, "AUTHENTICATION_REQUIRED")
    assert app.test_cli_runner().invoke(args=["create-keys"]).exit_code == 0
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    assert_example(response, "INVALID_API_KEY")


@pytest.mark.parametrize("key", ["mel_" + "Z" * 32, "garbage", " "])
def test_invalid_api_key(client: FlaskClient, key: str) -> None:
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": key})
    if key.strip():
        assert_example(response, "INVALID_API_KEY")
    else:
        body = response.get_json()
        assert (response.status_code, body["error_code"]) == (403, "INVALID_API_KEY")
        assert body["details"] == {"header": "X-API-Key"}


def test_deactivated_key_is_invalid_on_the_image_api(client: FlaskClient) -> None:
    key = user_key(client)
    call(client, "DELETE", f"/api-keys/{key[:12]}", headers=bearer(key))
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": key})
    assert_example(response, "INVALID_API_KEY")


def test_admin_route(client: FlaskClient) -> None:
    key = user_key(client)
    denied = call(client, "GET", "/api/v1/admin/stats", headers={"X-API-Key": key})
    assert_example(denied, "INSUFFICIENT_PERMISSIONS")
    allowed = call(client, "GET", "/api/v1/admin/stats", headers={"X-API-Key": ADMIN})
    assert allowed.get_json()["storage_quota"] == settings.DEFAULTS["STORAGE_QUOTA"]


# -- image API: uploads --------------------------------------------------------------


def batch(client: FlaskClient, *files: tuple[bytes, str], key: str = ADMIN) -> TestResponse:
    body, mimetype = multipart([("files", name, "image/png", data) for data, name in files])
    return call(
        client,
        "POST",
        "/api/v1/batch/upload",
        data=body,
        content_type=mimetype,
        headers={"X-API-Key": key},
    )


def wait_for_file(
    client: FlaskClient, job_id: str, file_id: str, *statuses: str
) -> dict[str, t.Any]:
    deadline = time.monotonic() + 15
    while True:
        job = call(client, "GET", f"/api/v1/jobs/{job_id}", headers={"X-API-Key": ADMIN})
        record = next(f for f in job.get_json()["files"] if f["file_id"] == file_id)
        if record["status"] in statuses:
            return t.cast(dict[str, t.Any], record)
        assert time.monotonic() < deadline, record
        time.sleep(0.05)


def model_of(client: FlaskClient, job_id: str, file_id: str) -> TestResponse:
    path = f"/api/v1/jobs/{job_id}/files/{file_id}/model"
    return call(client, "GET", path, headers={"X-API-Key": ADMIN})


def test_invalid_file_format(client: FlaskClient) -> None:
    assert_example(batch(client, (b"BM", "image.bmp")), "VALIDATION_ERROR")


def test_upload_without_files(client: FlaskClient) -> None:
    response = call(client, "POST", "/api/v1/batch/upload", headers={"X-API-Key": ADMIN})
    body = response.get_json()
    assert (response.status_code, body["error_code"]) == (400, "VALIDATION_ERROR")
    assert body["details"]["validation_errors"][0]["field"] == "files"


def test_file_too_large_for_a_batch(client: FlaskClient) -> None:
    assert_example(batch(client, (b"x" * 15728640, "big.png")), "FILE_TOO_LARGE")


def test_too_many_files(client: FlaskClient) -> None:
    files = [(PNG, f"{i}.png") for i in range(30)]
    assert_example(batch(client, *files), "TOO_MANY_FILES")


def test_storage_quota(make_app: MakeApp) -> None:
    client = make_app(STORAGE_QUOTA=524288).test_client()
    assert_example(batch(client, (b"x" * 1048576, "a.png")), "STORAGE_ERROR")


def test_generation_service_not_configured(client: FlaskClient) -> None:
    assert_example(batch(client, (PNG, "a.png")), "CONFIGURATIONEXCEPTION")


def test_upload_storage_failure(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(GENERATION_SERVICE_URL=standin.url)
    Path(app.instance_path, "uploads").write_text("not a directory")
    response = batch(app.test_client(), (PNG, "a.png"))
    body = assert_example(response, "PROCESSING_ERROR")
    assert body["detail"]["details"]["correlation_id"] == response.headers["X-Request-ID"]


def test_job_ids(client: FlaskClient) -> None:
    assert_example(
        call(client, "GET", "/api/v1/jobs/invalid@id", headers={"X-API-Key": ADMIN}),
        "INVALID_JOB_ID",
    )
    missing = call(
        client, "GET", "/api/v1/jobs/batch_20240315_123456_abc123", headers={"X-API-Key": ADMIN}
    )
    assert_example(missing, "JOB_NOT_FOUND")


# -- image API: generation -------------------------------------------------------------


@pytest.fixture
def generating(make_app: MakeApp, standin: StandinService) -> tuple[Flask, FlaskClient]:
    app = make_app(
        GENERATION_SERVICE_URL=standin.url, GENERATION_BACKOFF=0.01, GENERATION_MAX_TIME=5
    )
    return app, app.test_client()


def test_generation(generating: tuple[Flask, FlaskClient], standin: StandinService) -> None:
    app, client = generating
    response = batch(client, (PNG, "ok.png"), (PNG, "two.jpg"))
    assert response.status_code == 202
    job = response.get_json()
    assert settings_job_id(job["job_id"])
    assert job["files"] == [
        {"file_id": "file_001", "filename": "ok.png", "status": "queued"},
        {"file_id": "file_002", "filename": "two.jpg", "status": "queued"},
    ]
    for file_id in ("file_001", "file_002"):
        assert wait_for_file(client, job["job_id"], file_id, "completed", "failed")["status"] == (
            "completed"
        )
    model = model_of(client, job["job_id"], "file_001")
    assert model.status_code == 200
    assert model.mimetype == "model/gltf-binary"
    assert model.data == glb("ok.png", PNG)
    status = call(client, "GET", f"/api/v1/jobs/{job['job_id']}", headers={"X-API-Key": ADMIN})
    assert (status.get_json()["status"], status.get_json()["completed_files"]) == ("completed", 2)
    assert standin.submissions["ok.png"] == 1
    os.remove(generation.model_path(app, job["job_id"], "file_001"))
    assert_example(model_of(client, job["job_id"], "file_001"), "MODELEXCEPTION")


def test_generation_of_a_file_with_a_non_ascii_name(
    generating: tuple[Flask, FlaskClient], standin: StandinService
) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "café ☕.png")).get_json()["job_id"]
    record = wait_for_file(client, job_id, "file_001", "completed", "failed")
    assert (record["status"], record["filename"]) == ("completed", "café ☕.png")
    assert model_of(client, job_id, "file_001").data == glb("café ☕.png", PNG)
    assert standin.submissions["café ☕.png"] == 1


@pytest.mark.parametrize("name", ["a\x00.png", "esc\x1b[31m.png", "tab\t.png", "del\x7f.png"])
def test_a_file_name_with_control_characters_is_refused(
    generating: tuple[Flask, FlaskClient], standin: StandinService, name: str
) -> None:
    _, client = generating
    response = batch(client, (PNG, "ok.png"), (PNG, name))
    body = response.get_json()
    assert (response.status_code, body["error_code"]) == (400, "VALIDATION_ERROR")
    assert body["details"]["validation_errors"] == [
        {
            "field": "files",
            "message": "File name must not contain control characters",
            "invalid_value": name,
        }
    ]
    assert sum(standin.submissions.values()) == 0


#: File names of 256 bytes of UTF-8 and more, and what the refusal echoes of them.
TOO_LONG_NAMES: t.Final = [
    ("a" * 252 + ".png", "a" * 200 + "...[truncated]"),
    ("é" * 126 + ".png", "é" * 126 + ".png"),  # 130 characters, 256 bytes
    ("a" * 100_000 + ".png", "a" * 200 + "...[truncated]"),
]
#: File names of 255 bytes of UTF-8: the longest accepted.
LONGEST_NAMES: t.Final = ["a" * 251 + ".png", "é" * 125 + "a.png", "☕" * 83 + "ab.jpg"]


def stored(app: Flask) -> tuple[list[str], int]:
    """The files under the instance's uploads, and the count of jobs."""
    uploads = Path(app.instance_path, "uploads")
    files = sorted(str(p) for p in uploads.rglob("*")) if uploads.exists() else []
    conn = sqlite3.connect(Path(app.instance_path, "example_app.sqlite3"))
    try:
        (jobs,) = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()
    finally:
        conn.close()
    return files, int(jobs)


@pytest.mark.parametrize(("name", "echoed"), TOO_LONG_NAMES)
def test_a_file_name_over_255_bytes_is_refused_at_upload(
    generating: tuple[Flask, FlaskClient], standin: StandinService, name: str, echoed: str
) -> None:
    app, client = generating
    response = batch(client, (PNG, "ok.png"), (PNG, name))
    body = response.get_json()
    assert response.status_code == 400, body
    assert normalized(body) == {
        "error": True,
        "error_code": "VALIDATION_ERROR",
        "message": "Request validation failed",
        "details": {
            "validation_errors": [
                {
                    "field": "files",
                    "message": "File name must be at most 255 bytes (UTF-8)",
                    "invalid_value": echoed,
                }
            ]
        },
    }
    # Nothing stored, not even the batch's good file; nothing generated.
    assert stored(app) == ([], 0)
    assert sum(standin.submissions.values()) == 0


@pytest.mark.parametrize("name", LONGEST_NAMES)
def test_a_file_name_of_255_bytes_is_generated(
    generating: tuple[Flask, FlaskClient], standin: StandinService, name: str
) -> None:
    assert len(name.encode()) == 255
    _, client = generating
    response = batch(client, (PNG, name))
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    record = wait_for_file(client, job_id, "file_001", "completed", "failed")
    assert (record["status"], record["filename"]) == ("completed", name)
    assert model_of(client, job_id, "file_001").data == glb(name, PNG)
    assert standin.submissions[name] == 1


def settings_job_id(job_id: str) -> bool:
    import re

    return re.fullmatch(r"batch_\d{8}_\d{6}_[0-9a-f]{6}", job_id) is not None


@pytest.mark.parametrize(
    ("filename", "content", "section", "submissions"),
    [
        ("fail.png", PNG, "FAL_API_ERROR", 4),
        ("busy.png", PNG, "FAL_RATE_LIMIT", 1),
        ("garbage.png", PNG, "FALAPIEXCEPTION", 1),
        ("reset.png", PNG, "NETWORKEXCEPTION", 4),
        ("fake.png", b"GIF89a not a png", "PROCESSINGEXCEPTION", 0),
    ],
)
def test_generation_failures(
    generating: tuple[Flask, FlaskClient],
    standin: StandinService,
    filename: str,
    content: bytes,
    section: str,
    submissions: int,
) -> None:
    _, client = generating
    job_id = batch(client, (content, filename)).get_json()["job_id"]
    record = wait_for_file(client, job_id, "file_001", "completed", "failed")
    assert record["status"] == "failed"
    response = model_of(client, job_id, "file_001")
    assert_example(response, section)
    # Retried 3 times, unless the service asked to wait longer than allowed.
    assert standin.submissions[filename] == submissions
    if section == "FAL_RATE_LIMIT":
        assert response.headers["Retry-After"] == "60"


def test_unexpected_generation_failure(generating: tuple[Flask, FlaskClient]) -> None:
    app, client = generating
    Path(app.instance_path, "models").write_text("not a directory")
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    assert wait_for_file(client, job_id, "file_001", "completed", "failed")["status"] == "failed"
    assert_example(model_of(client, job_id, "file_001"), "Correlation IDs")


def test_model_not_ready(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(GENERATION_SERVICE_URL=standin.url, GENERATION_TIMEOUT=0.5, GENERATION_RETRIES=0)
    client = app.test_client()
    job_id = batch(client, (PNG, "slow.png")).get_json()["job_id"]
    wait_for_file(client, job_id, "file_001", "processing")
    body = assert_example(
        model_of(client, job_id, "file_001"), "MODEL_NOT_READY", aside=VOLATILE | {"progress"}
    )
    assert 0 <= body["detail"]["details"]["progress"] < 100
    # Past GENERATION_TIMEOUT the generation gives up.
    assert (
        wait_for_file(client, job_id, "file_001", "failed")["error"]["code"] == "NETWORKEXCEPTION"
    )


def test_file_not_found_in_job(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    body = assert_example(
        model_of(client, job_id, "file_999"), "FILE_NOT_FOUND", aside=VOLATILE | {"job_id"}
    )
    assert body["detail"]["details"]["job_id"] == job_id
    wait_for_file(client, job_id, "file_001", "completed")


def test_other_users_job_is_not_found(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    key = user_key(client)
    response = call(client, "GET", f"/api/v1/jobs/{job_id}", headers={"X-API-Key": key})
    assert response.get_json()["detail"]["code"] == "JOB_NOT_FOUND"
    wait_for_file(client, job_id, "file_001", "completed")


def test_retry(generating: tuple[Flask, FlaskClient], standin: StandinService) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "fail.png"), (PNG, "ok.png")).get_json()["job_id"]
    wait_for_file(client, job_id, "file_001", "failed")
    wait_for_file(client, job_id, "file_002", "completed")
    path = f"/api/v1/jobs/{job_id}/files/file_001/retry"
    response = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert (response.status_code, response.get_json()["status"]) == (202, "queued")
    wait_for_file(client, job_id, "file_001", "failed")
    assert standin.submissions["fail.png"] == 8
    done = call(client, "POST", path.replace("file_001", "file_002"), headers={"X-API-Key": ADMIN})
    assert done.get_json()["error_code"] == "VALIDATION_ERROR"


def test_retry_of_a_generation_whose_worker_stopped(
    generating: tuple[Flask, FlaskClient], standin: StandinService
) -> None:
    app, client = generating
    job_id = batch(client, (PNG, "ok.png")).get_json()["job_id"]
    wait_for_file(client, job_id, "file_001", "completed")
    path = f"/api/v1/jobs/{job_id}/files/file_001/retry"

    def processing_since(updated_at: str) -> None:
        # What a generation whose worker stopped leaves behind.
        with contextlib.closing(sqlite3.connect(db.database_path(app))) as conn, conn:
            conn.execute(
                "UPDATE job_files SET status = 'processing', updated_at = ? WHERE job_id = ?",
                (updated_at, job_id),
            )

    # Recently changed: its generation may still run.
    processing_since(db.utcnow())
    running = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert (running.status_code, running.get_json()["details"]["status"]) == (400, "processing")
    # Unchanged for longer than a generation can take: it is retried.
    processing_since("2000-01-01T00:00:00Z")
    response = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert (response.status_code, response.get_json()["status"]) == (202, "queued")
    assert wait_for_file(client, job_id, "file_001", "completed", "failed")["status"] == "completed"
    assert standin.submissions["ok.png"] == 2
    # Only once: the file is no longer stale.
    again = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert again.status_code == 400


def sse(text: str) -> list[tuple[str, dict[str, t.Any]]]:
    """``(event, data)`` pairs of an event stream."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def test_stream_of_a_job(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    response = call(client, "GET", f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN})
    events = sse(response.get_data(as_text=True))
    assert events[0] == ("start", {"job_id": job_id})
    assert events[-2] == ("complete", {"job_id": job_id, "status": "completed"})
    assert events[-1] == ("close", {"reason": "complete"})
    assert all(name == "progress" for name, _ in events[1:-2])


def test_stream_of_a_failing_job(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "fail.png")).get_json()["job_id"]
    response = call(client, "GET", f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN})
    events = sse(response.get_data(as_text=True))
    name, data = events[-2]
    assert name == "error"
    assert data["correlation_id"] == response.headers["X-Request-ID"]
    del data["correlation_id"]
    assert data == {
        "code": "PROCESSING_ERROR",
        "message": "Failed to generate model",
        "file_id": "file_001",
    }
    assert events[-1] == ("close", {"reason": "error"})


def test_stream_of_an_unknown_job(client: FlaskClient) -> None:
    response = call(client, "GET", "/api/v1/jobs/nope/stream", headers={"X-API-Key": ADMIN})
    assert (response.status_code, response.mimetype) == (404, "application/json")


def queued_job(app: Flask) -> str:
    """A job whose one file stays ``queued``: no generation runs for it."""
    job_id = "batch_20240315_123456_abc123"
    with app.app_context():
        files = [{"file_id": "file_001", "filename": "a.png", "size": len(PNG)}]
        db.insert_job(db.get_db(), job_id, ADMIN[:12], files)
    return job_id


def test_a_quiet_stream_sends_keep_alive_comments(make_app: MakeApp) -> None:
    app = make_app(STREAM_HEARTBEAT=0.1)
    job_id = queued_job(app)
    response = app.test_client().get(
        f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN}, buffered=False
    )
    try:
        chunks = response.iter_encoded()
        started = time.monotonic()
        received = ""
        while received.count(": keep-alive\n\n") < 2:
            received += next(chunks).decode()
            assert time.monotonic() - started < 5, received
    finally:
        response.close()
    # The start event, the file's progress, then comments only (the file does not change).
    first, rest = received.split(": keep-alive\n\n", 1)
    assert [name for name, _ in sse(first)] == ["start", "progress"]
    assert rest.strip() == ": keep-alive"


def test_image_rate_limit(make_app: MakeApp) -> None:
    client = make_app(IMAGE_RATE_LIMIT="60 per minute").test_client()
    for _ in range(60):
        call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    body = assert_example(response, "RATE_LIMIT_EXCEEDED")
    assert int(response.headers["Retry-After"]) == body["detail"]["details"]["retry_after"]
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    # The chat API counts separately.
    assert call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code == 404


# -- failures of the app itself ------------------------------------------------------


@contextlib.contextmanager
def locked_database(app: Flask) -> t.Iterator[None]:
    """Another writer holds the database."""
    conn = sqlite3.connect(os.path.join(app.instance_path, "example_app.sqlite3"))
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def test_database_errors(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(DB_TIMEOUT=0.05, GENERATION_SERVICE_URL=standin.url)
    client = app.test_client()
    with locked_database(app):
        response = call(client, "POST", "/api-keys", headers=bearer(ADMIN))
        body = assert_example(response, "500 Internal Server Error", "Database Error")
        assert body["details"]["error_id"].startswith("db_err_")
        assert_example(batch(client, (PNG, "a.png")), "DATABASEEXCEPTION")


def stored_uploads(app: Flask) -> list[str]:
    """The uploads on disk: chat files and batch images."""
    found = []
    for folder in ("files", "uploads"):
        for root, _, names in os.walk(os.path.join(app.instance_path, folder)):
            found += [os.path.join(root, name) for name in names]
    return found


@contextlib.contextmanager
def file_size_limit(limit: int) -> t.Iterator[None]:
    """Writes past ``limit`` bytes of a file fail (EFBIG), as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_an_upload_whose_record_fails_leaves_no_bytes_behind(
    make_app: MakeApp, standin: StandinService
) -> None:
    # Bytes without a record are never served nor deleted, and STORAGE_QUOTA
    # (which counts records) would never see them.
    app = make_app(DB_TIMEOUT=0.05, GENERATION_SERVICE_URL=standin.url)
    client = app.test_client()
    with locked_database(app):
        chat = upload(client, ADMIN, b"some notes", "notes.txt", "text/plain")
        image = batch(client, (PNG, "a.png"))
    assert (chat.status_code, chat.get_json()["error"]) == (500, "database_error")
    assert (image.status_code, image.get_json()["error_code"]) == (500, "DATABASEEXCEPTION")
    assert stored_uploads(app) == []


def test_an_upload_the_disk_has_no_room_for(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(GENERATION_SERVICE_URL=standin.url)
    client = app.test_client()
    with file_size_limit(64 * 1024):
        chat = upload(client, ADMIN, b"x" * 200_000, "big.txt", "text/plain")
        image = batch(client, (PNG + b"\x00" * 200_000, "a.png"))
    body = chat.get_json()
    # The chat API's storage error, as past STORAGE_QUOTA.
    assert (chat.status_code, body["error"]) == (507, "insufficient_storage")
    assert body["details"] == {"required": 200_000, "available": 64 * 1024}
    assert_example(image, "PROCESSING_ERROR")
    assert stored_uploads(app) == []


@pytest.mark.parametrize(
    ("path", "section", "name"),
    [
        ("/files/x", "500 Internal Server Error", "General Server Error"),
        ("/api/v1/jobs/x", "APIEXCEPTION", None),
    ],
)
def test_unexpected_errors(make_app: MakeApp, path: str, section: str, name: str | None) -> None:
    client = make_app(FAULTS=True).test_client()
    headers = {**bearer(ADMIN), "X-API-Key": ADMIN, "X-Fault": "crash"}
    response = call(client, "GET", path, headers=headers)
    assert_example(response, section, name)
    assert "fault" not in response.get_data(as_text=True)


def test_faults_are_off_by_default(client: FlaskClient) -> None:
    headers = {**bearer(ADMIN), "X-Fault": "crash"}
    assert call(client, "GET", "/files/x", headers=headers).status_code == 404


# -- maintenance -------------------------------------------------------------------


def test_maintenance_from_the_start(make_app: MakeApp) -> None:
    client = make_app(MAINTENANCE=True).test_client()
    chat = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    image = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    assert (chat.status_code, chat.get_json()["error"]) == (503, "service_unavailable")
    assert (image.status_code, image.get_json()["error_code"]) == (503, "SERVICE_UNAVAILABLE")
    health = call(client, "GET", "/health")
    assert (health.status_code, health.get_json()["maintenance"]) == (200, True)


def test_maintenance_at_run_time(client: FlaskClient) -> None:
    key = user_key(client)
    denied = call(client, "PUT", "/system/maintenance", json={}, headers=bearer(key))
    assert denied.status_code == 403
    on = call(client, "PUT", "/system/maintenance", json={"minutes": 60}, headers=bearer(ADMIN))
    assert on.get_json()["enabled"] is True
    response = call(client, "GET", "/files/x", headers=bearer(key))
    body = assert_example(
        response,
        "503 Service Unavailable",
        "Maintenance Mode",
        aside=VOLATILE | {"maintenance_window", "estimated_completion"},
    )
    end = body["details"]["estimated_completion"]
    assert body["details"]["maintenance_window"].endswith(f" to {end}")
    assert 3590 <= int(response.headers["Retry-After"]) <= 3600
    assert call(client, "GET", "/system/maintenance", headers=bearer(ADMIN)).get_json()["enabled"]
    off = call(client, "DELETE", "/system/maintenance", headers=bearer(ADMIN))
    assert off.get_json() == {"enabled": False}
    assert call(client, "GET", "/files/x", headers=bearer(key)).status_code == 404


def test_maintenance_command(make_app: MakeApp) -> None:
    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["maintenance", "on", "--minutes", "5"]).exit_code == 0
    client = app.test_client()
    assert call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code == 503
    assert runner.invoke(args=["maintenance", "off"]).exit_code == 0
    assert call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code == 404


# -- administration, entry points ----------------------------------------------------


def test_system_config(make_app: MakeApp) -> None:
    client = make_app(MODEL_SERVICE_URL="http://user:pw@example.invalid").test_client()
    shown = call(client, "GET", "/system/config", headers=bearer(ADMIN)).get_json()
    assert shown["CONCURRENT_LIMIT"] == 5
    assert not {"ADMIN_KEY", "MODEL_SERVICE_URL", "RATELIMIT_STORAGE_URI"} & set(shown)
    response = call(client, "DELETE", "/system/config", headers=bearer(ADMIN))
    assert_example(response, "403 Forbidden", "Operation Not Allowed")


@pytest.mark.parametrize(
    ("environ", "workers"),
    [
        ({}, 1),
        ({"EXAMPLE_APP_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}, 2),
        ({"WEB_CONCURRENCY": "3"}, 3),
    ],
)
def test_gunicorn_configuration(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], workers: int
) -> None:
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    conf = runpy.run_path(str(REPO / "example_app" / "gunicorn.conf.py"))
    assert conf["bind"] == "127.0.0.1:8000"
    assert (conf["workers"], conf["worker_class"]) == (workers, "gthread")


@pytest.mark.parametrize(
    ("name", "value"),
    [("GUNICORN_THREADS", "0"), ("GUNICORN_THREADS", "abc"), ("WEB_CONCURRENCY", "0")],
)
def test_gunicorn_configuration_refuses_a_bad_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(REPO / "example_app" / "gunicorn.conf.py"))
    assert caught.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"example_app: {name} must be")


def test_wsgi_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EXAMPLE_APP_INSTANCE_PATH", str(tmp_path))
    namespace = runpy.run_module("example_app.wsgi")
    app = namespace["app"]
    assert isinstance(app, Flask)
    assert app.instance_path == str(tmp_path)
    assert (tmp_path / "example_app.sqlite3").is_file()
