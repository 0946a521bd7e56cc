"""The schemas and the loader of field errors that
tests/test_integrations_marshmallow*.py share: a load that fails, its
messages turned into entries (as dicts)."""

from __future__ import annotations

import typing as t

import pytest
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from flask_apierrors.config import Settings
from flask_apierrors.integrations.marshmallow import field_errors

SETTINGS = Settings()


def load_errors(
    schema: Schema, data: t.Any, *, settings: Settings = SETTINGS, with_schema: bool = True
) -> list[dict[str, t.Any]]:
    """The entries (as dicts) of ``schema`` failing to load ``data``."""
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    errors, total = field_errors(
        info.value.messages,
        settings,
        data=info.value.data,
        schema=schema if with_schema else None,
    )
    assert total >= len(errors)
    return [e.to_dict() for e in errors]


class Address(Schema):
    city = fields.String(required=True)
    zip_code = fields.String(data_key="zip", validate=validate.Length(equal=5))

    @validates_schema
    def not_atlantis(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        if data.get("city") == "Atlantis":
            raise ValidationError("Unknown city")


class Tag(Schema):
    name = fields.String(required=True)


class Person(Schema):
    # Declared out of alphabetical order on purpose: entries follow it.
    zeta = fields.Integer()
    name = fields.String(required=True, error_messages={"required": "Name is required"})
    age = fields.Integer(validate=validate.Range(min=0))
    address = fields.Nested(Address)
    addresses = fields.List(fields.Nested(Address))
    friends = fields.Nested("Person", many=True, exclude=("friends",))
    scores = fields.Dict(keys=fields.String(validate=validate.Length(max=3)), values=fields.Int())
    point = fields.Tuple((fields.Float(), fields.Float()))
    tag_names = fields.Pluck(Tag, "name", many=True)
    main_tag = fields.Pluck(Tag, "name")
    nickname = fields.String(allow_none=False)

    @validates_schema(skip_on_field_errors=False)
    def adult(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        if data.get("age", 99) < 18:
            raise ValidationError("Must be an adult")


class Account(Schema):
    email = fields.Email(required=True)
    pin = fields.String(load_only=True, validate=validate.Length(equal=4))
    recovery = fields.Nested(Tag, load_only=True)


class LazyText:
    """A message that is no ``str`` but reads as one (a lazy translation)."""

    def __str__(self) -> str:
        return "Translated message"
