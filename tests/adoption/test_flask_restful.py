"""Flask-RESTful apps (the real Flask-RESTful): the errors of its routes,
which its ``Api`` answers itself, come out in ApiErrors' format, keeping
what the app configured on the Api; Flask-RESTful answers where ApiErrors
is off."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import got_request_exception
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.exceptions import Unauthorized

from flask_apierrors import ApiErrors
from flask_apierrors import abort as api_abort
from flask_apierrors.integrations.restful import RestfulErrorHandler
from flask_apierrors.testing import assert_api_error

from . import set_up

flask_restful = pytest.importorskip("flask_restful")
reqparse = pytest.importorskip("flask_restful.reqparse")
Resource: t.Any = flask_restful.Resource
RestfulApi: t.Any = flask_restful.Api


class NameTaken(Exception):
    pass


class Teapot(Exception):
    pass


def add_resources(api: t.Any) -> None:
    parser = reqparse.RequestParser()
    parser.add_argument("rate", type=int, required=True, location="json")
    bundled = reqparse.RequestParser(bundle_errors=True)
    bundled.add_argument("name", required=True, location="json")
    bundled.add_argument("age", type=int, location="json", help="Age is a whole number.")

    class Item(Resource):  # type: ignore[misc]
        def get(self, item_id: int) -> t.NoReturn:
            if item_id == 1:
                api_abort("not_found", item_id=item_id)
            if item_id == 2:
                flask_restful.abort(404, message="Item 2 doesn't exist", item_id=2)
            if item_id == 3:
                raise NameTaken("Rex")
            if item_id == 4:
                raise Teapot()
            if item_id == 5:
                flask_restful.abort(401)
            raise RuntimeError("db password=hunter2")

        def post(self, item_id: int) -> dict[str, t.Any]:
            return dict(parser.parse_args())

        def put(self, item_id: int) -> dict[str, t.Any]:
            return dict(bundled.parse_args())

    api.add_resource(Item, "/items/<int:item_id>")


ERRORS: t.Final = {
    "NameTaken": {"status": 409, "message": "Name already taken.", "field": "name"},
}


def make_app(apierrors_first: bool = False, testing: bool = True, **options: t.Any) -> Flask:
    app = Flask("restful_app")
    app.config["TESTING"] = testing
    api = RestfulApi(errors=dict(ERRORS))
    add_resources(api)
    set_up(app, api.init_app, apierrors_first, **options)
    return app


@pytest.fixture(params=[False, True], ids=["restful-first", "apierrors-first"])
def app(request: pytest.FixtureRequest) -> Flask:
    return make_app(apierrors_first=request.param)


def test_the_abort_of_apierrors(app: Flask) -> None:
    response = app.test_client().get("/items/1")
    error = assert_api_error(response, "not_found", app=app)
    assert error.details["item_id"] == 1
    assert response.headers["X-Request-ID"]


def test_the_abort_of_flask_restful_keeps_its_message_and_keywords(app: Flask) -> None:
    response = app.test_client().get("/items/2")
    error = assert_api_error(response, "not_found", app=app, message="Item 2 doesn't exist")
    assert error.details["item_id"] == 2


def test_method_not_allowed_keeps_allow(app: Flask) -> None:
    response = app.test_client().delete("/items/1")
    assert_api_error(response, "method_not_allowed", app=app)
    assert {"GET", "POST", "PUT"} <= set(response.headers["Allow"].split(", "))


def test_reqparse_error_is_a_validation_error(app: Flask) -> None:
    # reqparse's message is Python's own ValueError text, quoting the value.
    response = app.test_client().post("/items/1", json={"rate": "x"})
    error = assert_api_error(response, "validation_error", app=app, status=400)
    assert [(v.field, v.message) for v in error.validation_errors] == [
        ("rate", "Not a valid integer.")
    ]


@pytest.mark.parametrize("bundle", [False, True])
def test_reqparse_never_quotes_a_secret_or_pythons_advice(bundle: bool) -> None:
    app = Flask("reqparse_secrets")
    api = RestfulApi(app)
    ApiErrors(app)
    parser = reqparse.RequestParser(bundle_errors=bundle)
    parser.add_argument("password", type=int, location="json")
    parser.add_argument("Authorization", type=int, location="headers")
    parser.add_argument("api_key", type=float, location="cookies", help="Bad key: {error_msg}")
    parser.add_argument("count", type=int, location="args")

    class Login(Resource):  # type: ignore[misc]
        def post(self) -> dict[str, t.Any]:
            return dict(parser.parse_args())

    api.add_resource(Login, "/login")
    client = app.test_client()
    client.set_cookie("api_key", "sk-live-cookie")
    response = client.post(
        "/login?count=" + "9" * 5000,
        json={"password": "hunter2"},
        headers={"Authorization": "Bearer sk-live-2"},
    )
    text = response.get_data(as_text=True)
    for leaked in ("hunter2", "sk-live", "set_int_max_str_digits", "invalid literal"):
        assert leaked not in text
    error = assert_api_error(response, "validation_error", app=app, status=400)
    bundled = {
        "password": "Not a valid integer.",
        "Authorization": "Not a valid integer.",
        "api_key": "Bad key: Not a valid number.",
        "count": "Not a valid integer.",
    }
    expected = bundled if bundle else {"password": "Not a valid integer."}
    assert {v.field: v.message for v in error.validation_errors} == expected


def test_reqparse_bundled_errors_and_help_texts(app: Flask) -> None:
    response = app.test_client().put("/items/1", json={"age": "old"})
    error = assert_api_error(response, "validation_error", app=app, status=400)
    assert [(v.field, v.message) for v in error.validation_errors] == [
        ("name", "Missing required parameter in the JSON body"),
        ("age", "Age is a whole number."),
    ]


def test_the_errors_of_the_api_still_apply(app: Flask) -> None:
    response = app.test_client().get("/items/3")
    error = assert_api_error(response, "conflict", app=app, message="Name already taken.")
    assert response.status_code == 409
    assert error.details == {"field": "name"}


@pytest.mark.parametrize("apierrors_first", [False, True])
def test_unhandled_exception_is_the_500_with_an_error_id(apierrors_first: bool) -> None:
    app = make_app(apierrors_first, testing=False)
    signalled: list[BaseException] = []

    def receiver(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
        signalled.append(exception)

    with got_request_exception.connected_to(receiver, app):
        response = app.test_client().get("/items/9")
    error = assert_api_error(response, "internal_server_error", app=app)
    assert error.details["error_id"].startswith("err_")
    assert "hunter2" not in response.text
    assert [type(e) for e in signalled] == [RuntimeError]
    # In testing, it propagates, as Flask's and Flask-RESTful's do.
    app.testing = True
    with pytest.raises(RuntimeError):
        app.test_client().get("/items/9")


def test_a_handler_of_the_app_for_the_class_still_answers() -> None:
    # Not in testing: Flask-RESTful then answers every exception itself.
    app = make_app(testing=False)
    errors = app.extensions["apierrors"].ext
    errors.register_exception(Teapot, "conflict", message="Short and stout")
    assert_api_error(app.test_client().get("/items/4"), "conflict", app=app)

    other = make_app(testing=False)

    @other.errorhandler(Teapot)
    def teapot(e: Teapot) -> tuple[dict[str, str], int]:
        return {"teapot": "yes"}, 418

    response = other.test_client().get("/items/4")
    assert (response.status_code, response.get_json()) == (418, {"teapot": "yes"})


def test_the_challenge_of_the_api_on_401() -> None:
    app = Flask("challenge")
    app.config["HTTP_BASIC_AUTH_REALM"] = "items"
    with_challenge = RestfulApi(
        Blueprint("v1", __name__, url_prefix="/v1"), serve_challenge_on_401=True
    )
    without = RestfulApi(Blueprint("v2", __name__, url_prefix="/v2"))
    for api in (with_challenge, without):
        add_resources(api)
        app.register_blueprint(api.blueprint)
    ApiErrors(app)
    client = app.test_client()
    response = client.get("/v1/items/5")
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="items"'
    other = client.get("/v2/items/5")
    assert_api_error(other, "unauthorized", app=app)
    assert "WWW-Authenticate" not in other.headers


def test_the_headers_of_an_exception_are_kept() -> None:
    app = Flask("headers")
    api = RestfulApi(app)
    ApiErrors(app)

    class Private(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise Unauthorized(www_authenticate=WWWAuthenticate("bearer"))

    class Busy(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise ServiceUnavailable(retry_after=30)

    api.add_resource(Private, "/private")
    api.add_resource(Busy, "/busy")
    client = app.test_client()
    private = client.get("/private")
    assert_api_error(private, "unauthorized", app=app)
    assert private.headers["WWW-Authenticate"] == WWWAuthenticate("bearer").to_header()
    busy = client.get("/busy")
    assert_api_error(busy, "service_unavailable", app=app)
    assert busy.headers["Retry-After"] == "30"


def test_catch_all_404s_are_apierrors() -> None:
    app = Flask("catch_all")
    ApiErrors(app)
    RestfulApi(app, catch_all_404s=True)
    assert_api_error(app.test_client().get("/nowhere"), "not_found", app=app)


def test_a_blueprint_api_registered_after_apierrors() -> None:
    app = Flask("late")
    ApiErrors(app)
    bp = Blueprint("api", __name__, url_prefix="/api")
    add_resources(RestfulApi(bp, errors=dict(ERRORS)))
    app.register_blueprint(bp)
    client = app.test_client()
    assert_api_error(client.get("/api/items/2"), "not_found", app=app)
    assert_api_error(client.get("/api/items/3"), "conflict", app=app)


def test_flask_restful_answers_where_apierrors_is_off() -> None:
    app = Flask("off")
    old = Blueprint("old", __name__, url_prefix="/old")
    new = Blueprint("new", __name__, url_prefix="/new")
    for bp in (old, new):
        add_resources(RestfulApi(bp, errors=dict(ERRORS)))
        app.register_blueprint(bp)
    errors = ApiErrors(app)
    errors.override(old, enabled=False)
    client = app.test_client()
    response = client.get("/old/items/2")
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Item 2 doesn't exist", "item_id": 2},
    )
    taken = client.get("/old/items/3")
    assert taken.status_code == 409
    assert taken.get_json() == {"message": "Name already taken.", "status": 409, "field": "name"}
    assert_api_error(client.get("/new/items/2"), "not_found", app=app)
    assert_api_error(client.get("/new/items/3"), "conflict", app=app)


def test_an_api_shared_with_an_app_without_apierrors() -> None:
    api = RestfulApi()
    add_resources(api)
    with_errors = Flask("with")
    api.init_app(with_errors)
    ApiErrors(with_errors)
    without = Flask("without")
    api.init_app(without)
    assert_api_error(with_errors.test_client().get("/items/2"), "not_found", app=with_errors)
    response = without.test_client().get("/items/2")
    assert response.get_json() == {"message": "Item 2 doesn't exist", "item_id": 2}
    parsed = without.test_client().post("/items/1", json={})
    assert parsed.get_json()["message"] == {"rate": "Missing required parameter in the JSON body"}


def test_an_api_subclass_with_its_own_handle_error_keeps_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class MyApi(RestfulApi):  # type: ignore[misc]
        def handle_error(self, e: Exception) -> t.Any:
            return {"mine": True}, 418

    app = Flask("own")
    api = MyApi(app)
    add_resources(api)
    ApiErrors(app)
    with caplog.at_level(logging.WARNING, logger="flask_apierrors"):
        response = app.test_client().get("/items/2")
    assert (response.status_code, response.get_json()) == (418, {"mine": True})
    assert not isinstance(vars(api).get("handle_error"), RestfulErrorHandler)
    assert any(
        "Flask-RESTful Api" in r.getMessage() and "MyApi.handle_error" in r.getMessage()
        for r in caplog.records
    )


def _searching(parser: t.Any, **config: t.Any) -> Flask:
    """An app in the ``problem`` format whose ``POST /search`` parses ``parser``."""
    app = Flask("reqparse_search")
    app.config.update(config)
    api = RestfulApi(app)
    ApiErrors(app, format="problem")

    class Search(Resource):  # type: ignore[misc]
        def post(self) -> dict[str, t.Any]:
            return dict(parser.parse_args())

    api.add_resource(Search, "/search")
    return app


def test_reqparse_errors_name_the_part_of_the_request_in_the_problem_format() -> None:
    parser = reqparse.RequestParser(bundle_errors=True)
    parser.add_argument("rate", type=int, location="json")
    parser.add_argument("page", type=int, location="args")
    parser.add_argument("X-Count", type=int, location="headers")
    parser.add_argument("name", required=True, location="json")
    response = (
        _searching(parser)
        .test_client()
        .post("/search?page=x", json={"rate": "y"}, headers={"X-Count": "z"})
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert body["errors"] == [
        {"detail": "Not a valid integer.", "pointer": "/rate"},
        {"detail": "Not a valid integer.", "parameter": "page"},
        {"detail": "Not a valid integer.", "header": "X-Count"},
        {"detail": "Missing required parameter in the JSON body", "pointer": "/name"},
    ]


def test_reqparse_errors_of_a_request_whose_body_cannot_be_read() -> None:
    parser = reqparse.RequestParser()
    parser.add_argument("page", type=int, location="args")
    client = _searching(parser, MAX_CONTENT_LENGTH=100).test_client()
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        response = client.post("/search?page=x", data="a" * 1000, content_type=content_type)
        assert response.status_code == 400
        # No 413 nor 500 from reading the body to find where "page" was.
        assert response.get_json()["errors"] == [
            {"detail": "Not a valid integer.", "parameter": "page"}
        ]
