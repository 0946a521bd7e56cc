"""The example app's chat API, in process: its keys and their
authentication errors, completions (the local model, streams, web search)
and the errors of their requests, and its rate and concurrency limits."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask.testing import FlaskClient

from example_app import chat_model
from example_app import settings
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import bearer
from tests.support.example_inprocess import call
from tests.support.example_inprocess import chat_body
from tests.support.example_inprocess import example
from tests.support.example_inprocess import normalized
from tests.support.example_inprocess import user_key

#: A JSON body with a missing comma, giving the documented decoding error.
BAD_JSON: t.Final = '{\n  "model": "Melanie-3", "stream": true\n    "messages": []\n}'

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client


# -- local model -----------------------------------------------------------------


def test_local_model_is_deterministic() -> None:
    payload = {**chat_body("one two three"), "max_tokens": 4}
    first, second = chat_model.completion(payload), chat_model.completion(payload)
    assert first["id"] == second["id"]
    assert first["choices"] == second["choices"]
    assert first["choices"][0]["finish_reason"] == "length"
    assert first["usage"]["completion_tokens"] == 4
    words = [c["choices"][0]["delta"]["content"] for c in chat_model.chunks(first)]
    assert "".join(words) == first["choices"][0]["message"]["content"]


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


def _too_large() -> str:
    body = json.dumps(chat_body("x" * (1048576 - 200)))
    return body + " " * (1048576 - len(body))


@pytest.mark.parametrize(
    ("data", "content_type", "status", "section"),
    [
        (BAD_JSON, "application/json", "400 Bad Request", "Invalid JSON"),
        ("hello", "text/plain", "415 Unsupported Media Type", "Invalid Content Type"),
        (_too_large(), "application/json", "413 Payload Too Large", "Request Body Too Large"),
    ],
    ids=["invalid_json", "wrong_content_type", "request_body_too_large"],
)
def test_a_body_the_chat_api_refuses(
    client: FlaskClient, data: str | bytes, content_type: str, status: str, section: str
) -> None:
    response = call(
        client,
        "POST",
        "/chat/completions",
        data=data,
        content_type=content_type,
        headers=bearer(ADMIN),
    )
    assert_example(response, status, section)


# -- chat API: limits -------------------------------------------------------------


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
