"""The :func:`use_schema` decorator: loading every location, the documented
validation bodies of both documented APIs, the non-validation failures of
a body (bad JSON, wrong type, too large) and property tests over random
payloads."""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import time
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from werkzeug.datastructures import FileStorage

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import use_schema
from flask_apierrors.config import DEFAULT_REDACT_FIELDS
from flask_apierrors.integrations.marshmallow import RequestValidationError
from flask_apierrors.integrations.redaction import fragments
from flask_apierrors.integrations.redaction import is_secret_name
from flask_apierrors.validation import LOCATIONS
from flask_apierrors.validation import TOO_DEEP_MESSAGE

from .conftest import MakeApp
from .support.seeds import seed_examples

EXAMPLES = seed_examples()

MODELS = ("Melanie-3", "Melanie-3-light", "Melanie-3-code")
ALLOWED_FORMATS = ("jpg", "jpeg", "png")


class Message(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["system", "user", "assistant"]))
    content = fields.String(
        required=True, validate=validate.Length(min=1, error="Message content cannot be empty")
    )


def chat_schema(model_error: str) -> type[Schema]:
    """The chat-completion request of the second documented API; the model
    message is one line of schema."""

    class ChatCompletion(Schema):
        messages = fields.List(
            fields.Nested(Message),
            required=True,
            validate=validate.Length(min=1, error="At least one message is required"),
        )
        model = fields.String(required=True, validate=validate.OneOf(MODELS, error=model_error))
        temperature = fields.Float(validate=validate.Range(min=0, max=2))
        max_tokens = fields.Integer(validate=validate.Range(min=1))
        stream = fields.Boolean()

    return ChatCompletion


ChatCompletion = chat_schema("Invalid model type. Must be one of: {choices}")


class Upload(Schema):
    """The image upload of the first documented API."""

    file = fields.Raw(required=True)

    @validates("file")
    def check_format(self, value: FileStorage, **kwargs: t.Any) -> None:
        name = value.filename or ""
        if name.rpartition(".")[2].lower() not in ALLOWED_FORMATS:
            raise ApiError(
                "validation_error",
                "Invalid file format",
                details={"file": name, "allowed_formats": list(ALLOWED_FORMATS)},
            )


def _chat_app(make_app: MakeApp, schema: type[Schema] = ChatCompletion, **options: t.Any) -> Flask:
    app, _ = make_app(**options)

    @app.post("/v1/chat/completions")
    @use_schema(schema)
    def chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"model": body["model"], "count": len(body["messages"])}

    return app


def _example(section_end: str, example: str | None = None) -> dict[str, t.Any]:
    for ex in EXAMPLES:
        if ex["section"].endswith(section_end) and ex["example"] == example:
            return ex
    raise LookupError(section_end)


