"""The :func:`use_schema` decorator: property tests over random payloads
(every answer a well-formed validation body, values echoed as sent, secrets
never echoed)."""

from __future__ import annotations

import json
import math
import re
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiErrors
from flask_apierrors import use_schema
from flask_apierrors.config import DEFAULT_REDACT_FIELDS
from flask_apierrors.integrations.redaction import fragments
from flask_apierrors.integrations.redaction import is_secret_name

from .support.validation_apps import MODELS
from .support.validation_apps import Message


class Options(Schema):
    seed = fields.Integer()
    stop = fields.List(fields.String(), validate=validate.Length(max=2))
    api_key = fields.String(load_only=True)


class Rich(Schema):
    messages = fields.List(
        fields.Nested(Message),
        required=True,
        validate=validate.Length(min=1, error="At least one message is required"),
    )
    model = fields.String(required=True, validate=validate.OneOf(MODELS))
    temperature = fields.Float(validate=validate.Range(min=0, max=2))
    options = fields.Nested(Options)
    tags = fields.Dict(keys=fields.String(validate=validate.Length(max=5)), values=fields.Integer())
    pair = fields.Tuple((fields.Integer(), fields.String()))
    password = fields.String(load_only=True)


NAMES = ["messages", "model", "temperature", "options", "tags", "pair", "password", "role"]
NAMES += ["content", "seed", "stop", "api_key"]
KEYS = st.one_of(st.sampled_from(NAMES), st.text(max_size=8))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=30),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)
PAYLOADS = st.one_of(st.dictionaries(KEYS, JSON_VALUES, max_size=8), JSON_VALUES)

