"""pydantic ``ValidationError`` -> ``validation_error`` in an app: the same
entries as marshmallow's (paths, messages, echoed values, redaction, cap,
status), lone surrogates and random payloads answered with bounded JSON
bodies, and models built by server code. Paths, redaction and codes of the
converter itself: test_integrations_pydantic_paths and _codes."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask
from flask import request
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiErrors
from flask_apierrors import use_schema
from flask_apierrors.integrations.registry import EXCEPTION_TYPES

pydantic = pytest.importorskip("pydantic")
pydantic_core = pytest.importorskip("pydantic_core")

from pydantic import BaseModel  # noqa: E402
from pydantic import ConfigDict  # noqa: E402
from pydantic import Field  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

MODELS = ("Melanie-3", "Melanie-3-light", "Melanie-3-code")


class Message(BaseModel):
    role: t.Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class ChatCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1)
    model: t.Literal["Melanie-3", "Melanie-3-light", "Melanie-3-code"]
    temperature: float = Field(default=1, ge=0, le=2)
    max_tokens: int = Field(default=16, ge=1)
    # The client sends "key": secret by the field's name.
    api_key: str = Field(default="", alias="key", min_length=10)
    password: SecretStr | None = Field(default=None, min_length=8)
    tags: dict[str, int] = {}


class MaMessage(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["system", "user", "assistant"]))
    content = fields.String(required=True, validate=validate.Length(min=1))


class MaChatCompletion(Schema):
    messages = fields.List(fields.Nested(MaMessage), required=True, validate=validate.Length(min=1))
    model = fields.String(required=True, validate=validate.OneOf(MODELS))
    temperature = fields.Float(validate=validate.Range(0, 2))
    max_tokens = fields.Integer(validate=validate.Range(min=1))
    api_key = fields.String(data_key="key", validate=validate.Length(min=10))
    password = fields.String(load_only=True, validate=validate.Length(min=8))
    tags = fields.Dict(keys=fields.String(), values=fields.Integer())


def _app(**options: t.Any) -> Flask:
    app = Flask("pydantic_app")
    app.config["TESTING"] = True
    ApiErrors(app, **options)

    @app.post("/pydantic")
    def chat() -> dict[str, t.Any]:
        ChatCompletion.model_validate(request.get_json())
        return {"ok": True}

    @app.post("/init")
    def init() -> dict[str, t.Any]:
        # flask-pydantic's way: the model's constructor.
        ChatCompletion(**request.get_json())
        return {"ok": True}

    @app.post("/marshmallow")
    @use_schema(MaChatCompletion)
    def ma_chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"ok": True}

    @app.post("/messages")
    def messages() -> dict[str, t.Any]:
        TypeAdapter(list[Message]).validate_python(request.get_json())
        return {"ok": True}

    @app.post("/raw")
    def raw() -> dict[str, t.Any]:
        ChatCompletion.model_validate_json(request.get_data())
        return {"ok": True}

    return app


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return _app().test_client()


def _errors(client: FlaskClient, path: str, payload: t.Any) -> list[dict[str, t.Any]]:
    response = client.post(path, json=payload)
    assert response.status_code == 400
    body = response.get_json()
    assert (body["error"], body["message"]) == ("validation_error", "Request validation failed")
    return t.cast("list[dict[str, t.Any]]", body["details"]["validation_errors"])


SAME_AS_MARSHMALLOW = [
    {"messages": [{"role": "user", "content": "Hi"}]},
    {"model": "gpt-4", "messages": []},
    {"model": "Melanie-3", "messages": [{"role": "bot", "content": ""}, {"role": "user"}]},
    {"model": "Melanie-3", "messages": [{"role": "user", "content": "x"}], "temperature": 3},
    {"model": "Melanie-3", "messages": "x", "key": "short", "password": "short"},
    {"model": "Melanie-3", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
    {"model": "Melanie-3", "messages": [{"role": "user", "content": "x"}], "tags": {"a": "b"}},
    {"model": 5, "messages": [{"role": "user", "content": "x" * 300}], "token": "t0k3n"},
]


@pytest.mark.parametrize("payload", SAME_AS_MARSHMALLOW)
def test_fields_and_values_as_marshmallow_gives_them(
    client: FlaskClient, payload: dict[str, t.Any]
) -> None:
    mine = _errors(client, "/pydantic", payload)
    theirs = _errors(client, "/marshmallow", payload)
    assert [(e["field"], e["invalid_value"]) for e in mine] == [
        (e["field"], e["invalid_value"]) for e in theirs
    ]


def test_documented_body_shape(client: FlaskClient) -> None:
    assert _errors(client, "/pydantic", {"messages": [{"role": "user", "content": "Hi"}]}) == [
        {"field": "model", "message": "Field required", "invalid_value": None}
    ]
    assert _errors(client, "/init", {"model": "gpt-4", "messages": [{"role": "user"}]}) == [
        {"field": "messages[0].content", "message": "Field required", "invalid_value": None},
        {
            "field": "model",
            "message": "Input should be 'Melanie-3', 'Melanie-3-light' or 'Melanie-3-code'",
            "invalid_value": "gpt-4",
        },
    ]


def test_type_adapter(client: FlaskClient) -> None:
    assert _errors(client, "/messages", [{"role": "user", "content": "x"}, {"role": "x"}]) == [
        {
            "field": "[1].role",
            "message": "Input should be 'system', 'user' or 'assistant'",
            "invalid_value": "x",
        },
        {"field": "[1].content", "message": "Field required", "invalid_value": None},
    ]
    assert _errors(client, "/messages", {"role": "user"}) == [
        {"field": "_schema", "message": "Input should be a valid list", "invalid_value": None}
    ]


def test_a_body_that_is_not_json_is_invalid_json(client: FlaskClient) -> None:
    response = client.post("/raw", data=b'{"model": ', content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_json"
    assert body["details"] == {"json_error": "EOF while parsing a value at line 1 column 10"}


def test_pydantic_and_pydantic_core_raise_one_class(app: Flask) -> None:
    assert pydantic.ValidationError is pydantic_core.ValidationError
    assert pydantic_core.ValidationError in EXCEPTION_TYPES
    assert pydantic_core.ValidationError in app.error_handler_spec[None][None]


@pytest.mark.parametrize(("options", "status"), [({}, 400), ({"validation_status": 422}, 422)])
def test_status_and_cap(options: dict[str, t.Any], status: int) -> None:
    client = _app(max_validation_errors=3, **options).test_client()
    payload = {"model": "Melanie-3", "messages": [{"role": "x", "content": ""}] * 4}
    response = client.post("/pydantic", json=payload)
    assert response.status_code == status
    details = response.get_json()["details"]
    assert details["total_errors"] == 8
    assert [e["field"] for e in details["validation_errors"]] == [
        "messages[0].role",
        "messages[0].content",
        "messages[1].role",
    ]


# -- odd input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"model": "Melanie-3", "messages": [{"role": "user", "content": "\\ud800"}]}',
            {"field": "messages[0].content", "invalid_value": "\ud800"},
        ),
        # pydantic can't read such a key at all: the object is invalid.
        (
            '{"model": "Melanie-3", "messages": [], "\\udc00": 1}',
            {"field": "_schema", "invalid_value": None},
        ),
    ],
)
def test_lone_surrogates(client: FlaskClient, body: str, expected: dict[str, t.Any]) -> None:
    response = client.post("/pydantic", data=body, content_type="application/json")
    assert response.status_code == 400
    (error,) = response.get_json()["details"]["validation_errors"]
    assert error == {
        **expected,
        "message": "Input should be a valid string, unable to parse raw data as a unicode string",
    }


SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
TEXT = st.text(st.one_of(st.characters(), SURROGATES), max_size=8)
NAMES = st.one_of(
    st.sampled_from(["messages", "model", "role", "content", "key", "password", "tags"]), TEXT
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(NAMES, children, max_size=5)
    ),
    max_leaves=30,
)


@given(payload=st.one_of(st.dictionaries(NAMES, JSON, max_size=8), JSON))
def test_random_payloads_give_bounded_json_bodies(client: FlaskClient, payload: t.Any) -> None:
    response = client.post("/pydantic", data=json.dumps(payload), content_type="application/json")
    assert response.status_code in (200, 400)
    body = response.get_json()
    if response.status_code == 200:
        return
    assert body["error"] == "validation_error"
    for error in body["details"]["validation_errors"]:
        assert set(error) == {"field", "message", "invalid_value"}
        assert error["field"] and isinstance(error["message"], str)
        assert "hunter" not in json.dumps(error["invalid_value"])


class _ServerModel(BaseModel):
    total: int = Field(ge=0)


def _server_model_app() -> tuple[Flask, ApiErrors]:
    app = Flask("server_model_app")
    errors = ApiErrors(app)

    @app.get("/built")
    def built() -> dict[str, t.Any]:
        # Server code builds a model from data the client did not send.
        return _ServerModel(total=-5).model_dump()

    return app, errors


def test_a_model_built_by_server_code_is_answered_as_the_clients_validation_error() -> None:
    # As docs/validation.rst says: ApiErrors cannot tell whose data it was.
    app, _ = _server_model_app()
    response = app.test_client().get("/built")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert body["details"]["validation_errors"][0]["field"] == "total"


def test_a_registered_pydantic_validation_error_wins_over_the_built_in_answer() -> None:
    app, errors = _server_model_app()
    errors.register_exception(pydantic.ValidationError, "internal_server_error")
    response = app.test_client().get("/built")
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"
