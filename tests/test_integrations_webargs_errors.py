"""webargs and flask-smorest apps: bodies the JSON parser refuses are
``invalid_json``, the app's own ``ValueError`` stays a 500, and exceptions
that are no webargs 422 are left to the other converters."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask
from marshmallow import fields
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Conflict

from flask_apierrors import ApiErrors
from flask_apierrors.catalog import Catalog
from flask_apierrors.config import Settings
from flask_apierrors.integrations import Context
from flask_apierrors.integrations.adoption import convert_abort
from flask_apierrors.integrations.webargs import convert_webargs_error
from tests.support import webargs_apps
from tests.support.webargs_apps import APPS
from tests.support.webargs_apps import Decorator
from tests.support.webargs_apps import app_client as _client
from tests.support.webargs_apps import webargs_flask

# The fixture this module uses, by name (see tests/support/webargs_apps.py).
kind = webargs_apps.kind


def test_invalid_json_is_invalid_json(kind: str) -> None:
    client, _ = _client(kind)
    response = client.post(
        "/v1/chat/completions", data=b'{"model": ', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_json"
    assert body["details"] == {"json_error": "Expecting value: line 1 column 11 (char 10)"}


@pytest.mark.parametrize(
    ("fmt", "media_type", "code_member"),
    [("error", "application/json", "error"), ("problem", "application/problem+json", "code")],
)
def test_a_value_the_json_parser_refuses_is_invalid_json(
    kind: str, fmt: str, media_type: str, code_member: str
) -> None:
    # webargs parses the body itself and catches only decoding errors: the
    # parser's ValueError for an integer of more than 4,300 digits escaped.
    factory, _ = APPS[kind]
    app = factory(format=fmt)
    app.testing = False  # as served (under TESTING too: test_hostile_input)
    client = app.test_client()
    body = b'{"model": ' + b"9" * 5000 + b"}"
    response = client.post("/v1/chat/completions", data=body, content_type="application/json")
    assert (response.status_code, response.mimetype) == (400, media_type)
    error = response.get_json()
    assert error[code_member] == "invalid_json"
    assert error["details"] == {"json_error": "Invalid JSON value"}
    assert "4300" not in response.get_data(as_text=True)


def _raise_own(what: str) -> t.Any:
    if what == "raise":
        raise ValueError("the app's own")
    if what == "int":
        return int("not a number")
    if what == "json-decode":
        return json.loads("{not json")

    def hook(pairs: list[tuple[str, t.Any]]) -> t.Any:
        raise ValueError("the app's own hook")

    return json.loads('{"a": 1}', object_pairs_hook=hook)


def test_the_apps_own_parse_of_stored_json_is_no_client_error() -> None:
    # The parser's ValueError outside the request body's parsing (stored or
    # upstream data) is the server's: a 500 logged, not invalid_json.
    app = Flask("stored_json")
    ApiErrors(app)

    @app.get("/report")
    def report() -> t.Any:
        return json.loads('{"n": ' + "9" * 5000 + "}")

    response = app.test_client().get("/report")
    assert (response.status_code, response.get_json()["error"]) == (500, "internal_server_error")


def test_an_apps_own_value_error_handler_keeps_its_value_errors() -> None:
    app = Flask("own_handler")
    app.register_error_handler(ValueError, lambda e: ({"mine": str(e)}, 422))
    ApiErrors(app)

    @app.get("/own")
    def own() -> t.Any:
        raise ValueError("bad input")

    response = app.test_client().get("/own")
    assert (response.status_code, response.get_json()) == (422, {"mine": "bad input"})


@pytest.mark.parametrize("what", ["raise", "int", "json-decode", "json-hook"])
def test_a_value_error_of_the_apps_own_is_still_a_500(what: str) -> None:
    app = Flask("own_value_error")
    ApiErrors(app)
    use_args: Decorator = webargs_flask.use_args

    @app.post("/own")
    @use_args({"n": fields.Integer()}, location="json")
    def own(data: dict[str, t.Any]) -> t.Any:
        return _raise_own(what)

    response = app.test_client().post("/own", json={"n": 1})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"


def _ctx() -> Context:
    return Context(
        catalog=Catalog.default(),
        settings=Settings(),
        correlation_id=None,
        timestamp="2023-12-01T10:00:00Z",
        instance=None,
    )


def _with_data(exc: Exception, data: t.Any) -> Exception:
    exc.data = data  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    "exc",
    [
        BadRequest(),
        ValueError("not http"),
        _with_data(Conflict(), None),
        _with_data(Conflict(), {}),
        _with_data(Conflict(), {"messages": {}}),
        _with_data(Conflict(), {"messages": "text"}),
        _with_data(Conflict(), {"message": ""}),
    ],
)
def test_other_exceptions_are_left_to_the_core(exc: Exception) -> None:
    assert convert_webargs_error(exc, _ctx()) is None


def test_a_hand_raised_abort_is_left_to_the_abort_converter() -> None:
    exc = _with_data(Conflict(), {"messages": {"json": {"name": ["Missing."]}}})
    assert convert_webargs_error(exc, _ctx()) is None
    assert convert_abort(exc, _ctx()) is not None


def test_messages_of_several_locations_and_whole_location_errors() -> None:
    exc = _with_data(
        Conflict(),
        {
            "messages": {
                "json": ["Invalid value."],
                "query": {"page": ["Not a valid integer."]},
            },
            "headers": {"X-Hint": "h"},
        },
    )
    problem = convert_abort(exc, _ctx())
    assert problem is not None
    assert problem.status == 409
    assert [e.to_dict() for e in problem.errors] == [
        {
            "field": "_schema",
            "message": "Invalid value.",
            "invalid_value": None,
            "location": "json",
        },
        {
            "field": "page",
            "message": "Not a valid integer.",
            "invalid_value": None,
            "location": "query",
        },
    ]
    assert ("X-Hint", "h") in problem.headers
