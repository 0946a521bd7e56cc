"""Hostile input on write routes: random bodies and content types on every
write route of the input app and of the example app must never give a 5xx
or a body that is not JSON. The input app and its fixtures are shared with
test_reliability_input_ids (hostile correlation-id headers)."""

from __future__ import annotations

import io
import json
import re
import typing as t

import marshmallow as ma
import pytest
from flask import Flask
from flask import request
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors import ApiErrors
from flask_apierrors.correlation import VALID_ID
from flask_apierrors.validation import use_schema

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from flask.typing import ResponseReturnValue
    from werkzeug.test import TestResponse

#: Statuses a write route may answer to any body and content type.
WRITE_STATUSES: t.Final = frozenset({400, 401, 403, 413, 415, 422, 429})


class MessageSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["user", "assistant"]))
    content = ma.fields.String(required=True, validate=ma.validate.Length(min=1))


class ChatSchema(ma.Schema):
    model = ma.fields.String(
        required=True, validate=ma.validate.OneOf(["Melanie-3", "Melanie-3-light"])
    )
    messages = ma.fields.List(ma.fields.Nested(MessageSchema), required=True)
    max_tokens = ma.fields.Integer(validate=ma.validate.Range(1, 4096))
    temperature = ma.fields.Float(validate=ma.validate.Range(0.0, 2.0))
    api_key = ma.fields.String(load_only=True)


class FormSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    tags = ma.fields.List(ma.fields.String())
    count = ma.fields.Integer()


class FileSchema(ma.Schema):
    file = ma.fields.Raw(required=True)


def create_input_app() -> Flask:
    """Write routes of every kind, a 512-byte body limit (so 413s happen)."""
    app = Flask("input_app")
    app.config.update(MAX_CONTENT_LENGTH=512)
    ApiErrors(app, log_client_errors=True)

    @app.get("/ok")
    def ok() -> ResponseReturnValue:
        return {"ok": True}

    @app.get("/boom")
    def boom() -> ResponseReturnValue:
        raise RuntimeError("boom")

    @app.post("/chat")
    @use_schema(ChatSchema)
    def chat(data: dict[str, t.Any]) -> ResponseReturnValue:
        return {"model": data["model"]}, 201

    @app.put("/form")
    @use_schema(FormSchema, "form")
    def form(data: dict[str, t.Any]) -> ResponseReturnValue:
        return {"name": data["name"]}

    @app.post("/files")
    @use_schema(FileSchema, "files")
    def files(data: dict[str, t.Any]) -> ResponseReturnValue:
        return {"size": len(data["file"].read())}, 201

    @app.patch("/raw-json")
    def raw_json() -> ResponseReturnValue:
        body = request.get_json()
        return {"type": type(body).__name__}

    @app.post("/raw-form")
    def raw_form() -> ResponseReturnValue:
        return {"keys": sorted(request.form), "files": sorted(request.files)}

    @app.delete("/items/<int:item_id>")
    def delete_item(item_id: int) -> ResponseReturnValue:
        return "", 204

    return app


@pytest.fixture(scope="module")
def input_app() -> Flask:
    return create_input_app()


@pytest.fixture
def client(input_app: Flask) -> FlaskClient:
    return input_app.test_client()


# -- random bodies on write routes -----------------------------------------------------

#: (method, path) of every write route of the input app.
WRITE_ROUTES: t.Final = [
    ("POST", "/chat"),
    ("PUT", "/form"),
    ("POST", "/files"),
    ("PATCH", "/raw-json"),
    ("POST", "/raw-form"),
    ("DELETE", "/items/1"),
]

CONTENT_TYPES: t.Final = [
    None,
    "",
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json; charset=nonsense",
    "application/problem+json",
    "application/vnd.api+json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data; boundary=" + "b" * 200,
    "text/plain",
    "text/html",
    "image/png",
    "*/*",
    "json",
    "application/",
    ";;;",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

near_valid_chat = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["Melanie-3", "Melanie-3-light", "", "x"]) | json_values,
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant", "x"]),
                    "content": st.text(max_size=5),
                }
            )
            | json_values,
            max_size=3,
        )
        | json_values,
    },
    optional={"max_tokens": json_values, "temperature": json_values, "api_key": json_values},
)


