"""webargs and flask-smorest apps get the same ``validation_error`` bodies
as :func:`~flask_apierrors.use_schema`, from the 422 they raise."""

from __future__ import annotations

import io
import json
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Conflict

from flask_apierrors import ApiErrors
from flask_apierrors.catalog import Catalog
from flask_apierrors.config import Settings
from flask_apierrors.integrations import Context
from flask_apierrors.integrations.adoption import convert_abort
from flask_apierrors.integrations.webargs import convert_webargs_error
from tests.support.seeds import seed_examples

webargs_flask = pytest.importorskip("webargs.flaskparser")
flask_smorest = pytest.importorskip("flask_smorest")

#: webargs' decorator factories, typed for the views below.
Decorator = t.Callable[..., t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]]

EXAMPLES = seed_examples()


class Message(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["system", "user", "assistant"]))
    content = fields.String(
        required=True, validate=validate.Length(min=1, error="Message content cannot be empty")
    )


class ChatCompletion(Schema):
    messages = fields.List(
        fields.Nested(Message),
        required=True,
        validate=validate.Length(min=1, error="At least one message is required"),
    )
    model = fields.String(
        required=True,
        validate=validate.OneOf(
            ["Melanie-3", "Melanie-3-light", "Melanie-3-code"],
            error="Invalid model type. Must be one of: {choices}",
        ),
    )
    api_token = fields.String(validate=validate.Length(min=10))
    pin = fields.String(load_only=True, validate=validate.Length(equal=4))
    # "key" on the wire: secret by its attribute name.
    api_key = fields.String(data_key="key", validate=validate.Length(min=10))


class Page(Schema):
    page = fields.Integer(validate=validate.Range(min=1))
    ids = fields.List(fields.Integer())


