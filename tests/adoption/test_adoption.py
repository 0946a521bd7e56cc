"""The helpers the framework integrations share."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import FieldError
from flask_apierrors import Problem
from flask_apierrors.config import Settings
from flask_apierrors.integrations import adoption
from flask_apierrors.integrations.base import Context
from flask_apierrors.state import get_state
from flask_apierrors.testing import assert_api_error


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("name", ("name",)),
        ("owner.name", ("owner", "name")),
        ("tags.1", ("tags", 1)),
        (".hidden", (".hidden",)),
        (3, (3,)),
    ],
)
def test_split_path(key: t.Any, path: tuple[t.Any, ...]) -> None:
    assert adoption.split_path(key) == path


def test_nest_paths_keeps_parent_messages_under_schema() -> None:
    nested = adoption.nest_paths(
        [
            (("tags",), ["Too many."]),
            (("tags", 0), ["Not a string."]),
            ((), ["Bad object."]),
            (("owner", "name"), ["Required."]),
            (("owner",), ["Invalid owner."]),
        ]
    )
    assert nested == {
        "tags": {"_schema": ["Too many."], 0: ["Not a string."]},
        "_schema": ["Bad object."],
        "owner": {"name": ["Required."], "_schema": ["Invalid owner."]},
    }


def test_plain_errors_without_marshmallow() -> None:
    errors, total = adoption.plain_errors(
        {"_schema": ["Bad."], "tags": {0: ["Not a string."]}, "name": "Required."},
        Settings(max_validation_errors=2),
        location="json",
    )
    assert total == 3
    assert errors == [
        FieldError(field="_schema", message="Bad.", location="json"),
        FieldError(field="tags[0]", message="Not a string.", location="json"),
    ]


def test_flat_errors_uses_the_marshmallow_rules() -> None:
    errors, total = adoption.flat_errors(
        {"password": ["Too short."]}, Settings(), data={"password": "hunter2"}
    )
    assert (total, errors[0].invalid_value) == (1, "[REDACTED]")


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ({"json": {"name": ["x"]}}, True),
        ({"json": {"name": ["x"]}, "query": {}}, True),
        ({"name": ["x"]}, False),
        ({"json": ["x"]}, False),
        ({}, False),
        (["x"], False),
    ],
)
def test_by_location(messages: t.Any, expected: bool) -> None:
    assert adoption.by_location(messages) is expected


def test_take_over_keeps_the_replaced_handler() -> None:
    class Taken(Exception):
        pass

    def convert(e: BaseException, ctx: Context) -> Problem:
        return ctx.problem("conflict")

    app = Flask("take_over")

    @app.errorhandler(Taken)
    def theirs(e: Taken) -> tuple[str, int]:
        return "theirs", 400

    @app.get("/")
    def index() -> t.NoReturn:
        raise Taken()

    ApiErrors(app)
    state = get_state(app)
    # ``theirs`` stands for a framework's handler: it is defined here.
    adoption.take_over(state, Taken, convert, framework=__name__)
    adoption.take_over(state, Taken, convert, framework=__name__)
    assert state.displaced[Taken] is theirs
    assert adoption.app_handler(app, Taken) == state.handler
    assert_api_error(app.test_client().get("/"), "conflict", app=app)


def test_take_over_leaves_a_handler_of_the_apps_own() -> None:
    class Taken(Exception):
        pass

    def convert(e: BaseException, ctx: Context) -> Problem:
        return ctx.problem("conflict")

    app = Flask("take_over_own")

    @app.errorhandler(Taken)
    def mine(e: Taken) -> tuple[str, int]:
        return "mine", 400

    @app.get("/")
    def index() -> t.NoReturn:
        raise Taken()

    ApiErrors(app)
    state = get_state(app)
    adoption.take_over(state, Taken, convert, framework="some_framework")
    assert adoption.app_handler(app, Taken) is mine
    assert Taken not in state.displaced
    assert app.test_client().get("/").text == "mine"


@pytest.mark.parametrize(
    ("module", "package", "expected"),
    [
        ("apiflask", "apiflask", True),
        ("apiflask.app", "apiflask", True),
        ("apiflask_demo.views", "apiflask", False),
        ("myapp.errors", "apiflask", False),
        (None, "apiflask", False),
    ],
)
def test_defined_by(module: str | None, package: str, expected: bool) -> None:
    def handler() -> None:
        pass

    handler.__module__ = module  # type: ignore[assignment]
    assert adoption.defined_by(handler, package) is expected


def _smorest_app() -> Flask:
    import flask_smorest

    app = Flask("smorest_500")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = flask_smorest.Api(app)
    ApiErrors(app)
    blp = flask_smorest.Blueprint("b", __name__)

    @blp.route("/fail")  # type: ignore[untyped-decorator]
    def fail() -> None:
        flask_smorest.abort(500, message="Database down")

    api.register_blueprint(blp)
    return app


def _apiflask_app() -> Flask:
    from apiflask import APIFlask
    from apiflask import abort

    app = APIFlask("apiflask_500")
    ApiErrors(app)

    @app.get("/fail")
    def fail() -> t.NoReturn:
        abort(500, "Database down")

    return app


def _restx_app() -> Flask:
    from flask_restx import Api
    from flask_restx import Resource

    app = Flask("restx_500")
    api = Api(app)
    ApiErrors(app)

    @api.route("/fail")
    class Fail(Resource):  # type: ignore[misc]
        def get(self) -> None:
            api.abort(500, "Database down")

    return app


def _werkzeug_app() -> Flask:
    from flask import abort

    app = Flask("werkzeug_500")
    ApiErrors(app)

    @app.get("/fail")
    def fail() -> t.NoReturn:
        abort(500, "Database down")

    return app


@pytest.mark.parametrize("make", [_smorest_app, _apiflask_app, _restx_app, _werkzeug_app])
def test_a_500_aborted_through_a_framework_carries_the_error_id(
    make: t.Callable[[], Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make()
    with caplog.at_level("ERROR", "flask_apierrors"):
        response = app.test_client().get("/fail")
    error = assert_api_error(response, "internal_server_error", app=app, message="Database down")
    error_id = error.details["error_id"]
    assert error_id.startswith("err_")
    assert error.details["support_message"] == get_state(app).settings.support_message
    # The log line names the id the client got.
    assert [r for r in caplog.records if error_id in r.getMessage()]
