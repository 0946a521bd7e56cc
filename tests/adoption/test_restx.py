"""flask-restx apps (the real flask-restx): the errors of its routes, which
restx answers itself, come out in ApiErrors' format; its own error
handlers still answer."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort as flask_abort
from flask import got_request_exception
from flask_restx import Api
from flask_restx import Namespace
from flask_restx import Resource
from flask_restx import abort
from flask_restx import fields
from werkzeug.exceptions import HTTPException

from flask_apierrors import ApiErrors
from flask_apierrors.integrations.restx import RestxErrorHandler
from flask_apierrors.testing import assert_api_error

from . import set_up


class PetMissing(Exception):
    pass


class Teapot(Exception):
    pass


def build_api(api: Api) -> None:
    ns = Namespace("pets", path="/pets")
    owner = ns.model("Owner", {"name": fields.String(required=True)})
    pet = ns.model(
        "Pet",
        {
            "name": fields.String(required=True),
            "age": fields.Integer,
            "owner": fields.Nested(owner),
            "tags": fields.List(fields.String),
        },
    )

    @ns.route("/<int:pet_id>")
    class PetResource(Resource):  # type: ignore[misc]
        def get(self, pet_id: int) -> None:
            abort(404, "Pet not found")

        @ns.expect(pet, validate=True)  # type: ignore[untyped-decorator]
        def put(self, pet_id: int) -> dict[str, t.Any]:
            return {}

    @ns.route("/missing")
    class Missing(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise PetMissing()

    @ns.route("/teapot")
    class TeapotResource(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise Teapot()

    @ns.route("/boom")
    class Boom(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise KeyError("secret")

    @ns.errorhandler(PetMissing)  # type: ignore[untyped-decorator]
    def pet_missing(e: PetMissing) -> tuple[dict[str, str], int]:
        return {"message": "gone"}, 410

    api.add_namespace(ns)


def make_app(apierrors_first: bool = False, testing: bool = True, **options: t.Any) -> Flask:
    app = Flask("restx_app")
    app.config["TESTING"] = testing
    api = Api()
    build_api(api)

    @api.errorhandler(Teapot)  # type: ignore[untyped-decorator]
    def teapot(e: Teapot) -> tuple[dict[str, str], int]:
        return {"message": "short and stout"}, 418

    set_up(app, api.init_app, apierrors_first, **options)
    return app


@pytest.fixture(params=[False, True], ids=["restx-first", "apierrors-first"])
def app(request: pytest.FixtureRequest) -> Flask:
    return make_app(apierrors_first=request.param)


def test_abort_keeps_its_message(app: Flask) -> None:
    response = app.test_client().get("/pets/1")
    # restx's "You have requested this URI ..." hint is not added.
    assert_api_error(response, "not_found", app=app, message="Pet not found")


def test_abort_keeps_its_other_keywords_as_details() -> None:
    # restx's body showed every keyword of its abort.
    app = Flask("keywords")
    api = Api(app)
    ApiErrors(app)

    @api.route("/pets/<int:pet_id>")
    class Pet(Resource):  # type: ignore[misc]
        def get(self, pet_id: int) -> None:
            abort(404, "Pet not found", pet_id=pet_id)

    error = assert_api_error(app.test_client().get("/pets/7"), "not_found", app=app)
    assert (error.message, error.details["pet_id"]) == ("Pet not found", 7)


def test_method_not_allowed(app: Flask) -> None:
    response = app.test_client().delete("/pets/1")
    assert_api_error(response, "method_not_allowed", app=app)
    assert "PUT" in response.headers["Allow"]


def test_payload_validation(app: Flask) -> None:
    response = app.test_client().put("/pets/1", json={"age": "old"})
    error = assert_api_error(response, "validation_error", app=app)
    assert error.message == "Input payload validation failed"
    assert sorted((v.field, v.message) for v in error.validation_errors) == [
        ("age", "'old' is not of type 'integer'"),
        ("name", "'name' is a required property"),
    ]


def test_payload_validation_paths(app: Flask) -> None:
    response = app.test_client().put("/pets/1", json={"name": "Rex", "owner": {}, "tags": ["a", 3]})
    error = assert_api_error(response, "validation_error", app=app)
    assert sorted(v.field for v in error.validation_errors) == ["owner.name", "tags[1]"]


def test_unhandled_exception_is_the_500_with_an_error_id() -> None:
    app = make_app(testing=False)
    response = app.test_client().get("/pets/boom")
    error = assert_api_error(response, "internal_server_error", app=app)
    assert error.details["error_id"].startswith("err_")
    assert "secret" not in response.text


def test_unhandled_exception_propagates_in_testing(app: Flask) -> None:
    with pytest.raises(KeyError):
        app.test_client().get("/pets/boom")


def test_restx_handlers_of_the_app_still_answer(app: Flask) -> None:
    client = app.test_client()
    missing = client.get("/pets/missing")
    assert (missing.status_code, missing.get_json()) == (410, {"message": "gone"})
    teapot = client.get("/pets/teapot")
    assert (teapot.status_code, teapot.get_json()) == (418, {"message": "short and stout"})


def test_routing_404_outside_restx(app: Flask) -> None:
    assert_api_error(app.test_client().get("/nowhere"), "not_found", app=app)


def test_an_exception_handler_of_the_app_keeps_restx_in_charge() -> None:
    app = Flask("own")
    api = Api(app)
    build_api(api)

    @api.errorhandler(Exception)  # type: ignore[untyped-decorator]
    def everything(e: Exception) -> tuple[dict[str, str], int]:
        return {"message": "handled"}, 400

    ApiErrors(app)
    response = app.test_client().get("/pets/boom")
    assert (response.status_code, response.get_json()) == (400, {"message": "handled"})
    assert not any(
        isinstance(handler, RestxErrorHandler)
        for ns in api.namespaces
        for handler in ns.error_handlers.values()
    )


def test_restx_default_where_apierrors_is_off() -> None:
    app = Flask("off")
    bp = Blueprint("api", __name__, url_prefix="/api")
    api = Api(bp)
    build_api(api)
    app.register_blueprint(bp)
    errors = ApiErrors(app)
    errors.override(bp, enabled=False)
    response = app.test_client().get("/api/pets/1")
    assert response.status_code == 404
    assert response.get_json()["message"].startswith("Pet not found.")


def test_an_api_shared_with_an_app_without_apierrors() -> None:
    api = Api()
    build_api(api)
    with_errors = Flask("with")
    api.init_app(with_errors)
    ApiErrors(with_errors)
    without = Flask("without")
    without.config["ERROR_INCLUDE_MESSAGE"] = False
    api.init_app(without)
    assert_api_error(with_errors.test_client().get("/pets/1"), "not_found", app=with_errors)
    response = without.test_client().get("/pets/1")
    assert (response.status_code, response.get_json()) == (404, {"message": "Pet not found"})
    boom = without.test_client().get("/pets/boom")
    assert (boom.status_code, boom.get_json()) == (500, {"message": "Internal Server Error"})


def test_blueprint_api_registered_after_apierrors() -> None:
    app = Flask("late")
    errors = ApiErrors(app)
    bp = Blueprint("api", __name__, url_prefix="/api")
    build_api(Api(bp))
    app.register_blueprint(bp)
    assert errors is not None
    assert_api_error(app.test_client().get("/api/pets/1"), "not_found", app=app)


def test_a_status_page_of_the_app_does_not_take_restx_errors() -> None:
    # A mixed app: an HTML 404 page for its pages, restx for its API. Without
    # ApiErrors restx answers its own routes' 404s; with it, ApiErrors does.
    app = make_app()

    @app.errorhandler(404)
    def page(e: Exception) -> tuple[str, int]:
        return "<h1>Page not found</h1>", 404

    @app.get("/page/<int:n>")
    def html_page(n: int) -> str:
        flask_abort(404)

    client = app.test_client()
    response = client.get("/pets/1")
    assert_api_error(response, "not_found", app=app, message="Pet not found")
    assert response.headers["X-Request-ID"]
    not_allowed = client.delete("/pets/1")
    assert_api_error(not_allowed, "method_not_allowed", app=app)
    assert "PUT" in not_allowed.headers["Allow"]
    page_response = client.get("/page/1")
    assert (page_response.status_code, page_response.mimetype) == (404, "text/html")
    assert page_response.text == "<h1>Page not found</h1>"


def test_a_response_aborted_with_is_sent_as_it_is() -> None:
    app = Flask("raw")
    api = Api(app)
    ApiErrors(app)

    @api.route("/v2/raw")
    class Raw(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            flask_abort(Response("short and stout", 418, mimetype="text/plain"))

    response = app.test_client().get("/v2/raw")
    assert (response.status_code, response.text) == (418, "short and stout")


class Maintenance(Exception):
    pass


def default_handler_app(enabled: bool, handler_first: bool) -> tuple[Flask, Api]:
    app = Flask("default_handler")
    api = Api(app)

    @api.route("/down")
    class Down(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise Maintenance("db down")

    @api.route("/nothing")
    class Nothing(Resource):  # type: ignore[misc]
        def get(self) -> None:
            abort(404, "Nothing here")

    def default_error_handler(error: Exception) -> tuple[dict[str, str], int, dict[str, str]]:
        return {"message": "some maintenance"}, 503, {"Retry-After": "120"}

    if handler_first:
        api.errorhandler(default_error_handler)
        ApiErrors(app, enabled=enabled)
    else:
        ApiErrors(app, enabled=enabled)
        api.errorhandler(default_error_handler)
    return app, api


@pytest.mark.parametrize("handler_first", [True, False], ids=["handler-first", "apierrors-first"])
@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
def test_the_default_error_handler_of_the_api_still_answers(
    enabled: bool, handler_first: bool
) -> None:
    # @api.errorhandler with no class: restx's answer to the exceptions of its
    # routes that no handler of a class takes, as without ApiErrors.
    app, api = default_handler_app(enabled, handler_first)
    client = app.test_client()
    response = client.get("/down")
    assert (response.status_code, response.get_json()) == (503, {"message": "some maintenance"})
    assert response.headers["Retry-After"] == "120"
    # HTTP errors are still ApiErrors' where it is on.
    nothing = client.get("/nothing")
    if enabled:
        assert_api_error(nothing, "not_found", app=app, message="Nothing here")
    else:
        assert nothing.status_code == 404
        assert nothing.get_json()["message"].startswith("Nothing here")
    # Installed once, on HTTPException, though installed at init_app and at the first request.
    ours = [
        (exc_type, handler)
        for ns in api.namespaces
        for exc_type, handler in ns.error_handlers.items()
        if isinstance(handler, RestxErrorHandler)
    ]
    assert [(exc_type, handler.api) for exc_type, handler in ours] == [(HTTPException, api)]


def test_the_challenge_of_restx_on_401() -> None:
    app = Flask("challenge")
    app.config["HTTP_BASIC_AUTH_REALM"] = "pets"
    with_challenge = Api(Blueprint("v1", __name__, url_prefix="/v1"), serve_challenge_on_401=True)
    without = Api(Blueprint("v2", __name__, url_prefix="/v2"))
    for api in (with_challenge, without):

        @api.route("/private")
        class Private(Resource):  # type: ignore[misc]
            def get(self) -> None:
                abort(401)

        app.register_blueprint(api.blueprint)
    ApiErrors(app)
    client = app.test_client()
    response = client.get("/v1/private")
    # ApiErrors' 401, with the challenge restx adds to the 401s of this Api.
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pets"'
    other = client.get("/v2/private")
    assert_api_error(other, "unauthorized", app=app)
    assert "WWW-Authenticate" not in other.headers


def test_a_500_page_of_the_app_does_not_take_restx_errors() -> None:
    # Without ApiErrors restx answers its routes' unhandled errors with its
    # JSON 500; with it, ApiErrors does, not the app's HTML 500 page.
    app = make_app(testing=False)

    @app.errorhandler(500)
    def page(e: Exception) -> tuple[str, int]:
        return "<h1>Oops</h1>", 500

    @app.get("/page")
    def html_page() -> t.NoReturn:
        raise KeyError("page")

    signalled: list[BaseException] = []

    def receiver(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
        signalled.append(exception)

    client = app.test_client()
    with got_request_exception.connected_to(receiver, app):
        response = client.get("/pets/boom")
    error = assert_api_error(response, "internal_server_error", app=app)
    assert response.mimetype == "application/json"
    assert error.details["error_id"].startswith("err_")
    assert "Oops" not in response.text and "secret" not in response.text
    assert [type(e) for e in signalled] == [KeyError]
    page_response = client.get("/page")
    assert (page_response.status_code, page_response.mimetype) == (500, "text/html")
    assert page_response.text == "<h1>Oops</h1>"


def test_a_handler_of_the_app_for_the_class_still_answers_restx_errors() -> None:
    # Flask's handler for the class answers, be it the app's or one ApiErrors
    # registered for it.
    app = Flask("by_class")
    api = Api(app)
    build_api(api)
    errors = ApiErrors(app)
    errors.register_exception(KeyError, "conflict")

    @api.route("/lookup")
    class Lookup(Resource):  # type: ignore[misc]
        def get(self) -> t.NoReturn:
            raise LookupError("lookup")

    @app.errorhandler(LookupError)
    def lookup(e: LookupError) -> tuple[dict[str, str], int]:
        return {"lookup": "failed"}, 409

    client = app.test_client()
    assert_api_error(client.get("/pets/boom"), "conflict", app=app)
    response = client.get("/lookup")
    assert (response.status_code, response.get_json()) == (409, {"lookup": "failed"})