def _comparable(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """The body without the values that depend on time and request."""
    body = dict(body)
    body.pop("correlation_id", None)
    body.pop("timestamp", None)
    return body


HELLO = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize(
    ("section", "example", "payload", "model_error"),
    [
        (
            "400 Bad Request",
            "Missing Required Field",
            {"messages": HELLO},
            "Invalid model type. Must be one of: {choices}",
        ),
        (
            "400 Bad Request",
            "Invalid Model",
            {"model": "gpt-4", "messages": HELLO},
            "Invalid model type. Must be one of: {choices}",
        ),
        (
            "400 Bad Request",
            "Invalid Message Content",
            {"model": "Melanie-3", "messages": [{"role": "user", "content": ""}]},
            "Invalid model type. Must be one of: {choices}",
        ),
        (
            "Validation Error Structure",
            None,
            {"model": "invalid-model", "messages": []},
            "Invalid model type",
        ),
    ],
)
def test_second_api_validation_examples(
    make_app: MakeApp,
    section: str,
    example: str | None,
    payload: dict[str, t.Any],
    model_error: str,
) -> None:
    expected = _example(section, example)
    app = _chat_app(make_app, chat_schema(model_error))
    response = app.test_client().post("/v1/chat/completions", json=payload)
    assert response.status_code == (expected["status"] or 400)
    body = response.get_json()
    assert _comparable(body) == _comparable(expected["body"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["correlation_id"] == response.headers["X-Request-ID"]


def test_first_api_validation_error_from_upload_schema(make_app: MakeApp) -> None:
    expected = _example("/ VALIDATION_ERROR")
    app, _ = make_app(format="error_code")

    @app.post("/upload")
    @use_schema(Upload, "files")
    def upload(files: dict[str, FileStorage]) -> dict[str, t.Any]:
        return {"file": files["file"].filename}

    client = app.test_client()
    bad = {"file": (io.BytesIO(b"BM..."), "image.bmp")}
    response = client.post("/upload", data=bad, content_type="multipart/form-data")
    assert response.status_code == expected["status"]
    assert _comparable(response.get_json()) == expected["body"]
    good = {"file": (io.BytesIO(b"\x89PNG"), "image.png")}
    response = client.post("/upload", data=good, content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json() == {"file": "image.png"}


@pytest.mark.parametrize(
    ("fmt", "code_of"),
    [
        ("error_code", lambda b: (b["error_code"], b["details"])),
        ("detail", lambda b: (b["detail"]["code"], b["detail"]["details"])),
        ("problem", lambda b: (b["code"], b["details"])),
        ("error", lambda b: (b["error"], b["details"])),
    ],
)
def test_validation_body_in_every_format(
    make_app: MakeApp, fmt: str, code_of: t.Callable[[dict[str, t.Any]], tuple[str, t.Any]]
) -> None:
    app = _chat_app(make_app, format=fmt)
    response = app.test_client().post("/v1/chat/completions", json={"messages": HELLO})
    code, details = code_of(response.get_json())
    assert code.lower() == "validation_error"
    assert details == {
        "validation_errors": [
            {"field": "model", "message": "Field required", "invalid_value": None}
        ]
    }


@pytest.mark.parametrize(("options", "status"), [({}, 400), ({"validation_status": 422}, 422)])
def test_validation_status(make_app: MakeApp, options: dict[str, t.Any], status: int) -> None:
    app = _chat_app(make_app, **options)
    response = app.test_client().post("/v1/chat/completions", json={})
    assert response.status_code == status
    assert response.get_json()["error"] == "validation_error"


def test_validation_status_from_config(make_app: MakeApp) -> None:
    app = _chat_app(make_app, config={"APIERRORS_VALIDATION_STATUS": 422})
    assert app.test_client().post("/v1/chat/completions", json={}).status_code == 422


def test_blueprint_override_of_validation_status(make_app: MakeApp) -> None:
    app, ext = make_app()
    v2 = Blueprint("v2", __name__, url_prefix="/v2")
    ext.override(v2, validation_status=422, format="problem")

    @v2.post("/chat")
    @use_schema(ChatCompletion)
    def chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {}

    app.register_blueprint(v2)
    response = app.test_client().post("/v2/chat", json={})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["details"]["validation_errors"]] == [
        "messages",
        "model",
    ]


# -- what is not a validation error ---------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"model": "Melanie-3",}', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        (b"model=Melanie-3", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"model": "Melanie-3"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"model": "Melanie-3"}', None, 415, "unsupported_media_type"),
    ],
)
def test_body_failures_are_not_validation_errors(
    make_app: MakeApp, data: bytes, content_type: str | None, status: int, code: str
) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post("/v1/chat/completions", data=data, content_type=content_type)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code
    assert "validation_errors" not in body.get("details", {})


def test_invalid_json_body_has_the_decoding_error(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions", data=b'{"a": 1,,}', content_type="application/json"
    )
    assert response.get_json()["details"] == {
        "json_error": "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"
    }


def test_oversized_body_is_413(make_app: MakeApp) -> None:
    app = _chat_app(make_app, config={"MAX_CONTENT_LENGTH": 1000})
    payload = {"model": "Melanie-3", "messages": [{"role": "user", "content": "x" * 2000}]}
    response = app.test_client().post("/v1/chat/completions", json=payload)
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "payload_too_large"
    assert body["details"]["max_size"] == 1000


def test_request_without_body_loads_as_empty_object(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post("/v1/chat/completions")
    assert response.status_code == 400
    errors = response.get_json()["details"]["validation_errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("messages", "Field required"),
        ("model", "Field required"),
    ]


@pytest.mark.parametrize("body", ["null", "[1, 2]", '"x"', "3.5"])
def test_body_that_is_not_an_object(make_app: MakeApp, body: str) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.get_json()["details"]["validation_errors"]
    assert [e["field"] for e in errors] == ["_schema"]
    assert errors[0]["invalid_value"] is None
    assert errors[0]["message"] == "Invalid input type."


def test_schema_error_field_setting(make_app: MakeApp) -> None:
    app = _chat_app(make_app, schema_error_field="body")
    response = app.test_client().post(
        "/v1/chat/completions", data="[]", content_type="application/json"
    )
    assert response.get_json()["details"]["validation_errors"][0]["field"] == "body"


def test_problem_json_content_type_counts_as_json(make_app: MakeApp) -> None:
    app = _chat_app(make_app)
    response = app.test_client().post(
        "/v1/chat/completions",
        data=json.dumps({"model": "Melanie-3", "messages": HELLO}),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200
    assert response.get_json() == {"model": "Melanie-3", "count": 1}


# -- locations, arguments -------------------------------------------------


class JobQuery(Schema):
    limit = fields.Integer(validate=validate.Range(min=1, max=100))
    status = fields.List(fields.String(validate=validate.OneOf(["queued", "done"])))


def test_query_location(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.get("/jobs")
    @use_schema(JobQuery, "query", arg_name="query")
    def jobs(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    client = app.test_client()
    ok = client.get("/jobs?limit=5&status=queued&status=done")
    assert ok.get_json() == {"limit": 5, "status": ["queued", "done"]}
    bad = client.get("/jobs?limit=0&status=queued&status=lost&page=2")
    assert bad.status_code == 400
    assert bad.get_json()["details"]["validation_errors"] == [
        {
            "field": "limit",
            "message": "Must be greater than or equal to 1 and less than or equal to 100.",
            "invalid_value": "0",
        },
        {"field": "status[1]", "message": "Must be one of: queued, done.", "invalid_value": "lost"},
        {"field": "page", "message": "Unknown field.", "invalid_value": "2"},
    ]


class Login(Schema):
    username = fields.String(required=True, validate=validate.Length(min=3))
    pin = fields.String(load_only=True, validate=validate.Regexp(r"^\d{4}$"))


def test_form_location(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/login")
    @use_schema(Login, "form")
    def login(form: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"user": form["username"]}

    client = app.test_client()
    assert client.post("/login", data={"username": "ann", "pin": "1234"}).status_code == 200
    bad = client.post("/login", data={"username": "a", "pin": "12x4"})
    assert bad.get_json()["details"]["validation_errors"] == [
        {"field": "username", "message": "Shorter than minimum length 3.", "invalid_value": "a"},
        {
            "field": "pin",
            "message": "String does not match expected pattern.",
            "invalid_value": "[REDACTED]",
        },
    ]
    wrong = client.post("/login", json={"username": "ann"})
    assert wrong.status_code == 415
    assert wrong.get_json()["details"] == {
        "provided_type": "application/json",
        "expected_types": ["application/x-www-form-urlencoded", "multipart/form-data"],
    }


def test_files_location(make_app: MakeApp) -> None:
    app, _ = make_app(format="error_code")

    @app.post("/upload")
    @use_schema(Upload, "files")
    def upload(files: dict[str, FileStorage]) -> dict[str, t.Any]:
        return {}

    client = app.test_client()
    missing = client.post("/upload", data={"other": "x"}, content_type="multipart/form-data")
    assert missing.get_json()["details"]["validation_errors"] == [
        {"field": "file", "message": "Field required", "invalid_value": None}
    ]
    extra = {
        "file": (io.BytesIO(b"x"), "a.png"),
        "more": (io.BytesIO(b"y"), "secret-plans.txt"),
    }
    unknown = client.post("/upload", data=extra, content_type="multipart/form-data")
    assert unknown.get_json()["details"]["validation_errors"] == [
        {"field": "more", "message": "Unknown field.", "invalid_value": "secret-plans.txt"}
    ]
    wrong = client.post("/upload", data={"file": "x"})
    assert wrong.status_code == 415
    assert wrong.get_json()["details"]["expected_types"] == ["multipart/form-data"]


def test_loaded_data_is_passed_in_decorator_order(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/jobs/<int:job_id>")
    @use_schema(JobQuery, "query")
    @use_schema({"name": fields.String(required=True)})
    def update(query: dict[str, t.Any], body: dict[str, t.Any], job_id: int) -> dict[str, t.Any]:
        return {"query": query, "body": body, "job_id": job_id}

    response = app.test_client().post("/jobs/7?limit=2", json={"name": "n"})
    assert response.get_json() == {"query": {"limit": 2}, "body": {"name": "n"}, "job_id": 7}


def test_unknown_option_and_schema_instance(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/lenient")
    @use_schema(ChatCompletion(only=("model",)), unknown=EXCLUDE, arg_name="data")
    def lenient(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    response = app.test_client().post("/lenient", json={"model": "Melanie-3", "x": 1})
    assert response.get_json() == {"model": "Melanie-3"}


def test_many_schema(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/batch")
    @use_schema(Message(many=True))
    def batch(items: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        return {"n": len(items)}

    response = app.test_client().post(
        "/batch", json=[{"role": "user", "content": "a"}, {"role": "bot", "content": ""}]
    )
    assert [
        (e["field"], e["invalid_value"])
        for e in response.get_json()["details"]["validation_errors"]
    ] == [("[1].role", "bot"), ("[1].content", "")]


def test_async_view(app: Flask) -> None:
    @use_schema(ChatCompletion, arg_name="body")
    async def chat(body: dict[str, t.Any]) -> str:
        await asyncio.sleep(0)
        return str(body["model"])

    with app.test_request_context(json={"model": "Melanie-3", "messages": HELLO}):
        assert asyncio.run(chat()) == "Melanie-3"
    with app.test_request_context(json={"model": "x", "messages": HELLO}):
        with pytest.raises(RequestValidationError) as info:
            asyncio.run(chat())
    assert info.value.messages == {
        "model": ["Invalid model type. Must be one of: Melanie-3, Melanie-3-light, Melanie-3-code"]
    }


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((ChatCompletion, "body"), ValueError),
        ((ChatCompletion, "headers"), ValueError),
        ((object(),), TypeError),
        (("ChatCompletion",), TypeError),
    ],
)
def test_misuse(args: tuple[t.Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error, match="use_schema"):
        use_schema(*args)


def test_locations_are_documented() -> None:
    assert LOCATIONS == ("json", "query", "form", "files")


def test_validator_exceptions_pass_through(make_app: MakeApp) -> None:
    class Strict(Schema):
        n = fields.Integer()

        @validates("n")
        def boom(self, value: int, **kwargs: t.Any) -> None:
            raise RuntimeError("database password is hunter2")

    app, _ = make_app()

    @app.post("/strict")
    @use_schema(Strict)
    def strict(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    app.config["TESTING"] = False
    response = app.test_client().post("/strict", json={"n": 1})
    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)


# -- bounded answers ------------------------------------------------------


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


# -- properties -----------------------------------------------------------


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
