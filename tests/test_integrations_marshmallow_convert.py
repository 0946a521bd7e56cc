"""marshmallow ``ValidationError`` -> ``validation_error`` problems: the
entry cap, errors raised in views, messages that are not text, and
exceptions that are left alone."""

from __future__ import annotations

import typing as t

import pytest
from flask import request
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from werkzeug.exceptions import NotFound

from flask_apierrors import FieldError
from flask_apierrors.integrations.marshmallow import RequestValidationError
from flask_apierrors.integrations.marshmallow import convert_validation_error
from flask_apierrors.integrations.marshmallow import field_errors

from .conftest import MakeApp
from .support.converter_context import converter_context as _ctx
from .support.marshmallow_errors import SETTINGS
from .support.marshmallow_errors import Account
from .support.marshmallow_errors import LazyText
from .support.marshmallow_errors import Person

# -- entry cap ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cap", "sent", "listed", "total"),
    [(3, 5, 3, 5), (3, 3, 3, None), (100, 10_000, 100, 10_000), (0, 2, 0, 2)],
)
def test_entry_cap(cap: int, sent: int, listed: int, total: int | None) -> None:
    schema = Schema.from_dict({"n": fields.List(fields.Integer())})()
    with pytest.raises(ValidationError) as info:
        schema.load({"n": ["x"] * sent})
    problem = convert_validation_error(info.value, _ctx(max_validation_errors=cap))
    assert problem is not None
    assert len(problem.errors) == listed
    assert problem.details.get("total_errors") == total
    assert problem.status == 400 and problem.code == "validation_error"


# -- raised anywhere ------------------------------------------------------


def test_validation_error_raised_in_a_view(make_app: MakeApp) -> None:
    app, _ = make_app(validation_status=422)

    @app.post("/people")
    def people() -> dict[str, t.Any]:
        Person().load(request.get_json())
        return {}

    @app.post("/manual")
    def manual() -> dict[str, t.Any]:
        raise ValidationError("Too short", "name")

    @app.post("/object")
    def whole() -> dict[str, t.Any]:
        raise ValidationError("Inconsistent request")

    client = app.test_client()
    response = client.post("/people", json={"name": "n", "age": "x", "password": "pw"})
    assert response.status_code == 422
    assert response.get_json()["details"]["validation_errors"] == [
        {"field": "age", "message": "Not a valid integer.", "invalid_value": "x"},
        {"field": "password", "message": "Unknown field.", "invalid_value": "[REDACTED]"},
    ]
    assert client.post("/manual").get_json()["details"]["validation_errors"] == [
        {"field": "name", "message": "Too short", "invalid_value": None}
    ]
    assert client.post("/object").get_json()["details"]["validation_errors"] == [
        {"field": "_schema", "message": "Inconsistent request", "invalid_value": None}
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (RuntimeError("db password hunter2"), "Invalid value."),
        (None, "Invalid value."),
        (b"bytes message", "bytes message"),
        (LazyText(), "Translated message"),
        (42, "42"),
        (object(), "Invalid value."),
    ],
)
def test_messages_that_are_not_text(message: t.Any, expected: str) -> None:
    errors, _ = field_errors({"a": [message]}, SETTINGS, data={"a": 1})
    assert errors[0].message == expected


def test_no_message_shows_a_memory_address(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/odd")
    def odd() -> dict[str, t.Any]:
        raise ValidationError({"a": [object()], "b": [len], object(): ["Bad."]})

    text = app.test_client().post("/odd").get_data(as_text=True)
    assert "0x" not in text and "object at" not in text
    assert "Invalid value." in text


def test_request_validation_error_carries_schema_and_location() -> None:
    schema = Account()
    error = RequestValidationError(
        {"pin": ["Bad."]}, schema=schema, location="query", data={"pin": "1"}
    )
    problem = convert_validation_error(error, _ctx())
    assert problem is not None
    # The location is not shown (one location), but kept as the source.
    assert problem.errors == (FieldError("pin", "Bad.", "[REDACTED]", source="query"),)
    assert "location" not in problem.errors[0].to_dict()


def test_other_exceptions_are_not_converted() -> None:
    assert convert_validation_error(NotFound(), _ctx()) is None
    assert convert_validation_error(ValueError("x"), _ctx()) is None
