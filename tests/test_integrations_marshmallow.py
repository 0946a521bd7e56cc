"""marshmallow ``ValidationError`` -> ``validation_error``: paths, order,
required fields, redaction (names on the wire and attribute names),
truncation, the entry cap, depth, odd input, and no leaks."""

from __future__ import annotations

import json
import math
import time
import typing as t

import pytest
from flask import Flask
from flask import request
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema
from werkzeug.exceptions import NotFound

from flask_apierrors import FieldError
from flask_apierrors.catalog import Catalog
from flask_apierrors.config import Settings
from flask_apierrors.integrations import Context
from flask_apierrors.integrations.fielderrors import FIELD_ERROR_CODES
from flask_apierrors.integrations.fielderrors import MAX_MESSAGE_LENGTH
from flask_apierrors.integrations.fielderrors import TRUNCATION_MARKER
from flask_apierrors.integrations.marshmallow import RequestValidationError
from flask_apierrors.integrations.marshmallow import convert_validation_error
from flask_apierrors.integrations.marshmallow import field_errors
from flask_apierrors.integrations.marshmallow import flatten
from flask_apierrors.integrations.marshmallow import lookup
from flask_apierrors.integrations.marshmallow.flatten import MAX_SCHEMA_DEPTH
from flask_apierrors.problem import MISSING

from .conftest import MakeApp

SETTINGS = Settings()


def _ctx(**options: t.Any) -> Context:
    return Context(
        catalog=Catalog.default(),
        settings=Settings(**options),
        correlation_id="req_1",
        timestamp="2023-12-01T10:00:00Z",
        instance="/x",
    )


def _load_errors(
    schema: Schema, data: t.Any, *, settings: Settings = SETTINGS, with_schema: bool = True
) -> list[dict[str, t.Any]]:
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


# -- redaction ------------------------------------------------------------


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


class Account(Schema):
    email = fields.Email(required=True)
    pin = fields.String(load_only=True, validate=validate.Length(equal=4))
    recovery = fields.Nested(Tag, load_only=True)


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


# -- truncation -----------------------------------------------------------


def test_long_messages_are_cut() -> None:
    schema = Schema.from_dict(
        {"color": fields.String(validate=validate.OneOf(["red"], error="{input} is not a color"))}
    )()
    errors = _load_errors(schema, {"color": "c" * 50_000})
    assert errors[0]["message"] == "c" * MAX_MESSAGE_LENGTH + TRUNCATION_MARKER
    assert errors[0]["invalid_value"] == "c" * 200 + TRUNCATION_MARKER


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


class LazyText:
    def __str__(self) -> str:
        return "Translated message"


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


# -- depth and odd input --------------------------------------------------


class Tree(Schema):
    name = fields.String(validate=validate.Length(max=3))
    secret = fields.String(load_only=True, validate=validate.Length(max=3))
    child = fields.Nested(lambda: Tree())
    children = fields.List(fields.Nested(lambda: Tree()))


def _deep(depth: int, leaf: dict[str, t.Any], key: str = "child") -> dict[str, t.Any]:
    value = leaf
    for _ in range(depth):
        value = {key: value}
    return value


def test_a_schema_that_nests_itself() -> None:
    data = _deep(40, {"name": "long name", "secret": "hunter2"})
    data["children"] = [{"children": [{"name": "x"}, {"secret": "long secret"}]}]
    errors = _load_errors(Tree(), data)
    assert errors == [
        {
            "field": ".".join(["child"] * 40) + ".name",
            "message": "Longer than maximum length 3.",
            "invalid_value": "long name",
        },
        {
            "field": ".".join(["child"] * 40) + ".secret",
            "message": "Longer than maximum length 3.",
            "invalid_value": "[REDACTED]",
        },
        {
            "field": "children[0].children[1].secret",
            "message": "Longer than maximum length 3.",
            "invalid_value": "[REDACTED]",
        },
    ]


