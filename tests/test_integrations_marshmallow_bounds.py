"""marshmallow ``ValidationError`` -> ``validation_error``: bounded
entries (truncation, depth, messages that contain themselves), odd input,
and property tests over any messages and data."""

from __future__ import annotations

import json
import math
import time
import typing as t

import pytest
from flask import request
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors.config import Settings
from flask_apierrors.integrations.fielderrors import FIELD_ERROR_CODES
from flask_apierrors.integrations.fielderrors import MAX_MESSAGE_LENGTH
from flask_apierrors.integrations.fielderrors import TRUNCATION_MARKER
from flask_apierrors.integrations.marshmallow import field_errors
from flask_apierrors.integrations.marshmallow import flatten
from flask_apierrors.integrations.marshmallow.flatten import MAX_SCHEMA_DEPTH

from .conftest import MakeApp
from .support.marshmallow_errors import SETTINGS
from .support.marshmallow_errors import LazyText
from .support.marshmallow_errors import Person
from .support.marshmallow_errors import load_errors as _load_errors

# -- truncation -----------------------------------------------------------


def test_long_messages_are_cut() -> None:
    schema = Schema.from_dict(
        {"color": fields.String(validate=validate.OneOf(["red"], error="{input} is not a color"))}
    )()
    errors = _load_errors(schema, {"color": "c" * 50_000})
    assert errors[0]["message"] == "c" * MAX_MESSAGE_LENGTH + TRUNCATION_MARKER
    assert errors[0]["invalid_value"] == "c" * 200 + TRUNCATION_MARKER


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