_PATH_TOKEN = re.compile(r'\.?([^\s.\[\]"\'\\]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_path(field: str) -> list[str | int]:
    """The segments of a ``field`` path (the documented syntax)."""
    segments: list[str | int] = []
    pos = 0
    while pos < len(field):
        match = _PATH_TOKEN.match(field, pos)
        assert match is not None, f"bad path {field!r} at {pos}"
        name, index, quoted = match.groups()
        if name is not None:
            assert pos == 0 or field[pos] == ".", field
            segments.append(name)
        elif index is not None:
            segments.append(int(index))
        else:
            segments.append(json.loads(quoted))
        pos = match.end()
    return segments


_NOTHING = object()


def in_payload(payload: t.Any, path: list[str | int]) -> t.Any:
    cur = payload
    for seg in path:
        if isinstance(seg, int) and isinstance(cur, list) and 0 <= seg < len(cur):
            cur = cur[seg]
        elif isinstance(seg, str) and isinstance(cur, dict) and seg in cur:
            cur = cur[seg]
        else:
            return _NOTHING
    return cur


def in_schema(schema: Schema, path: list[str | int]) -> bool:
    field: t.Any = None
    current: t.Any = schema
    for seg in path:
        if isinstance(current, Schema) and isinstance(seg, str) and seg in current.fields:
            field = current.fields[seg]
        elif isinstance(current, fields.List) and isinstance(seg, int):
            field = current.inner
        elif isinstance(current, fields.Tuple) and isinstance(seg, int):
            field = current.tuple_fields[seg]
        elif isinstance(current, fields.Dict) and isinstance(seg, str):
            field = current.value_field
        else:
            return False
        current = field.schema if isinstance(field, fields.Nested) else field
    return True


MARKER = "...[truncated]"
_FRAGMENTS = fragments(DEFAULT_REDACT_FIELDS)


def is_secret(name: str | int) -> bool:
    # The rule itself is tested name by name in test_integrations_redaction.
    return isinstance(name, str) and is_secret_name(name, _FRAGMENTS)


def echoes(sent: t.Any, echoed: t.Any, secret: bool) -> bool:
    """Whether ``echoed`` is what may be echoed of ``sent``: the value, with
    secrets redacted, non-finite numbers as text, long values cut."""
    if secret:
        return bool(echoed == "[REDACTED]")
    if isinstance(echoed, str) and echoed.endswith(MARKER) and len(echoed) == 200 + len(MARKER):
        return not isinstance(sent, str) or echoed == sent[:200] + MARKER
    if isinstance(sent, float) and not math.isfinite(sent):
        return echoed in ("NaN", "Infinity", "-Infinity")
    if isinstance(sent, dict):
        return (
            isinstance(echoed, dict)
            and list(echoed) == list(sent)
            and all(echoes(sent[k], echoed[k], is_secret(k)) for k in sent)
        )
    if isinstance(sent, list):
        return (
            isinstance(echoed, list)
            and len(sent) == len(echoed)
            and all(echoes(a, b, False) for a, b in zip(sent, echoed, strict=True))
        )
    return type(sent) is type(echoed) and bool(sent == echoed)


@pytest.fixture(scope="module")
def rich_client() -> FlaskClient:
    app = Flask("property_app")
    app.config["TESTING"] = True
    # Echoed values keep the client's key order when the app does not sort.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    ApiErrors(app)

    @app.post("/rich")
    @use_schema(Rich)
    def rich(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"ok": True}

    return app.test_client()


@given(payload=PAYLOADS)
def test_random_payloads_give_validation_bodies(rich_client: FlaskClient, payload: t.Any) -> None:
    response = rich_client.post("/rich", data=json.dumps(payload), content_type="application/json")
    assert response.status_code in (200, 400)
    body = response.get_json()
    if response.status_code == 200:
        assert body == {"ok": True}
        return
    assert body["error"] == "validation_error"
    assert body["message"] == "Request validation failed"
    errors = body["details"]["validation_errors"]
    assert 1 <= len(errors) <= 100
    for error in errors:
        assert set(error) == {"field", "message", "invalid_value"}
        assert isinstance(error["message"], str) and error["message"]
        echoed = error["invalid_value"]
        if error["field"] == "_schema":
            # Rich has no schema validator: only a body that is no object.
            assert not isinstance(payload, dict)
            assert echoed is None
            continue
        path = parse_path(error["field"])
        value = in_payload(payload, path)
        if value is _NOTHING:
            # Not sent: a field of the schema, under an object that was sent.
            assert in_schema(Rich(), path), error
            assert isinstance(in_payload(payload, path[:-1]), dict), error
            assert echoed is None
        else:
            secret = any(is_secret(s) for s in path)
            # A mapping key that failed its own validation echoes the key.
            assert echoes(value, echoed, secret) or echoed == path[-1], error


@given(
    password=st.text(min_size=1, max_size=20),
    api_key=st.text(min_size=1, max_size=20),
    extra=JSON_VALUES,
)
def test_secrets_never_come_back(
    rich_client: FlaskClient, password: str, api_key: str, extra: t.Any
) -> None:
    secret_password = "pw-" + password + "-SECRET"
    secret_key = "ak-" + api_key + "-SECRET"
    payload = {
        "model": 1,
        "password": [secret_password],
        "options": {"api_key": {"v": secret_key}, "seed": "x", "other": extra},
        "messages": [{"role": "user", "content": "x", "token": secret_key}],
        "unknown": {"Authorization": secret_password, "nested": [{"client_secret": secret_key}]},
    }
    response = rich_client.post("/rich", json=payload)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "-SECRET" not in text
    assert "[REDACTED]" in text


def test_nan_and_infinity_values_are_echoed_as_text(rich_client: FlaskClient) -> None:
    response = rich_client.post(
        "/rich",
        data='{"model": "Melanie-3", "messages": [], "temperature": NaN, "pair": [Infinity, 1]}',
        content_type="application/json",
    )
    errors = response.get_json()["details"]["validation_errors"]
    assert {e["field"]: e["invalid_value"] for e in errors} == {
        "messages": [],
        "temperature": "NaN",
        "pair[0]": "Infinity",
        "pair[1]": 1,
    }
