"""The machine code of each marshmallow failure (``field_error_codes``):
from the field's error messages, its validators, the schema, and
marshmallow's defaults when no schema is known."""

from __future__ import annotations

import enum
import typing as t

import pytest
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from flask_apierrors.config import Settings
from flask_apierrors.integrations.fielderrors import FIELD_ERROR_CODES
from flask_apierrors.integrations.marshmallow import field_errors
from flask_apierrors.integrations.marshmallow.codes import KEY_CODES
from flask_apierrors.integrations.marshmallow.codes import VALIDATOR_CODES
from flask_apierrors.integrations.marshmallow.codes import fits

from .conftest import MakeApp

CODES = Settings(field_error_codes=True)


class Color(enum.Enum):
    RED = "red"


def _nope(value: t.Any) -> None:
    raise ValidationError("Nope, {input}")


def _codes(field: fields.Field[t.Any], value: t.Any) -> list[tuple[str, str | None]]:
    schema = Schema.from_dict({"f": field})()
    data = {} if value is ... else {"f": value}
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    errors, _ = field_errors(info.value.messages, CODES, data=data, schema=schema)
    return [(e.message, e.code) for e in errors]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        (fields.String(required=True), ..., "required"),
        (fields.String(required=True, error_messages={"required": "Say it"}), ..., "required"),
        (fields.String(), None, "null"),
        (fields.String(), 5, "invalid_type"),
        (fields.Integer(), "x", "invalid_type"),
        (fields.Integer(error_messages={"invalid": "A number, {input}?"}), "x", "invalid_type"),
        (fields.Boolean(), "maybe", "invalid_type"),
        (fields.List(fields.Integer()), "x", "invalid_type"),
        (fields.Nested(Schema.from_dict({"a": fields.Int()})), "x", "invalid_type"),
        (fields.Email(), "nope", "invalid_format"),
        (fields.Email(), 5, "invalid_type"),
        (fields.Url(), "nope", "invalid_format"),
        (fields.UUID(), "nope", "invalid_format"),
        (fields.Date(), "nope", "invalid_format"),
        (fields.DateTime(), "nope", "invalid_format"),
        (fields.IPv4(), "nope", "invalid_format"),
        (fields.Enum(Color, by_value=True), "blue", "invalid_choice"),
        (fields.Float(allow_nan=False), "nan", "invalid"),
        (fields.String(validate=validate.Length(max=3)), "long", "too_long"),
        (fields.String(validate=validate.Length(min=3)), "ab", "too_short"),
        (fields.String(validate=validate.Length(1, 3)), "long", "too_long"),
        (fields.String(validate=validate.Length(equal=4)), "abc", "too_short"),
        (fields.String(validate=validate.Length(equal=4)), "abcde", "too_long"),
        (
            fields.List(fields.Raw(), validate=validate.Length(min=1, error="At least one")),
            [],
            "too_short",
        ),
        (fields.Integer(validate=validate.Range(min=1)), 0, "out_of_range"),
        (fields.Float(validate=validate.Range(0, 2, error="Bad: {input}")), 3, "out_of_range"),
        (
            fields.String(validate=validate.OneOf(["a"], error="Must be one of: {choices}")),
            "b",
            "invalid_choice",
        ),
        (fields.String(validate=validate.NoneOf(["a"])), "a", "invalid_choice"),
        (fields.List(fields.Str(), validate=validate.ContainsOnly(["a"])), ["b"], "invalid_choice"),
        (fields.String(validate=validate.Regexp(r"^\d+$")), "x", "invalid_format"),
        (fields.String(validate=validate.Equal("a")), "b", "invalid"),
        (fields.String(validate=validate.Predicate("isdigit")), "x", "invalid"),
        (fields.String(validate=_nope), "x", "invalid"),
        (fields.String(validate=validate.And(validate.Length(max=1), _nope)), "xy", "too_long"),
    ],
)
def test_field_codes(field: fields.Field[t.Any], value: t.Any, code: str) -> None:
    assert _codes(field, value)[0][1] == code


