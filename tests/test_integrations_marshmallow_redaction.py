"""marshmallow ``ValidationError`` -> ``validation_error``: redaction of
values, by names on the wire, attribute names and ``load_only`` fields."""

from __future__ import annotations

import typing as t

import pytest
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from flask_apierrors import FieldError
from flask_apierrors.config import Settings
from flask_apierrors.integrations.marshmallow import field_errors
from flask_apierrors.problem import MISSING

from .support.marshmallow_errors import SETTINGS
from .support.marshmallow_errors import Account
from .support.marshmallow_errors import load_errors as _load_errors


@pytest.mark.parametrize(
    "name",
    ["password", "newPassword", "X-Api-Key", "access_token", "cardNumber", "session_id", "PASSWD"],
)
def test_credential_names_are_redacted(name: str) -> None:
    messages = {name: ["Not a valid string."], "profile": {name: ["Bad."]}}
    data = {name: ["hunter2"], "profile": {name: "hunter2"}}
    errors, _ = field_errors(messages, SETTINGS, data=data)
    assert [e.invalid_value for e in errors] == ["[REDACTED]", "[REDACTED]"]


@pytest.mark.parametrize(
    "name", ["model", "content", "title", "messages", "username", "max_tokens", "author"]
)
def test_other_names_are_echoed(name: str) -> None:
    errors, _ = field_errors({name: ["Bad."]}, SETTINGS, data={name: "plain"})
    assert errors[0].invalid_value == "plain"


def test_values_below_a_credential_name_are_redacted() -> None:
    messages = {"credentials": {0: {"user": ["Too short."]}}, "extra": ["Unknown field."]}
    data = {
        "credentials": [{"user": "u"}],
        "extra": {"note": "n", "token": "t0k3n", "deep": [{"Authorization": "Bearer x"}]},
    }
    errors, _ = field_errors(messages, SETTINGS, data=data)
    assert errors[0] == FieldError("credentials[0].user", "Too short.", "[REDACTED]")
    assert errors[1].invalid_value == {
        "note": "n",
        "token": "[REDACTED]",
        "deep": [{"Authorization": "[REDACTED]"}],
    }


def test_missing_credentials_stay_null() -> None:
    errors, _ = field_errors({"password": ["Missing data for required field."]}, SETTINGS, data={})
    assert errors == [FieldError("password", "Field required", MISSING)]


def test_redaction_is_configurable() -> None:
    settings = Settings(redact_fields=("pin",), redacted_value="***")
    messages = {"pin_code": ["Bad."], "password": ["Bad."]}
    errors, _ = field_errors(messages, settings, data={"pin_code": "1234", "password": "pw"})
    assert [e.invalid_value for e in errors] == ["***", "pw"]
    # A string, not a tuple, still means one fragment, and empty ones match nothing.
    settings = Settings(redact_fields=t.cast("tuple[str, ...]", "pin"))
    errors, _ = field_errors({"password": ["Bad."]}, settings, data={"password": "pw"})
    assert errors[0].invalid_value == "pw"
    settings = Settings(redact_fields=("", "-"))
    errors, _ = field_errors({"a": ["Bad."]}, settings, data={"a": "v"})
    assert errors[0].invalid_value == "v"


class Credentials(Schema):
    # On the wire "key" and "value": secret by their attribute names.
    api_key = fields.String(data_key="key", validate=validate.Length(min=10))
    client_secret = fields.String(data_key="value", validate=validate.Length(min=10))
    label = fields.String(attribute="session_token", validate=validate.Length(min=10))
    key_id = fields.String(data_key="keyId", validate=validate.Length(min=10))


class Wallet(Schema):
    account = fields.Nested(Credentials)

    @validates_schema
    def reject(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        raise ValidationError({"account": ["Rejected"]})


def test_attribute_names_count_as_much_as_names_on_the_wire() -> None:
    data = {"key": "k", "value": "v", "label": "l", "keyId": "id"}
    assert [(e["field"], e["invalid_value"]) for e in _load_errors(Credentials(), data)] == [
        ("key", "[REDACTED]"),
        ("value", "[REDACTED]"),
        ("label", "[REDACTED]"),
        ("keyId", "id"),
    ]
    # Inside an echoed object too.
    payload = {"account": {"key": "k" * 10, "value": "v" * 10, "keyId": "i" * 10}}
    assert _load_errors(Wallet(), payload)[0]["invalid_value"] == {
        "key": "[REDACTED]",
        "value": "[REDACTED]",
        "keyId": "i" * 10,
    }
    # Without the schema only the names on the wire are known.
    assert _load_errors(Credentials(), data, with_schema=False)[0]["invalid_value"] == "k"


class Signup(Schema):
    account = fields.Nested(Account)
    accounts = fields.List(fields.Nested(Account))
    codes = fields.Tuple((fields.String(load_only=True), fields.Integer()))
    labels = fields.Dict(values=fields.String(load_only=True, validate=validate.Length(max=2)))

    @validates_schema
    def check(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        raise ValidationError({"account": ["Account rejected"]})


def test_load_only_fields_are_redacted_where_the_schema_is_known() -> None:
    data = {
        "account": {"email": "nope", "pin": "12345", "recovery": {"name": 5}},
        "accounts": [{"email": "a@b.co", "pin": "9", "recovery": "r"}],
        "codes": [1, "x"],
        "labels": {"a": "long"},
    }
    errors = _load_errors(Signup(), data)
    assert errors == [
        {
            "field": "account.email",
            "message": "Not a valid email address.",
            "invalid_value": "nope",
        },
        {"field": "account.pin", "message": "Length must be 4.", "invalid_value": "[REDACTED]"},
        {
            "field": "account.recovery.name",
            "message": "Not a valid string.",
            "invalid_value": "[REDACTED]",
        },
        {"field": "accounts[0].pin", "message": "Length must be 4.", "invalid_value": "[REDACTED]"},
        {
            "field": "accounts[0].recovery",
            "message": "Invalid input type.",
            "invalid_value": "[REDACTED]",
        },
        {"field": "codes[0]", "message": "Not a valid string.", "invalid_value": "[REDACTED]"},
        {"field": "codes[1]", "message": "Not a valid integer.", "invalid_value": "x"},
        {
            "field": "labels.a",
            "message": "Longer than maximum length 2.",
            "invalid_value": "[REDACTED]",
        },
    ]


def test_load_only_values_inside_an_echoed_object_are_redacted() -> None:
    data = {
        "account": {"email": "a@b.co", "pin": "1234", "recovery": {"name": "r"}},
        "codes": ["c", 1],
        "labels": {"a": "b"},
    }
    errors = _load_errors(Signup(), data)
    assert errors == [
        {
            "field": "account",
            "message": "Account rejected",
            "invalid_value": {"email": "a@b.co", "pin": "[REDACTED]", "recovery": "[REDACTED]"},
        }
    ]
