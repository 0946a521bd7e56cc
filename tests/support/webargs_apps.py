"""A webargs app and a flask-smorest app with the same chat and query
routes, for tests/test_integrations_webargs*.py. Importing this module skips
the importing test module when webargs or flask-smorest is not installed.

A test module binds the ``kind`` fixture by name (``kind =
webargs_apps.kind``): each test that asks for it runs against both apps.
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiErrors

webargs_flask = pytest.importorskip("webargs.flaskparser")
flask_smorest = pytest.importorskip("flask_smorest")

#: webargs' decorator factories, typed for the views that use them.
Decorator = t.Callable[..., t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]]


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
    """Which app a test runs against: each test runs against both."""
    return t.cast(str, request.param)


def app_client(kind: str, **options: t.Any) -> tuple[FlaskClient, str]:
    """A test client of the ``kind`` app made with ``options``, and its route prefix."""
    factory, prefix = APPS[kind]
    return factory(**options).test_client(), prefix
