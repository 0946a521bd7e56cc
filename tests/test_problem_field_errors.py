"""The ``problem`` format's ``errors`` member (RFC 9457 section 3) for
marshmallow, webargs and pydantic alike: one entry per field error, with
``detail`` and a JSON Pointer into the body, or the ``parameter`` it is
about; ``details.validation_errors`` kept next to it."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import request
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiErrors
from flask_apierrors import use_schema

pydantic = pytest.importorskip("pydantic")
webargs_flask = pytest.importorskip("webargs.flaskparser")

from pydantic import BaseModel  # noqa: E402
from pydantic import Field  # noqa: E402


class MaMessage(Schema):
    content = fields.String(required=True, validate=validate.Length(min=1))


class MaChat(Schema):
    messages = fields.List(fields.Nested(MaMessage), required=True)
    meta = fields.Dict(keys=fields.String(), values=fields.Integer())


class PyMessage(BaseModel):
    content: str = Field(min_length=1)


class PyChat(BaseModel):
    messages: list[PyMessage]
    meta: dict[str, int] = {}


#: webargs' decorators, typed for mypy (webargs leaves them untyped).
Decorator = t.Callable[..., t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]]
use_args: Decorator = webargs_flask.use_args

BODY: t.Final = {"messages": [{"content": "hi"}, {"content": ""}], "meta": {"a/b~c": "x"}}
EXPECTED: t.Final = [
    {"detail": "pointer", "pointer": "/messages/1/content"},
    {"detail": "pointer", "pointer": "/meta/a~1b~0c"},
]


def make_app(**options: t.Any) -> Flask:
    app = Flask("problem_errors")
    app.config["TESTING"] = True
    ApiErrors(app, format="problem", **options)

    @app.post("/marshmallow")
    @use_schema(MaChat)
    def with_marshmallow(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    @app.post("/webargs")
    @use_args(MaChat(), location="json")
    def with_webargs(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    @app.post("/pydantic")
    def with_pydantic() -> dict[str, t.Any]:
        return PyChat.model_validate(request.get_json()).model_dump()

    @app.get("/query")
    @use_schema({"limit": fields.Integer(required=True)}, "query")
    def with_query(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    @app.get("/webargs-query")
    @use_args({"limit": fields.Integer(required=True)}, location="query")
    def with_webargs_query(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    @app.post("/whole")
    @use_schema(MaChat)
    def whole(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    return app


def _shape(errors: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Entries with their detail text replaced by which member locates them."""
    return [
        {**{k: v for k, v in e.items() if k != "detail"}, "detail": next(iter(set(e) - {"detail"}))}
        for e in errors
    ]


@pytest.mark.parametrize("path", ["/marshmallow", "/webargs", "/pydantic"])
def test_every_validation_library_gives_json_pointers(path: str) -> None:
    response = make_app().test_client().post(path, json=BODY)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert sorted(_shape(body["errors"]), key=str) == sorted(EXPECTED, key=str)
    assert all(isinstance(e["detail"], str) and e["detail"] for e in body["errors"])
    # The same failures, in the documented member of every format.
    fields_ = [e["field"] for e in body["details"]["validation_errors"]]
    assert sorted(fields_) == ["messages[1].content", "meta.a/b~c"]


@pytest.mark.parametrize("path", ["/query", "/webargs-query"])
def test_query_errors_name_the_parameter(path: str) -> None:
    body = make_app().test_client().get(f"{path}?limit=x").get_json()
    assert body["errors"] == [{"detail": "Not a valid integer.", "parameter": "limit"}]
    # One location: the documented entry does not name it.
    assert "location" not in body["details"]["validation_errors"][0]


def test_errors_about_the_whole_body_point_at_it() -> None:
    body = make_app().test_client().post("/whole", json=[1]).get_json()
    assert body["errors"] == [{"detail": "Invalid input type.", "pointer": ""}]


def test_codes_are_listed_with_field_error_codes_on() -> None:
    app = make_app(field_error_codes=True)
    body = app.test_client().post("/marshmallow", json={"messages": [{}]}).get_json()
    assert body["errors"] == [
        {"detail": "Field required", "pointer": "/messages/0/content", "code": "required"}
    ]


def test_problem_on_accept_gives_errors_too() -> None:
    app = Flask("accept")
    ApiErrors(app, format="error", problem_type_template="https://errors.example/{code}")

    @app.post("/x")
    @use_schema(MaChat)
    def view(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    client = app.test_client()
    plain = client.post("/x", json=BODY).get_json()
    assert "errors" not in plain and len(plain["details"]["validation_errors"]) == 2
    problem = client.post("/x", json=BODY, headers={"Accept": "application/problem+json"})
    body = problem.get_json()
    assert body["type"] == "https://errors.example/validation_error"
    assert len(body["errors"]) == 2