def test_every_message_of_a_field_gets_its_code() -> None:
    field = fields.String(validate=[validate.Length(max=2), validate.OneOf(["ab"])])
    assert [code for _, code in _codes(field, "xyz")] == ["too_long", "invalid_choice"]


class Pair(Schema):
    tags = fields.Dict(keys=fields.String(validate=validate.Length(max=3)), values=fields.Int())
    low = fields.Integer()
    high = fields.Integer()

    @validates_schema
    def low_not_above_high(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        if data.get("low", 0) > data.get("high", 0):
            raise ValidationError("low must not exceed high")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"zzz": 1}, [("zzz", "unknown_field")]),
        ([1], [("_schema", "invalid_type")]),
        ({"low": 2, "high": 1}, [("_schema", "invalid")]),
        ({"tags": {"long": "x"}}, [("tags.long", "too_long"), ("tags.long", "invalid_type")]),
    ],
)
def test_schema_codes(data: t.Any, expected: list[tuple[str, str]]) -> None:
    with pytest.raises(ValidationError) as info:
        Pair().load(data)
    errors, _ = field_errors(info.value.messages, CODES, data=data, schema=Pair())
    assert [(e.field, e.code) for e in errors] == expected


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Missing data for required field.", "required"),
        ("Field may not be null.", "null"),
        ("Not a valid integer.", "invalid_type"),
        ("Not a valid email address.", "invalid_format"),
        ("Not a valid datetime.", "invalid_format"),
        ("Shorter than minimum length 3.", "too_short"),
        ("Longer than maximum length 3.", "too_long"),
        ("Must be greater than or equal to 1.", "out_of_range"),
        ("Must be one of: a, b.", "invalid_choice"),
        ("String does not match expected pattern.", "invalid_format"),
        ("Unknown field.", "unknown_field"),
        ("Invalid input.", "invalid"),
        ("Name already taken", "invalid"),
    ],
)
def test_codes_without_a_schema_come_from_marshmallows_defaults(message: str, code: str) -> None:
    errors, _ = field_errors({"f": [message]}, CODES, data={"f": "x"})
    assert errors[0].code == code


@pytest.mark.parametrize(
    ("template", "message", "expected"),
    [
        ("Must be one of: {choices}.", "Must be one of: a, b.", True),
        ("Must be one of: {choices}.", "Must be one of: a, b", False),
        ("{input} is bad", "x is bad", True),
        ("{input} is bad", "is bad", False),
        ("Between {min} and {max}.", "Between 1 and 2.", True),
        ("Between {min} and {max}.", "Between 1 or 2.", False),
        ("Braces {{kept}}", "Braces {kept}", True),
        ("Broken {", "Broken {", True),
        ("Broken {", "Broken", False),
        ("A", None, False),
    ],
)
def test_fits(template: str, message: t.Any, expected: bool) -> None:
    assert fits(template, message) is expected


def test_fits_is_linear() -> None:
    # A message built to make a regex backtrack: the literal parts are found once.
    assert not fits("{a}x{b}x{c}x{d}y", "x" * 100_000)


def test_every_code_is_a_documented_one() -> None:
    used = set(KEY_CODES.values()) | {code for _, code in VALIDATOR_CODES}
    assert used <= set(FIELD_ERROR_CODES)


@pytest.mark.parametrize(("codes", "member"), [(False, None), (True, "required")])
def test_codes_are_rendered_only_with_the_setting(
    make_app: MakeApp, codes: bool, member: str | None
) -> None:
    app, _ = make_app(field_error_codes=codes)
    schema = Schema.from_dict({"n": fields.Integer(required=True)})

    @app.post("/n")
    def view() -> dict[str, t.Any]:
        schema().load({})
        return {}

    (error,) = app.test_client().post("/n").get_json()["details"]["validation_errors"]
    assert error.get("code") == member
    assert set(error) == {"field", "message", "invalid_value"} | ({"code"} if codes else set())
