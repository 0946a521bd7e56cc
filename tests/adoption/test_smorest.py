"""flask-smorest apps (the real flask-smorest): ``abort`` as apps call it
keeps its status, message, headers and field errors."""

from __future__ import annotations

import logging
import typing as t

import marshmallow as ma
import pytest
from flask import Flask
from flask_smorest import Api
from flask_smorest import Blueprint
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from flask_apierrors.state import get_state
from flask_apierrors.testing import assert_api_error

from . import set_up

SMOREST_CONFIG: t.Final = {
    "TESTING": True,
    "API_TITLE": "Pets",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.2",
}


class PetSchema(ma.Schema):
    name = ma.fields.String(required=True)


def pets() -> Blueprint:
    bp = Blueprint("pets", __name__, url_prefix="/pets")

    @bp.route("/by-location")  # type: ignore[untyped-decorator]
    def by_location() -> None:
        abort(422, messages={"json": {"name": ["Bad name."]}})

    @bp.route("/by-field")  # type: ignore[untyped-decorator]
    def by_field() -> None:
        abort(422, messages={"name": ["Bad name."], "address": {"city": ["Unknown city."]}})

    @bp.route("/message-and-errors")  # type: ignore[untyped-decorator]
    def message_and_errors() -> None:
        abort(422, message="Invalid pet", errors={"name": ["Bad name."]})

    @bp.route("/locations")  # type: ignore[untyped-decorator]
    def locations() -> None:
        abort(
            400,
            errors={"json": {"name": ["Bad name."]}, "query": {"page": ["Not a number."]}},
        )

    @bp.route("/conflict")  # type: ignore[untyped-decorator]
    def conflict() -> None:
        abort(409, message="Pet exists", errors={"name": ["Taken."]})

    @bp.route("/message")  # type: ignore[untyped-decorator]
    def message() -> None:
        abort(404, message="Pet not found")

    @bp.route("/headers")  # type: ignore[untyped-decorator]
    def headers() -> None:
        abort(401, message="Token expired", headers={"WWW-Authenticate": 'Bearer error="x"'})

    @bp.route("/plain")  # type: ignore[untyped-decorator]
    def plain() -> None:
        abort(404)

    @bp.route("/parsed", methods=["POST"])  # type: ignore[untyped-decorator]
    @bp.arguments(PetSchema)  # type: ignore[untyped-decorator]
    def parsed(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    return bp


def make_app(apierrors_first: bool = False, **options: t.Any) -> Flask:
    app = Flask("smorest_app")
    app.config.update(SMOREST_CONFIG)
    api = Api()
    set_up(app, api.init_app, apierrors_first, **options)
    api.register_blueprint(pets())
    return app


@pytest.fixture
def app() -> Flask:
    return make_app()


def entries(response: t.Any) -> list[dict[str, t.Any]]:
    return t.cast("list[dict[str, t.Any]]", response.get_json()["details"]["validation_errors"])


def test_messages_by_location(app: Flask) -> None:
    response = app.test_client().get("/pets/by-location")
    assert_api_error(response, "validation_error", 422, app=app)
    assert entries(response) == [{"field": "name", "message": "Bad name.", "invalid_value": None}]


def test_messages_by_field(app: Flask) -> None:
    response = app.test_client().get("/pets/by-field")
    assert_api_error(response, "validation_error", 422, app=app)
    assert [(e["field"], e["message"]) for e in entries(response)] == [
        ("name", "Bad name."),
        ("address.city", "Unknown city."),
    ]


def test_message_and_errors_kept(app: Flask) -> None:
    response = app.test_client().get("/pets/message-and-errors")
    assert_api_error(response, "validation_error", 422, app=app, message="Invalid pet")
    assert entries(response) == [{"field": "name", "message": "Bad name.", "invalid_value": None}]


def test_several_locations_are_named(app: Flask) -> None:
    response = app.test_client().get("/pets/locations")
    assert_api_error(response, "validation_error", 400, app=app)
    assert [(e["location"], e["field"]) for e in entries(response)] == [
        ("json", "name"),
        ("query", "page"),
    ]


def test_field_errors_of_another_status(app: Flask) -> None:
    response = app.test_client().get("/pets/conflict")
    assert_api_error(response, "validation_error", 409, app=app, message="Pet exists")
    assert entries(response) == [{"field": "name", "message": "Taken.", "invalid_value": None}]


def test_message_only(app: Flask) -> None:
    response = app.test_client().get("/pets/message")
    assert_api_error(response, "not_found", app=app, message="Pet not found")


def test_headers_kept(app: Flask) -> None:
    response = app.test_client().get("/pets/headers")
    assert_api_error(response, "unauthorized", app=app, message="Token expired")
    assert response.headers["WWW-Authenticate"] == 'Bearer error="x"'


def test_bare_abort(app: Flask) -> None:
    assert_api_error(app.test_client().get("/pets/plain"), "not_found", app=app)


def test_parser_errors_still_the_webargs_integrations(app: Flask) -> None:
    response = app.test_client().post("/pets/parsed", json={"name": 3})
    assert_api_error(response, "validation_error", app=app)
    assert entries(response) == [
        {"field": "name", "message": "Not a valid string.", "invalid_value": 3}
    ]


def test_apierrors_before_api() -> None:
    # Api(app) replaces ApiErrors' HTTPException handler; it is taken back
    # at the first request, and kept for where ApiErrors is off.
    app = make_app(apierrors_first=True)
    client = app.test_client()
    response = client.get("/pets/message-and-errors")
    assert_api_error(response, "validation_error", 422, app=app, message="Invalid pet")
    assert_api_error(client.get("/nowhere"), "not_found", app=app)
    assert HTTPException in get_state(app).displaced


def test_smorest_answers_where_apierrors_is_off() -> None:
    app = make_app(enabled=False)
    response = app.test_client().get("/pets/message-and-errors")
    assert response.status_code == 422
    assert response.get_json() == {
        "code": 422,
        "status": "Unprocessable Entity",
        "message": "Invalid pet",
        "errors": {"name": ["Bad name."]},
    }


class CustomApi(Api):  # type: ignore[misc]
    def handle_http_exception(self, error: HTTPException) -> tuple[dict[str, t.Any], int]:
        message = getattr(error, "data", {}).get("message", error.description)
        return {"status": "fail", "message": message}, error.code or 500


@pytest.mark.parametrize("apierrors_first", [True, False], ids=["before", "after"])
def test_an_api_subclass_handler_is_the_apps_own(
    apierrors_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Its own handle_http_exception is not flask-smorest's: the core's rules
    # apply (it wins set up after ApiErrors, is replaced set up before), and
    # a warning names it either way.
    app = Flask("custom_api")
    app.config.update(SMOREST_CONFIG)
    api = CustomApi()
    set_up(app, api.init_app, apierrors_first)
    api.register_blueprint(pets())
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().get("/pets/message")
    if apierrors_first:
        assert response.status_code == 404
        assert response.get_json() == {"status": "fail", "message": "Pet not found"}
    else:
        assert_api_error(response, "not_found", app=app, message="Pet not found")
    assert [r for r in caplog.records if "CustomApi.handle_http_exception" in r.getMessage()]
