"""APIFairy apps (the real APIFairy): its webargs-based validation errors in
ApiErrors' format, whichever of APIFairy and ApiErrors is set up first; its
auth (Flask-HTTPAuth) through ``api_errors(auth)``."""

from __future__ import annotations

import logging
import typing as t

import marshmallow as ma
import pytest
from apifairy import APIFairy
from apifairy import arguments
from apifairy import authenticate
from apifairy import body
from apifairy.exceptions import ValidationError
from flask import Blueprint
from flask import Flask
from flask_httpauth import HTTPBasicAuth

from flask_apierrors import ApiErrors
from flask_apierrors.integrations.httpauth import api_errors
from flask_apierrors.state import get_state
from flask_apierrors.testing import assert_api_error

from . import set_up


class PetSchema(ma.Schema):
    name = ma.fields.String(required=True)
    age = ma.fields.Integer()


class PageSchema(ma.Schema):
    page = ma.fields.Integer(required=True)


def make_app(apierrors_first: bool = False, **options: t.Any) -> Flask:
    app = Flask("fairy")
    app.config["TESTING"] = True
    fairy = APIFairy()
    errors = set_up(app, fairy.init_app, apierrors_first, **options)
    auth = api_errors(HTTPBasicAuth())

    @auth.verify_password  # type: ignore[untyped-decorator]
    def verify(username: str, password: str) -> str | None:
        return username if password == "pw" else None

    @app.post("/pets")
    @body(PetSchema)  # type: ignore[untyped-decorator]
    def create(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    @app.get("/pets")
    @arguments(PageSchema)  # type: ignore[untyped-decorator]
    def listing(args: dict[str, t.Any]) -> dict[str, t.Any]:
        return args

    @app.post("/strict")
    @body(PetSchema, error_status_code=409)  # type: ignore[untyped-decorator]
    def strict(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    @app.get("/me")
    @authenticate(auth)  # type: ignore[untyped-decorator]
    def me() -> str:
        return "me"

    web = Blueprint("web", __name__, url_prefix="/web")

    @web.post("/pets")
    @body(PetSchema)  # type: ignore[untyped-decorator]
    def web_create(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    return app


@pytest.fixture(params=[False, True], ids=["apifairy-first", "apierrors-first"])
def app(request: pytest.FixtureRequest) -> Flask:
    return make_app(apierrors_first=request.param)


def test_body_validation(app: Flask) -> None:
    response = app.test_client().post("/pets", json={"age": "old"})
    assert_api_error(response, "validation_error", app=app)
    assert response.get_json()["details"]["validation_errors"] == [
        {"field": "name", "message": "Field required", "invalid_value": None, "location": "json"},
        {
            "field": "age",
            "message": "Not a valid integer.",
            "invalid_value": "old",
            "location": "json",
        },
    ]


def test_query_validation(app: Flask) -> None:
    response = app.test_client().get("/pets?page=x")
    assert_api_error(response, "validation_error", app=app)
    [entry] = response.get_json()["details"]["validation_errors"]
    assert (entry["field"], entry["location"], entry["invalid_value"]) == ("page", "query", "x")


def test_validation_status_setting() -> None:
    app = make_app(validation_status=422)
    response = app.test_client().post("/pets", json={})
    assert_api_error(response, "validation_error", 422, app=app)


def test_a_status_chosen_for_the_route_is_kept(app: Flask) -> None:
    response = app.test_client().post("/strict", json={})
    assert_api_error(response, "validation_error", 409, app=app)


def test_auth_with_api_errors(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/me", auth=("alice", "nope"))
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
    assert client.get("/me", auth=("alice", "pw")).text == "me"


def test_apifairy_answers_where_apierrors_is_off(app: Flask) -> None:
    response = app.test_client().post("/web/pets", json={})
    assert response.status_code == 400
    assert response.get_json() == {
        "messages": {"json": {"name": ["Missing data for required field."]}}
    }
    assert ValidationError in get_state(app).displaced


def test_apps_without_apifairy_get_no_handler() -> None:
    app = Flask("plain")
    ApiErrors(app)
    app.test_client().get("/")
    assert ValidationError not in app.error_handler_spec[None][None]


@pytest.mark.parametrize("apierrors_first", [False, True])
def test_the_apps_error_handler_is_named(
    apierrors_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask("fairy_own")
    app.config["TESTING"] = True
    fairy = APIFairy()
    set_up(app, fairy.init_app, apierrors_first)

    @fairy.error_handler  # type: ignore[untyped-decorator]
    def own(status: int, messages: dict[str, t.Any]) -> tuple[dict[str, t.Any], int]:
        return {"own": messages}, status

    @app.post("/pets")
    @body(PetSchema)  # type: ignore[untyped-decorator]
    def create(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().post("/pets", json={})
    assert_api_error(response, "validation_error", app=app)
    warnings = [r.getMessage() for r in caplog.records if "APIFairy" in r.getMessage()]
    assert len(warnings) == 1
    assert "@apifairy.error_handler" in warnings[0]
    assert ".<locals>.own" in warnings[0]


def test_no_warning_without_an_error_handler(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        app.test_client().post("/pets", json={})
    assert not [r for r in caplog.records if "APIFairy" in r.getMessage()]


@pytest.mark.parametrize("handler_first", [True, False], ids=["before", "after"])
def test_the_apps_own_handler_for_the_class_keeps_answering(
    handler_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask("fairy_own_handler")
    app.config["TESTING"] = True
    APIFairy(app)

    def mine(e: ValidationError) -> tuple[dict[str, t.Any], int]:
        return {"mine": e.messages}, 400

    if handler_first:
        app.register_error_handler(ValidationError, mine)
    ApiErrors(app)
    if not handler_first:
        app.register_error_handler(ValidationError, mine)

    @app.get("/pets")
    @arguments(PageSchema)  # type: ignore[untyped-decorator]
    def listing(args: dict[str, t.Any]) -> dict[str, t.Any]:
        return args

    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().get("/pets?page=x")
    assert response.get_json() == {"mine": {"query": {"page": ["Not a valid integer."]}}}
    assert caplog.records == []


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_an_authenticate_auth_answers_through_apierrors_without_api_errors(
    apierrors_first: bool,
) -> None:
    # Forgetting api_errors(auth) gave Flask-HTTPAuth's text/html
    # "Unauthorized Access" on a JSON API, with no word of warning.
    app = Flask("fairy_auth")
    set_up(app, APIFairy().init_app, apierrors_first)
    auth = HTTPBasicAuth(realm="pets")

    @auth.verify_password  # type: ignore[untyped-decorator]
    def verify(username: str, password: str) -> str | None:
        return None

    @app.get("/me")
    @authenticate(auth)  # type: ignore[untyped-decorator]
    def me() -> dict[str, str]:
        return {"me": "?"}

    response = app.test_client().get("/me")
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pets"'


def test_an_authenticate_auth_keeps_its_callback_where_apierrors_is_off() -> None:
    app = Flask("fairy_auth_off")
    APIFairy(app)
    errors = ApiErrors(app)
    pages = Blueprint("pages", __name__, url_prefix="/pages")
    errors.override(pages, enabled=False)
    auth = HTTPBasicAuth()

    @auth.verify_password  # type: ignore[untyped-decorator]
    def verify(username: str, password: str) -> str | None:
        return None

    @auth.error_handler  # type: ignore[untyped-decorator]
    def mine(status: int) -> tuple[str, int]:
        return "<p>sign in</p>", status

    @pages.get("/me")
    @authenticate(auth)  # type: ignore[untyped-decorator]
    def page() -> str:
        return "me"

    @app.get("/api/me")
    @authenticate(auth)  # type: ignore[untyped-decorator]
    def api_me() -> dict[str, str]:
        return {"me": "?"}

    app.register_blueprint(pages)
    client = app.test_client()
    assert_api_error(client.get("/api/me"), "unauthorized", app=app)
    assert client.get("/pages/me").text == "<p>sign in</p>"


def test_an_authenticate_auths_own_callback_is_named(caplog: pytest.LogCaptureFixture) -> None:
    # microblog-api answers 401s with "WWW-Authenticate: Form" (no browser
    # login dialog): ApiErrors answers instead, so it says so once.
    app = Flask("fairy_auth_named")
    APIFairy(app)
    ApiErrors(app)
    auth, plain = HTTPBasicAuth(), HTTPBasicAuth()

    @auth.error_handler  # type: ignore[untyped-decorator]
    def form_challenge(status: int = 401) -> t.Any:
        return {"code": status}, status, {"WWW-Authenticate": "Form"}

    @app.post("/tokens")
    @authenticate(auth)  # type: ignore[untyped-decorator]
    @authenticate(plain)  # type: ignore[untyped-decorator]
    def tokens() -> dict[str, str]:
        return {}

    with caplog.at_level(logging.WARNING, logger="flask_apierrors"):
        response = app.test_client().post("/tokens")
        app.test_client().post("/tokens")
    assert_api_error(response, "unauthorized", app=app)
    named = [r.getMessage() for r in caplog.records if "Flask-HTTPAuth" in r.getMessage()]
    assert len(named) == 1
    assert "@auth.error_handler" in named[0] and "form_challenge" in named[0]