@pytest.mark.parametrize(
    ("depth", "echoed"),
    [(200, "long name"), (MAX_SCHEMA_DEPTH + 1, "[REDACTED]"), (20_000, "[REDACTED]")],
)
def test_messages_thousands_of_levels_deep(depth: int, echoed: str) -> None:
    # Built by hand: deeper than marshmallow itself could load. Past the
    # depth the schema is read at, nothing is echoed.
    messages = _deep(depth, {"name": ["Too long."]})
    data = _deep(depth, {"name": "long name", "secret": "s"})
    started = time.perf_counter()
    errors, total = field_errors(messages, SETTINGS, data=data, schema=Tree())
    assert time.perf_counter() - started < 2
    assert total == 1 and errors[0].invalid_value == echoed
    assert errors[0].field.endswith(TRUNCATION_MARKER)
    # A deep value is echoed cut where it gets too deep.
    errors, _ = field_errors({"child": ["Bad."]}, SETTINGS, data=data, schema=Tree())
    assert errors[0].invalid_value.startswith('{"child":{"child"')


def test_messages_that_contain_themselves_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flatten, "MAX_VISITS", 1000)
    loop: dict[str, t.Any] = {"a": ["Bad."]}
    loop["b"] = loop
    errors, total = field_errors(loop, Settings(max_validation_errors=5))
    assert len(errors) == 5 and total < 1000
    assert [e.field for e in errors][:2] == ["a", "b.a"]


def test_lone_surrogates_in_keys_values_and_messages(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/tree")
    def tree() -> dict[str, t.Any]:
        Tree().load(request.get_json())
        return {}

    body = '{"name": "\\ud800 long", "\\udc00key": {"\\ud83d": 1}}'
    response = app.test_client().post("/tree", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["details"]["validation_errors"] == [
        {
            "field": "name",
            "message": "Longer than maximum length 3.",
            "invalid_value": "\ud800 long",
        },
        {"field": "\udc00key", "message": "Unknown field.", "invalid_value": {"\ud83d": 1}},
    ]


# -- properties -----------------------------------------------------------

SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
TEXT = st.text(st.one_of(st.characters(), SURROGATES), max_size=6)
KEYS = st.one_of(TEXT, st.integers(-3, 30), st.just("_schema"), st.builds(object))
LEAVES = st.one_of(
    st.text(max_size=50),
    TEXT,
    st.none(),
    st.integers(),
    st.binary(max_size=5),
    st.builds(RuntimeError, st.text(max_size=5)),
    st.builds(object),
    st.builds(LazyText),
)
MESSAGES = st.recursive(
    st.lists(LEAVES, min_size=1, max_size=3),
    lambda children: st.one_of(
        st.dictionaries(KEYS, children, min_size=1, max_size=4),
        st.lists(children, max_size=3),
    ),
    max_leaves=30,
)
DATA = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=300), st.integers(), TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=30,
)


@given(messages=MESSAGES, data=DATA, cap=st.integers(0, 10), limit=st.integers(0, 50))
def test_any_messages_give_json_ready_bounded_entries(
    messages: t.Any, data: t.Any, cap: int, limit: int
) -> None:
    settings = Settings(max_validation_errors=cap, max_value_length=limit, field_error_codes=True)
    errors, total = field_errors(messages, settings, data=data, schema=Person())
    assert len(errors) <= cap and total >= len(errors)
    # ASCII JSON: lone surrogates escaped, as the app's encoder does.
    text = json.dumps([e.to_dict() for e in errors], allow_nan=False)
    assert " at 0x" not in text
    for error in errors:
        assert error.code in FIELD_ERROR_CODES
        assert len(error.message) <= MAX_MESSAGE_LENGTH + len(TRUNCATION_MARKER)
        value = error.invalid_value
        if isinstance(value, str):
            assert len(value) <= max(limit + len(TRUNCATION_MARKER), len("[REDACTED]"))
        if isinstance(value, float):
            assert math.isfinite(value)


def test_extension_handles_validation_error(app: Flask) -> None:
    assert ValidationError in app.error_handler_spec[None][None]


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


def test_an_unhashable_schema_is_read_every_time() -> None:
    errors = _load_errors(Unhashable(), {"name": 1, "x": 2})
    assert _fields_of(errors) == ["name", "x"]