def _multipart(boundary: str, parts: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    for name, content in parts:
        out.write(f"--{boundary}\r\n".encode())
        out.write(
            f'Content-Disposition: form-data; name="{name}"; filename="{name}.bin"\r\n'.encode()
        )
        out.write(b"Content-Type: application/octet-stream\r\n\r\n")
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


bodies = st.one_of(
    st.binary(max_size=700),
    st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_valid_chat.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(
        lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8")
    ),
    st.lists(
        st.tuples(st.sampled_from(["file", "name", "x"]), st.binary(max_size=100)), max_size=3
    ).map(lambda parts: _multipart("xyz", parts)),
    st.sampled_from(
        [b"{", b"[1,", b'{"a": NaN}', b"\xff\xfe{}", b"\x00" * 10, b'"\\ud800"', b"1e999"]
    ),
)


def check_write_response(response: TestResponse) -> None:
    """2xx, or one of :data:`WRITE_STATUSES` with a JSON error body and id."""
    status = response.status_code
    assert 200 <= status < 300 or status in WRITE_STATUSES, response.get_data(as_text=True)
    cid = response.headers["X-Request-ID"]
    assert VALID_ID.fullmatch(cid)
    if status >= 400:
        assert response.mimetype in ("application/json", "application/problem+json")
        body = response.get_json()
        assert isinstance(body, dict)
        assert body["correlation_id"] == cid


@given(
    route=st.sampled_from(WRITE_ROUTES),
    content_type=st.sampled_from(CONTENT_TYPES)
    | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    body=bodies,
    chunked=st.booleans(),
)
def test_random_bodies_never_give_5xx(
    route: tuple[str, str], content_type: str | None, body: bytes, chunked: bool
) -> None:
    app = create_input_app()
    method, path = route
    headers = {"Content-Type": content_type} if content_type is not None else {}
    environ = {"wsgi.input_terminated": True} if chunked else {}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    response = app.test_client().open(
        path, method=method, data=body, headers=headers, environ_overrides=environ
    )
    check_write_response(response)


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_every_content_type_on_every_write_route(
    client: FlaskClient, method: str, path: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    response = client.open(path, method=method, data=b'{"name": "x"}', headers=headers)
    check_write_response(response)


@pytest.mark.parametrize(
    ("method", "path", "content_type", "status"),
    [
        ("POST", "/chat", "application/json", 413),
        ("PUT", "/form", "application/x-www-form-urlencoded", 413),
        ("POST", "/files", "multipart/form-data; boundary=xyz", 413),
        ("PATCH", "/raw-json", "application/json", 413),
        ("POST", "/raw-form", "multipart/form-data; boundary=xyz", 413),
        # A view that never reads the body is not refused for its size.
        ("DELETE", "/items/1", "application/json", 204),
    ],
)
def test_oversized_body_is_the_json_413(
    client: FlaskClient, method: str, path: str, content_type: str, status: int
) -> None:
    body = _multipart("xyz", [("file", b"x" * 4096)])
    response = client.open(path, method=method, data=body, content_type=content_type)
    assert response.status_code == status
    check_write_response(response)


# -- the example app's write routes ----------------------------------------------------

EXAMPLE_ADMIN_KEY: t.Final = "mel_" + "Zx9Yw8Vu" * 4
WRITE_METHODS: t.Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Example(t.NamedTuple):
    app: Flask
    #: Header sets a client may send: none, a user's key, a malformed key.
    auth: list[dict[str, str]]
    #: (method, rule, has path variables) of every write route.
    routes: list[tuple[str, str, bool]]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    from example_app import create_app

    instance = tmp_path_factory.mktemp("example-instance")
    app = create_app({"INSTANCE_PATH": str(instance), "ADMIN_KEY": EXAMPLE_ADMIN_KEY})
    created = app.test_client().post(
        "/api-keys", headers={"Authorization": f"Bearer {EXAMPLE_ADMIN_KEY}"}, json={}
    )
    assert created.status_code == 201
    user_key = created.get_json()["api_key"]
    auth = [
        {},
        {"Authorization": f"Bearer {user_key}", "X-API-Key": user_key},
        {"Authorization": "Bearer mel_\x85\x00", "X-API-Key": "' OR 1=1 --"},
    ]
    routes = sorted(
        (method, rule.rule, bool(rule.arguments))
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & WRITE_METHODS
    )
    return Example(app, auth, routes)


path_values = st.sampled_from(
    ["x", "mel_abcdefgh", "batch_20240315_123456_abc123", "-", "0"]
) | st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"),
    min_size=1,
    max_size=40,
)


@given(data=st.data(), content_type=st.sampled_from(CONTENT_TYPES), body=bodies)
def test_random_bodies_on_every_example_write_route(
    example: Example, data: st.DataObject, content_type: str | None, body: bytes
) -> None:
    method, rule, has_variables = data.draw(st.sampled_from(example.routes))
    path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", lambda _: data.draw(path_values), rule)
    headers = dict(data.draw(st.sampled_from(example.auth)))
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = example.app.test_client().open(path, method=method, data=body, headers=headers)
    # A write route with a path variable addresses a resource: an unknown
    # one is a 404 (documented), anything else must be in the write set.
    allowed = WRITE_STATUSES | ({404} if has_variables else set())
    status = response.status_code
    assert 200 <= status < 300 or status in allowed, (method, path, response.get_data(as_text=True))
    cid = response.headers["X-Request-ID"]
    assert VALID_ID.fullmatch(cid)
    if status >= 400:
        assert response.mimetype in ("application/json", "application/problem+json")
        assert cid in response.get_data(as_text=True)
