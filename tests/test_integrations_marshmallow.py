"""marshmallow ``ValidationError`` -> ``validation_error`` entries: paths,
the order of entries, required fields, and how schemas are read."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields

from flask_apierrors.integrations.marshmallow import field_errors
from flask_apierrors.integrations.marshmallow import lookup
from flask_apierrors.problem import MISSING

from .support.marshmallow_errors import SETTINGS
from .support.marshmallow_errors import Person
from .support.marshmallow_errors import Tag
from .support.marshmallow_errors import load_errors as _load_errors
from .support.versions import older_than

# marshmallow before 3.21.3 caches every schema it loads with (functools'
# lru_cache): it keeps them alive, and cannot load with an unhashable one.
_SCHEMAS_CACHED = pytest.mark.skipif(
    older_than("marshmallow", "3.21.3"),
    reason="marshmallow < 3.21.3 caches the schemas it loads with",
)


def _fields_of(errors: list[dict[str, t.Any]]) -> list[str]:
    return [e["field"] for e in errors]


# -- paths ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"a": [{"b": 1}]}, ("a", 0, "b"), 1),
        ({"a": [{"b": 1}]}, ("a", 1, "b"), MISSING),
        ({"a": [{"b": 1}]}, ("a", -1), MISSING),
        ({"a": None}, ("a",), None),
        ({"a": None}, ("a", "b"), MISSING),
        ([5, 6], (1,), 6),
        ("text", (0,), MISSING),
        ({"0": "x"}, (0,), MISSING),
    ],
)
def test_lookup(data: t.Any, path: tuple[str | int, ...], expected: t.Any) -> None:
    assert lookup(data, path) == expected


# -- schema shapes and order ----------------------------------------------


def test_order_follows_the_schema_whole_object_first_unknown_last() -> None:
    data = {
        "unknown_b": 1,
        "age": 3,
        "name": 5,
        "zeta": "z",
        "unknown_a": 2,
    }
    errors = _load_errors(Person(), data)
    assert _fields_of(errors) == ["_schema", "zeta", "name", "unknown_b", "unknown_a"]
    assert [e["message"] for e in errors][-1] == "Unknown field."
    errors = _load_errors(Person(), {"name": "n", "age": 3, "nickname": None})
    assert errors == [
        {"field": "_schema", "message": "Must be an adult", "invalid_value": None},
        {"field": "nickname", "message": "Field may not be null.", "invalid_value": None},
    ]


def test_nested_shapes() -> None:
    data = {
        "name": "n",
        "address": {"city": "Atlantis", "zip": "123"},
        "addresses": [{"city": "Rome"}, {"zip": "1"}, "not an object"],
        "friends": [{"name": "f", "age": "old"}, {}],
        "scores": {"math": 1, "history": "x"},
        "point": [1, "north"],
        "tag_names": ["a", 5],
        "main_tag": 7,
    }
    errors = _load_errors(Person(), data)
    assert errors == [
        {"field": "address.zip", "message": "Length must be 5.", "invalid_value": "123"},
        {"field": "addresses[1].city", "message": "Field required", "invalid_value": None},
        {"field": "addresses[1].zip", "message": "Length must be 5.", "invalid_value": "1"},
        {
            "field": "addresses[2]",
            "message": "Invalid input type.",
            "invalid_value": "not an object",
        },
        {"field": "friends[0].age", "message": "Not a valid integer.", "invalid_value": "old"},
        {"field": "friends[1].name", "message": "Name is required", "invalid_value": None},
        {
            "field": "scores.math",
            "message": "Longer than maximum length 3.",
            "invalid_value": "math",
        },
        {
            "field": "scores.history",
            "message": "Longer than maximum length 3.",
            "invalid_value": "history",
        },
        {"field": "scores.history", "message": "Not a valid integer.", "invalid_value": "x"},
        {"field": "point[1]", "message": "Not a valid number.", "invalid_value": "north"},
        {"field": "tag_names[1]", "message": "Not a valid string.", "invalid_value": 5},
        {"field": "main_tag", "message": "Not a valid string.", "invalid_value": 7},
    ]


def test_nested_whole_object_error_is_reported_at_its_path() -> None:
    errors = _load_errors(Person(), {"name": "n", "address": {"city": "Atlantis", "zip": "12345"}})
    assert errors == [
        {
            "field": "address",
            "message": "Unknown city",
            "invalid_value": {"city": "Atlantis", "zip": "12345"},
        }
    ]


def test_many_schema_and_list_indexes_in_numeric_order() -> None:
    data = [{"name": "a"}] * 9 + [{"name": 1}, {"name": 2}, {}]
    errors = _load_errors(Tag(many=True), data)
    assert _fields_of(errors) == ["[9].name", "[10].name", "[11].name"]
    messages = {"addresses": {10: {"city": ["x"]}, 9: {"city": ["y"]}, 2: {"city": ["z"]}}}
    found, _ = field_errors(messages, SETTINGS, schema=Person())
    assert [e.field for e in found] == [
        "addresses[2].city",
        "addresses[9].city",
        "addresses[10].city",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Name is required"),
        ({"name": None}, "Field may not be null."),
    ],
)
def test_custom_required_message_is_kept(data: dict[str, t.Any], message: str) -> None:
    assert _load_errors(Person(), data) == [
        {"field": "name", "message": message, "invalid_value": None}
    ]


def test_default_required_message_reads_field_required() -> None:
    errors = _load_errors(Tag(), {})
    assert errors == [{"field": "name", "message": "Field required", "invalid_value": None}]


def test_without_schema_messages_keep_their_order() -> None:
    errors = _load_errors(Person(), {"age": -1, "zeta": "x"}, with_schema=False)
    assert _fields_of(errors) == ["zeta", "name", "age"]


# -- the extension, reading schemas -------------------------------------


def test_extension_handles_validation_error(app: Flask) -> None:
    assert ValidationError in app.error_handler_spec[None][None]


@_SCHEMAS_CACHED
def test_a_schema_is_read_once_and_forgotten_with_it() -> None:
    import gc
    import weakref

    from flask_apierrors.integrations.marshmallow import node_for_schema

    schema = Person()
    node = node_for_schema(schema)
    assert node_for_schema(schema) is node
    assert node_for_schema(Person()) is not node  # per instance, not per class
    assert node_for_schema(Person(many=True)).item is not node
    first = _load_errors(schema, {"name": 5, "zeta": 1, "age": 3})
    assert _load_errors(schema, {"name": 5, "zeta": 1, "age": 3}) == first
    gone = weakref.ref(schema)
    del schema, node
    gc.collect()
    assert gone() is None


class Unhashable(Schema):
    """A schema class that defines equality (and so no hash)."""

    name = fields.String(required=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unhashable)

    __hash__ = None  # type: ignore[assignment]


@_SCHEMAS_CACHED
def test_an_unhashable_schema_is_read_every_time() -> None:
    errors = _load_errors(Unhashable(), {"name": 1, "x": 2})
    assert _fields_of(errors) == ["name", "x"]
