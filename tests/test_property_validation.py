"""Property tests: hostile request data through :func:`flask_apierrors.use_schema`.

Whatever a client sends as JSON (any text, lone surrogates escaped, NaN,
integers past 64 bits, arrays and objects nested thousands deep, keys of any
text), as a query string or as bytes that are not JSON at all, the answer is
a 2xx or a 400 in every format, with and without ``problem_on_accept``: its
body is strict JSON in valid UTF-8 (:mod:`tests.support.hostile_values`),
and a scalar the schema refused is echoed in ``invalid_value`` as sent.
"""

from __future__ import annotations

import json
import math
import typing as t
import urllib.parse

import marshmallow as ma
import pytest
from flask import Flask
from flask import Request
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors import ApiErrors
from flask_apierrors import use_schema

from .support.hostile_values import as_text
from .support.hostile_values import check_body
from .support.hostile_values import error_parts
from .support.hostile_values import floats
from .support.hostile_values import integers
from .support.hostile_values import json_values
from .support.hostile_values import nested_json
from .support.hostile_values import texts

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue
    from werkzeug.test import TestResponse

FORMATS: t.Final = ("error", "error_code", "detail", "problem")
SETUPS: t.Final = [(f, on) for f in FORMATS for on in (True, False)]
#: The longest value echoed whole (the ``max_value_length`` default).
ECHOED_WHOLE: t.Final = 200


class Inner(ma.Schema):
    label = ma.fields.String(required=True, validate=ma.validate.Length(max=5))


class EchoSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(max=5))
    count = ma.fields.Integer()
    ratio = ma.fields.Float()
    tags = ma.fields.List(ma.fields.String())
    inner = ma.fields.Nested(Inner)
    when = ma.fields.Date()
    api_key = ma.fields.String()


class Tree(ma.Schema):
    """A schema that nests itself."""

    value = ma.fields.Integer()
    child = ma.fields.Nested(lambda: Tree())


_APPS: dict[tuple[str, bool], Flask] = {}


def validation_app(fmt: str, problem_on_accept: bool) -> Flask:
    key = (fmt, problem_on_accept)
    if key not in _APPS:
        app = Flask(f"validation_{fmt}_{problem_on_accept}")
        ApiErrors(app, format=fmt, problem_on_accept=problem_on_accept)

        @app.post("/echo")
        @use_schema(EchoSchema)
        def echo(data: dict[str, t.Any]) -> ResponseReturnValue:
            return {"ok": True}

        @app.get("/query")
        @use_schema({"name": ma.fields.String(validate=ma.validate.Length(max=5))}, "query")
        def query(data: dict[str, t.Any]) -> ResponseReturnValue:
            return {"ok": True}

        @app.post("/tree")
        @use_schema(Tree)
        def tree(data: dict[str, t.Any]) -> ResponseReturnValue:
            return {"ok": True}

        _APPS[key] = app
    return _APPS[key]


def post(setup: tuple[str, bool], path: str, body: bytes, accept: str | None) -> TestResponse:
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    return validation_app(*setup).test_client().post(path, data=body, headers=headers)


def check_answer(response: TestResponse) -> list[dict[str, t.Any]]:
    """A 200, or a JSON 400 with strict JSON; the validation errors."""
    assert response.status_code in (200, 400), response.get_data()
    body = check_body(response.get_data())
    if response.status_code == 200:
        assert body == {"ok": True}
        return []
    code, _, details = error_parts(body)
    assert code.lower() in ("validation_error", "invalid_json"), body
    assert response.mimetype in ("application/json", "application/problem+json")
    return list((details or {}).get("validation_errors", []))


def entry_for(errors: list[dict[str, t.Any]], field: str) -> dict[str, t.Any] | None:
    return next((e for e in errors if e["field"] == field), None)


def echoed(value: t.Any) -> t.Any:
    """How a refused scalar reads back in ``invalid_value``."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return as_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) > ECHOED_WHOLE:
        # Cut as a long text is.
        return str(value)[:ECHOED_WHOLE] + "...[truncated]"
    return value


setups = st.sampled_from(SETUPS)
accepts = st.sampled_from([None, "application/problem+json"])
scalars = st.none() | st.booleans() | integers | floats | texts


def dumps(value: t.Any, ascii_only: bool) -> bytes:
    """JSON as a client may send it: ``NaN`` literals, lone surrogates
    escaped (or, without escaping, as bytes that are not UTF-8)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@given(setup=setups, accept=accepts, value=scalars, ascii_only=st.booleans())