def webargs_app(**options: t.Any) -> Flask:
    app = Flask("webargs_app")
    app.config["TESTING"] = True
    ApiErrors(app, **options)
    use_args: Decorator = webargs_flask.use_args
    use_kwargs: Decorator = webargs_flask.use_kwargs

    @app.post("/v1/chat/completions")
    @use_args(ChatCompletion(), location="json")
    def chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"model": body["model"]}

    @app.get("/items")
    @use_args(Page(), location="query")
    def items(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    @app.post("/form")
    @use_args({"name": fields.String(required=True)}, location="form", error_status_code=409)
    def form(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    @app.post("/files")
    @use_args({"upload": fields.Raw(required=True)}, location="files")
    def files(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return {}

    @app.get("/headers")
    @use_args(
        {"X-Page": fields.Integer(required=True)},
        location="headers",
        error_headers={"X-Hint": "send X-Page"},
    )
    def headers(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return {}

    @app.post("/kwargs")
    @use_kwargs({"count": fields.Integer(required=True)}, location="json")
    def kwargs(count: int) -> dict[str, t.Any]:
        return {"count": count}

    return app


def smorest_app(**options: t.Any) -> Flask:
    app = Flask("smorest_app")
    app.config.update(TESTING=True, API_TITLE="Chat", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    api = flask_smorest.Api(app)
    # After Api: Api registers its own HTTPException handler on the app.
    ApiErrors(app, **options)
    blp = flask_smorest.Blueprint("chat", "chat", url_prefix="/v1")

    @blp.route("/chat/completions", methods=["POST"])  # type: ignore[untyped-decorator]
    @blp.arguments(ChatCompletion)  # type: ignore[untyped-decorator]
    def chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"model": body["model"]}

    @blp.route("/items")  # type: ignore[untyped-decorator]
    @blp.arguments(Page, location="query")  # type: ignore[untyped-decorator]
    def items(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    @blp.route("/jobs/<int:job_id>")  # type: ignore[untyped-decorator]
    def job(job_id: int) -> dict[str, t.Any]:
        flask_smorest.abort(404, message=f"Job {job_id} not found")
        raise AssertionError("abort() raises")

    @blp.route("/jobs", methods=["POST"])  # type: ignore[untyped-decorator]
    def create_job() -> dict[str, t.Any]:
        flask_smorest.abort(409, errors={"json": {"name": ["Name already taken"]}})
        raise AssertionError("abort() raises")

    api.register_blueprint(blp)
    return app


APPS = {"webargs": (webargs_app, ""), "flask-smorest": (smorest_app, "/v1")}


@pytest.fixture(params=list(APPS))
def kind(request: pytest.FixtureRequest) -> str:
    return t.cast(str, request.param)


def _client(kind: str, **options: t.Any) -> tuple[FlaskClient, str]:
    factory, prefix = APPS[kind]
    return factory(**options).test_client(), prefix


def _comparable(body: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in body.items() if k not in ("timestamp", "correlation_id")}


@pytest.mark.parametrize(
    ("example", "payload"),
    [
        ("Missing Required Field", {"messages": [{"role": "user", "content": "Hi"}]}),
        ("Invalid Model", {"model": "gpt-4", "messages": [{"role": "user", "content": "Hi"}]}),
        (
            "Invalid Message Content",
            {"model": "Melanie-3", "messages": [{"role": "user", "content": ""}]},
        ),
    ],
)
def test_documented_examples(kind: str, example: str, payload: dict[str, t.Any]) -> None:
    expected = next(ex for ex in EXAMPLES if ex["example"] == example)
    client, _ = _client(kind)
    response = client.post("/v1/chat/completions", json=payload)
    assert response.status_code == expected["status"] == 400
    assert _comparable(response.get_json()) == _comparable(expected["body"])


@pytest.mark.parametrize(("options", "status"), [({}, 400), ({"validation_status": 422}, 422)])
def test_webargs_default_status_follows_the_setting(
    kind: str, options: dict[str, t.Any], status: int
) -> None:
    client, _ = _client(kind, **options)
    response = client.post("/v1/chat/completions", json={})
    assert response.status_code == status
    assert [e["field"] for e in response.get_json()["details"]["validation_errors"]] == [
        "messages",
        "model",
    ]


def test_secrets_and_load_only_fields_are_redacted(kind: str) -> None:
    client, _ = _client(kind)
    payload = {
        "model": "Melanie-3",
        "messages": [{"role": "user", "content": "Hi", "password": "pw1"}],
        "api_token": "short",
        "pin": "123456",
    }
    response = client.post("/v1/chat/completions", json=payload)
    assert response.get_json()["details"]["validation_errors"] == [
        {
            "field": "messages[0].password",
            "message": "Unknown field.",
            "invalid_value": "[REDACTED]",
        },
        {
            "field": "api_token",
            "message": "Shorter than minimum length 10.",
            "invalid_value": "[REDACTED]",
        },
        {"field": "pin", "message": "Length must be 4.", "invalid_value": "[REDACTED]"},
    ]
    assert "123456" not in response.get_data(as_text=True)


def test_attribute_names_and_codes(kind: str) -> None:
    client, prefix = _client(kind, field_error_codes=True)
    payload = {"model": "gpt-4", "messages": [], "key": "short"}
    assert client.post("/v1/chat/completions", json=payload).get_json()["details"] == {
        "validation_errors": [
            {
                "field": "messages",
                "message": "At least one message is required",
                "invalid_value": [],
                "code": "too_short",
            },
            {
                "field": "model",
                "message": "Invalid model type. Must be one of: Melanie-3, Melanie-3-light,"
                " Melanie-3-code",
                "invalid_value": "gpt-4",
                "code": "invalid_choice",
            },
            {
                "field": "key",
                "message": "Shorter than minimum length 10.",
                "invalid_value": "[REDACTED]",
                "code": "too_short",
            },
        ]
    }
    query = client.get(prefix + "/items?page=0&ids=x").get_json()["details"]
    assert [e["code"] for e in query["validation_errors"]] == ["out_of_range", "invalid_type"]


def test_query_errors_carry_their_location(kind: str) -> None:
    client, prefix = _client(kind)
    # webargs leaves out unknown query parameters (EXCLUDE) by default.
    response = client.get(prefix + "/items?page=0&ids=1&ids=two&sort=asc")
    assert response.status_code == 400
    assert response.get_json()["details"]["validation_errors"] == [
        {"field": "page", "message": "Must be greater than or equal to 1.", "invalid_value": "0"},
        {"field": "ids[1]", "message": "Not a valid integer.", "invalid_value": "two"},
    ]
    assert client.get(prefix + "/items?page=2&ids=1&ids=3").get_json() == {"page": 2, "ids": [1, 3]}


def test_invalid_json_is_invalid_json(kind: str) -> None:
    client, _ = _client(kind)
    response = client.post(
        "/v1/chat/completions", data=b'{"model": ', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_json"
    assert body["details"] == {"json_error": "Expecting value: line 1 column 11 (char 10)"}


@pytest.mark.parametrize(
    ("fmt", "media_type", "code_member"),
    [("error", "application/json", "error"), ("problem", "application/problem+json", "code")],
)
def test_a_value_the_json_parser_refuses_is_invalid_json(
    kind: str, fmt: str, media_type: str, code_member: str
) -> None:
    # webargs parses the body itself and catches only decoding errors: the
    # parser's ValueError for an integer of more than 4,300 digits escaped.
    factory, _ = APPS[kind]
    app = factory(format=fmt)
    app.testing = False  # as served (under TESTING too: test_hostile_input)
    client = app.test_client()
    body = b'{"model": ' + b"9" * 5000 + b"}"
    response = client.post("/v1/chat/completions", data=body, content_type="application/json")
    assert (response.status_code, response.mimetype) == (400, media_type)
    error = response.get_json()
    assert error[code_member] == "invalid_json"
    assert error["details"] == {"json_error": "Invalid JSON value"}
    assert "4300" not in response.get_data(as_text=True)


def _raise_own(what: str) -> t.Any:
    if what == "raise":
        raise ValueError("the app's own")
    if what == "int":
        return int("not a number")
    if what == "json-decode":
        return json.loads("{not json")

    def hook(pairs: list[tuple[str, t.Any]]) -> t.Any:
        raise ValueError("the app's own hook")

    return json.loads('{"a": 1}', object_pairs_hook=hook)


def test_the_apps_own_parse_of_stored_json_is_no_client_error() -> None:
    # The parser's ValueError outside the request body's parsing (stored or
    # upstream data) is the server's: a 500 logged, not invalid_json.
    app = Flask("stored_json")
    ApiErrors(app)

    @app.get("/report")
    def report() -> t.Any:
        return json.loads('{"n": ' + "9" * 5000 + "}")

    response = app.test_client().get("/report")
    assert (response.status_code, response.get_json()["error"]) == (500, "internal_server_error")


def test_an_apps_own_value_error_handler_keeps_its_value_errors() -> None:
    app = Flask("own_handler")
    app.register_error_handler(ValueError, lambda e: ({"mine": str(e)}, 422))
    ApiErrors(app)

    @app.get("/own")
    def own() -> t.Any:
        raise ValueError("bad input")

    response = app.test_client().get("/own")
    assert (response.status_code, response.get_json()) == (422, {"mine": "bad input"})


@pytest.mark.parametrize("what", ["raise", "int", "json-decode", "json-hook"])
def test_a_value_error_of_the_apps_own_is_still_a_500(what: str) -> None:
    app = Flask("own_value_error")
    ApiErrors(app)
    use_args: Decorator = webargs_flask.use_args

    @app.post("/own")
    @use_args({"n": fields.Integer()}, location="json")
    def own(data: dict[str, t.Any]) -> t.Any:
        return _raise_own(what)

    response = app.test_client().post("/own", json={"n": 1})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"


def test_entry_cap(kind: str) -> None:
    client, _ = _client(kind, max_validation_errors=2)
    payload = {"model": 1, "messages": [{"role": "x", "content": ""}] * 3}
    body = client.post("/v1/chat/completions", json=payload).get_json()
    assert len(body["details"]["validation_errors"]) == 2
    assert body["details"]["total_errors"] == 7


def test_chosen_status_form_files_headers_and_kwargs() -> None:
    client = webargs_app(validation_status=422).test_client()
    form = client.post("/form", data={"other": "x"})
    assert form.status_code == 409
    assert form.get_json()["details"]["validation_errors"] == [
        {"field": "name", "message": "Field required", "invalid_value": None},
        {"field": "other", "message": "Unknown field.", "invalid_value": "x"},
    ]
    files = client.post(
        "/files",
        data={"other": (io.BytesIO(b"x"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert files.status_code == 422
    assert [e["field"] for e in files.get_json()["details"]["validation_errors"]] == ["upload"]
    headers = client.get("/headers", headers={"X-Page": "one"})
    assert headers.status_code == 422
    assert headers.headers["X-Hint"] == "send X-Page"
    assert headers.get_json()["details"]["validation_errors"] == [
        {"field": "X-Page", "message": "Not a valid integer.", "invalid_value": "one"}
    ]
    kwargs = client.post("/kwargs", json={"count": "many"})
    assert kwargs.get_json()["details"]["validation_errors"] == [
        {"field": "count", "message": "Not a valid integer.", "invalid_value": "many"}
    ]
    assert client.post("/kwargs", json={"count": 3}).get_json() == {"count": 3}


def test_smorest_abort_message_and_errors() -> None:
    client = smorest_app(format="error_code").test_client()
    missing = client.get("/v1/jobs/7")
    assert missing.status_code == 404
    assert _comparable(missing.get_json()) == {
        "error": True,
        "error_code": "NOT_FOUND",
        "message": "Job 7 not found",
    }
    conflict = client.post("/v1/jobs")
    assert conflict.status_code == 409
    assert _comparable(conflict.get_json()) == {
        "error": True,
        "error_code": "VALIDATION_ERROR",
        "message": "Request validation failed",
        "details": {
            "validation_errors": [
                {"field": "name", "message": "Name already taken", "invalid_value": None}
            ]
        },
    }


def _ctx() -> Context:
    return Context(
        catalog=Catalog.default(),
        settings=Settings(),
        correlation_id=None,
        timestamp="2023-12-01T10:00:00Z",
        instance=None,
    )


def _with_data(exc: Exception, data: t.Any) -> Exception:
    exc.data = data  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    "exc",
    [
        BadRequest(),
        ValueError("not http"),
        _with_data(Conflict(), None),
        _with_data(Conflict(), {}),
        _with_data(Conflict(), {"messages": {}}),
        _with_data(Conflict(), {"messages": "text"}),
        _with_data(Conflict(), {"message": ""}),
    ],
)
def test_other_exceptions_are_left_to_the_core(exc: Exception) -> None:
    assert convert_webargs_error(exc, _ctx()) is None


def test_a_hand_raised_abort_is_left_to_the_abort_converter() -> None:
    exc = _with_data(Conflict(), {"messages": {"json": {"name": ["Missing."]}}})
    assert convert_webargs_error(exc, _ctx()) is None
    assert convert_abort(exc, _ctx()) is not None


def test_messages_of_several_locations_and_whole_location_errors() -> None:
    exc = _with_data(
        Conflict(),
        {
            "messages": {
                "json": ["Invalid value."],
                "query": {"page": ["Not a valid integer."]},
            },
            "headers": {"X-Hint": "h"},
        },
    )
    problem = convert_abort(exc, _ctx())
    assert problem is not None
    assert problem.status == 409
    assert [e.to_dict() for e in problem.errors] == [
        {
            "field": "_schema",
            "message": "Invalid value.",
            "invalid_value": None,
            "location": "json",
        },
        {
            "field": "page",
            "message": "Not a valid integer.",
            "invalid_value": None,
            "location": "query",
        },
    ]
    assert ("X-Hint", "h") in problem.headers
