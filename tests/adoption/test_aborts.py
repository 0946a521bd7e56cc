"""``abort(status, message=..., **data)``: an ``HTTPException`` carrying
``e.data`` (the convention of Flask-RESTful, webargs, flask-smorest and
flask-restx) answers the same on every app, whichever of those packages
are installed, used or not."""

from __future__ import annotations

import importlib.util
import typing as t

import pytest
from flask import Flask
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import NotFound

from flask_apierrors import ApiErrors
from flask_apierrors import plugins
from flask_apierrors.integrations import adoption
from flask_apierrors.testing import assert_api_error

FRAMEWORKS: t.Final = ("flask_restful", "flask_restx", "webargs", "flask_smorest")


@pytest.fixture(params=["installed", "none-installed"])
def environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The plug-ins as loaded with the frameworks installed (this test
    environment), or as if none of them were."""
    if request.param == "none-installed":
        real = importlib.util.find_spec

        def find_spec(name: str, package: str | None = None) -> t.Any:
            return None if name.split(".")[0] in FRAMEWORKS else real(name, package)

        monkeypatch.setattr(adoption, "find_spec", find_spec)
    monkeypatch.setattr(plugins, "_loaded", None)  # loaded again, restored after
    return str(request.param)


def make_app() -> Flask:
    app = Flask("aborts")
    ApiErrors(app)

    @app.get("/item")
    def item() -> t.NoReturn:
        e = NotFound()
        e.data = {"message": "Item 1 doesn't exist", "item_id": 1}  # type: ignore[attr-defined]
        raise e

    @app.post("/parse")
    def parse() -> t.NoReturn:
        e = BadRequest()
        e.data = {  # type: ignore[attr-defined]
            "message": "Input payload validation failed",
            "errors": {"rate": "invalid literal"},
        }
        raise e

    @app.post("/reqparse")
    def by_field() -> t.NoReturn:
        e = BadRequest()
        e.data = {"message": {"rate": "Rate is a whole number."}}  # type: ignore[attr-defined]
        raise e

    return app


def test_aborts_answer_the_same_whatever_is_installed(environment: str) -> None:
    app = make_app()
    client = app.test_client()
    message = "Item 1 doesn't exist"
    error = assert_api_error(client.get("/item"), "not_found", app=app, message=message)
    # Outside an Api that showed them, the other keywords stay private.
    assert "item_id" not in error.details
    error = assert_api_error(client.post("/parse"), "validation_error", app=app, status=400)
    assert error.message == "Input payload validation failed"
    assert [(v.field, v.message) for v in error.validation_errors] == [("rate", "invalid literal")]
    # Flask-RESTful's reqparse: the message by field.
    by_field = assert_api_error(client.post("/reqparse"), "validation_error", app=app)
    assert [(v.field, v.message) for v in by_field.validation_errors] == [
        ("rate", "Rate is a whole number.")
    ]


def test_a_server_errors_data_makes_no_field_errors(environment: str) -> None:
    # A mapping in e.data of a 5xx is the server's: it was shown as the
    # "validation errors" of a 500.
    app = Flask("private")
    ApiErrors(app)

    @app.get("/db")
    def db() -> t.NoReturn:
        e = InternalServerError()
        e.data = {  # type: ignore[attr-defined]
            "message": {"dsn": "postgres://u:pw@db"},
            "errors": {"dsn": "postgres://u:pw@db"},
            "headers": {"Retry-After": "5"},
        }
        raise e

    response = app.test_client().get("/db")
    error = assert_api_error(response, "internal_server_error", app=app)
    assert error.message == "An unexpected error occurred"
    assert "pw@" not in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"


def test_a_message_by_field_of_a_404_is_no_validation_error(environment: str) -> None:
    app = Flask("by_field")
    ApiErrors(app)

    @app.get("/user")
    def user() -> t.NoReturn:
        e = NotFound()
        e.data = {"message": {"user": "no such user"}}  # type: ignore[attr-defined]
        raise e

    assert_api_error(app.test_client().get("/user"), "not_found", app=app)


def test_the_aborts_plugin_is_loaded_whatever_is_installed(environment: str) -> None:
    assert "aborts" in {p.name for p in plugins.installed()}


def test_used_the_abort_of_flask_restful_shows_its_keywords() -> None:
    flask_restful = pytest.importorskip("flask_restful")
    resource: t.Any = flask_restful.Resource
    app = Flask("used")
    api = flask_restful.Api(app)
    ApiErrors(app)

    class Item(resource):  # type: ignore[misc]
        def get(self) -> None:
            flask_restful.abort(404, message="Item 1 doesn't exist", item_id=1)

    api.add_resource(Item, "/api/item")

    @app.get("/plain")
    def plain() -> str:
        flask_restful.abort(404, message="Item 1 doesn't exist", item_id=1)
        return "never"

    client = app.test_client()
    message = "Item 1 doesn't exist"
    in_api = assert_api_error(client.get("/api/item"), "not_found", app=app, message=message)
    assert in_api.details["item_id"] == 1
    # The same abort in a view of the app: its message, not its keywords.
    plain_view = assert_api_error(client.get("/plain"), "not_found", app=app, message=message)
    assert "item_id" not in plain_view.details


def test_a_secrets_quoted_value_never_reaches_the_client() -> None:
    # flask-restx's validate=True quotes the value in jsonschema's message.
    restx = pytest.importorskip("flask_restx")
    app = Flask("restx_secret")
    api = restx.Api(app)
    ApiErrors(app)
    login = api.model(
        "Login",
        {
            "user": restx.fields.String(min_length=8),
            "password": restx.fields.String(min_length=8),
            "nested": restx.fields.Nested(
                api.model("Inner", {"client_secret": restx.fields.String(enum=["x"])})
            ),
        },
    )

    @api.route("/login")
    class Login(restx.Resource):  # type: ignore[misc,name-defined]
        @api.expect(login, validate=True)  # type: ignore[untyped-decorator]
        def post(self) -> dict[str, str]:
            return {}

    payload = {"user": "alice", "password": "hunter2", "nested": {"client_secret": "sk-1"}}
    response = app.test_client().post("/login", json=payload)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "sk-1" not in response.get_data(as_text=True)
    error = assert_api_error(response, "validation_error", app=app, status=400)
    assert {v.field: v.message for v in error.validation_errors} == {
        "user": "'alice' is too short",
        "password": "Invalid value.",
        "nested.client_secret": "Invalid value.",
    }