def test_a_refused_scalar_is_echoed_as_sent(
    setup: tuple[str, bool], accept: str | None, value: t.Any, ascii_only: bool
) -> None:
    body = dumps({"name": value}, ascii_only)
    errors = check_answer(post(setup, "/echo", body, accept))
    entry = entry_for(errors, "name")
    if entry is not None and not (isinstance(value, str) and len(value) > ECHOED_WHOLE):
        assert entry["invalid_value"] == echoed(value)


@given(setup=setups, accept=accepts, data=st.dictionaries(texts, json_values, max_size=6))
def test_any_object_with_any_keys(
    setup: tuple[str, bool], accept: str | None, data: dict[str, t.Any]
) -> None:
    errors = check_answer(post(setup, "/echo", dumps(data, True), accept))
    for entry in errors:
        assert set(entry) >= {"field", "message", "invalid_value"}


@given(
    setup=setups,
    data=st.fixed_dictionaries(
        {"name": json_values},
        optional={
            "count": json_values,
            "ratio": json_values,
            "tags": json_values,
            "inner": json_values,
            "when": json_values,
            "api_key": texts,
        },
    ),
)
def test_every_field_with_any_value(setup: tuple[str, bool], data: dict[str, t.Any]) -> None:
    errors = check_answer(post(setup, "/echo", dumps(data, True), None))
    secret = entry_for(errors, "api_key")
    if secret is not None:
        assert secret["invalid_value"] in ("[REDACTED]", None)


@given(
    setup=setups,
    depth=st.integers(min_value=1, max_value=6000),
    kind=st.sampled_from(["list", "dict"]),
    field=st.sampled_from(["name", "tags", "inner"]),
)
def test_json_nested_thousands_deep(
    setup: tuple[str, bool], depth: int, kind: str, field: str
) -> None:
    body = '{"%s":%s}' % (field, nested_json(depth, kind))  # noqa: UP031 - JSON braces
    check_answer(post(setup, "/echo", body.encode(), None))


@given(setup=setups, depth=st.integers(min_value=1, max_value=6000))
def test_a_self_nesting_schema_thousands_deep(setup: tuple[str, bool], depth: int) -> None:
    body = '{"child":' * depth + '{"value":"x"}' + "}" * depth
    check_answer(post(setup, "/tree", body.encode(), None))


@given(
    setup=setups,
    body=st.binary(max_size=300) | texts.map(lambda s: s.encode("utf-8", "surrogatepass")),
)
def test_bytes_that_are_not_json(setup: tuple[str, bool], body: bytes) -> None:
    check_answer(post(setup, "/echo", body, None))


@given(setup=setups, digits=st.integers(min_value=4000, max_value=20000))
def test_integers_of_thousands_of_digits(setup: tuple[str, bool], digits: int) -> None:
    body = b'{"name": ' + b"7" * digits + b"}"
    errors = check_answer(post(setup, "/echo", body, None))
    entry = entry_for(errors, "name")
    if entry is not None:
        assert isinstance(entry["invalid_value"], (int, str))


@given(setup=setups, accept=accepts, raw=st.binary(max_size=100))
def test_any_query_value_is_echoed_as_decoded(
    setup: tuple[str, bool], accept: str | None, raw: bytes
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    query = "name=" + urllib.parse.quote_from_bytes(raw, safe="")
    response = validation_app(*setup).test_client().get("/query?" + query, headers=headers)
    errors = check_answer(response)
    entry = entry_for(errors, "name")
    if entry is not None:
        # As Werkzeug decoded it (invalid UTF-8 stays percent-encoded).
        assert entry["invalid_value"] == Request.from_values("/?" + query).args["name"]


@pytest.mark.parametrize("depth", [900, 990, 1000, 2000, 5000, 100_000])
@pytest.mark.parametrize(
    ("path", "kind"), [("/echo", "list"), ("/echo", "dict"), ("/tree", "dict")]
)
def test_known_depths(depth: int, path: str, kind: str) -> None:
    if path == "/echo":
        body = '{"name":' + nested_json(depth, kind) + "}"
    else:
        body = '{"child":' * depth + "{}" + "}" * depth
    check_answer(post(("error", True), path, body.encode(), None))
