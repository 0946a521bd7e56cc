"""The :func:`use_schema` decorator: bounded answers to large, deep and
long payloads (the entry cap, nesting depth, truncated values)."""

from __future__ import annotations

import time
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiErrors
from flask_apierrors import use_schema
from flask_apierrors.validation import TOO_DEEP_MESSAGE

from .conftest import MakeApp
from .support.validation_apps import HELLO
from .support.validation_apps import chat_app as _chat_app


class Numbers(Schema):
    values = fields.List(fields.Integer(), required=True)


def test_ten_thousand_invalid_items_give_a_bounded_body(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/numbers")
    @use_schema(Numbers)
    def numbers(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {}

    payload = {"values": [f"not-a-number-{i}" for i in range(10_000)]}
    client = app.test_client()
    started = time.perf_counter()
    response = client.post("/numbers", json=payload)
    elapsed = time.perf_counter() - started
    body = response.get_json()
    errors = body["details"]["validation_errors"]
    assert len(errors) == 100
    assert body["details"]["total_errors"] == 10_000
    assert [e["field"] for e in errors[:2]] == ["values[0]", "values[1]"]
    assert errors[-1] == {
        "field": "values[99]",
        "message": "Not a valid integer.",
        "invalid_value": "not-a-number-99",
    }
    assert len(response.data) < 12_000
    assert elapsed < 5


class Tree(Schema):
    name = fields.String(validate=validate.Length(max=3))
    pin = fields.String(load_only=True, validate=validate.Length(equal=4))
    child = fields.Nested(lambda: Tree())
    children = fields.List(fields.Nested(lambda: Tree()))


def _tree_client(make_app: MakeApp, **options: t.Any) -> FlaskClient:
    app, _ = make_app(**options)

    @app.post("/tree")
    @use_schema(Tree)
    def tree(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"ok": True}

    return app.test_client()


def _nested_json(depth: int, leaf: str) -> str:
    return '{"child": ' * depth + leaf + "}" * depth


@pytest.mark.parametrize(
    ("depth", "status", "error", "entry"),
    [
        (
            30,
            400,
            "validation_error",
            {
                "field": ".".join(["child"] * 30) + ".pin",
                "message": "Length must be 4.",
                "invalid_value": "[REDACTED]",
                "code": "too_short",
            },
        ),
        # Parsed, but deeper than marshmallow can load a schema that nests itself.
        (
            600,
            400,
            "validation_error",
            {
                "field": "_schema",
                "message": TOO_DEEP_MESSAGE,
                "invalid_value": None,
                "code": "invalid",
            },
        ),
        # Deeper than Python's JSON parser goes.
        (5_000, 400, "invalid_json", None),
    ],
)
def test_deep_payloads_are_client_errors(
    make_app: MakeApp, depth: int, status: int, error: str, entry: dict[str, t.Any] | None
) -> None:
    client = _tree_client(make_app, field_error_codes=True)
    body = _nested_json(depth, '{"pin": "123"}')
    response = client.post("/tree", data=body, content_type="application/json")
    assert (response.status_code, response.get_json()["error"]) == (status, error)
    if entry is not None:
        assert response.get_json()["details"]["validation_errors"] == [entry]


@given(depth=st.integers(0, 2_000), leaf=st.sampled_from(['"x"', "[1]", '{"name": 5}', "null"]))
@hypothesis_settings(max_examples=25, deadline=None)
def test_no_nesting_gives_a_server_error(depth: int, leaf: str) -> None:
    app = Flask("deep_app")
    app.config["TESTING"] = True
    ApiErrors(app)

    @app.post("/tree")
    @use_schema(Tree)
    def tree(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"ok": True}

    body = _nested_json(depth, leaf)
    response = app.test_client().post("/tree", data=body, content_type="application/json")
    assert response.status_code in (200, 400)
    assert response.get_json() is not None


def test_huge_string_value_is_truncated(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions", json={"model": "m" * 1_000_000, "messages": HELLO}
    )
    errors = response.get_json()["details"]["validation_errors"]
    assert errors[0]["invalid_value"] == "m" * 200 + "...[truncated]"
    assert len(response.data) < 2_000
