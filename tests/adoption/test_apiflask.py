"""APIFlask apps (the real APIFlask): abort/HTTPError, error processors and
the app's own handlers next to ApiErrors' format."""

from __future__ import annotations

import logging
import typing as t

import pytest
from apiflask import APIBlueprint
from apiflask import APIFlask
from apiflask import HTTPError
from apiflask import abort
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import Problem
from flask_apierrors.integrations.apiflask import ErrorCallback
from flask_apierrors.testing import assert_api_error

from .apiflask_app import app_fixture  # noqa: F401  (the ``app`` fixture)
from .apiflask_app import make_app


def legacy(problem: Problem) -> dict[str, t.Any]:
    """An old body shape, from the framework's own text."""
    return {"message": problem.description, "code": problem.status}


def test_abort_keeps_message_detail_and_extra_data(app: APIFlask) -> None:
    response = app.test_client().get("/pets/7")
    error = assert_api_error(response, "not_found", app=app, message="Pet not found")
    assert error.details == {"pet_id": 7, "hint": "list /pets"}


def test_http_error_headers_kept_and_reason_phrase_replaced(app: APIFlask) -> None:
    response = app.test_client().get("/plain")
    assert_api_error(response, "conflict", app=app, message="Conflict")
    assert response.headers["X-Reason"] == "taken"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/pets/7", {"message": "Pet not found", "code": 404}),
        ("/plain", {"message": "Conflict", "code": 409}),
        ("/token", {"message": "Unauthorized", "code": 401}),
    ],
)
def test_description_is_apiflasks_text(path: str, body: dict[str, t.Any]) -> None:
    app = make_app(format=legacy)[0]
    assert app.test_client().get(path).get_json() == body


def test_routing_errors_are_apierrors(app: APIFlask) -> None:
    assert_api_error(app.test_client().get("/nope"), "not_found", app=app)


def test_apiflask_answers_where_apierrors_is_off(app: APIFlask) -> None:
    response = app.test_client().get("/web/pets/1")
    assert response.status_code == 404
    assert response.get_json() == {"detail": {}, "message": "No such pet"}


@pytest.mark.parametrize("processor_first", [True, False], ids=["before", "after"])
def test_error_processor_answers_where_apierrors_is_off(
    processor_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Defined before ApiErrors or after it (APIFlask registers its handler
    # again then): ApiErrors answers, the processor where ApiErrors is off.
    app = APIFlask("processed")

    def processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"oops": error.message}, error.status_code

    if processor_first:
        app.error_processor(processor)
    errors = ApiErrors(app)
    web = APIBlueprint("web", __name__)

    @web.get("/web")
    def page() -> t.NoReturn:
        abort(418)

    @app.get("/api")
    def api() -> t.NoReturn:
        abort(418)

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    if not processor_first:
        app.error_processor(processor)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        assert_api_error(client.get("/nowhere"), "not_found", app=app)
    assert_api_error(client.get("/api"), "im_a_teapot", app=app)
    assert client.get("/web").get_json() == {"oops": "I'm a teapot"}
    assert isinstance(app.error_callback, ErrorCallback)
    assert not [r for r in caplog.records if "handle_werkzeug_errors" in r.getMessage()]


@pytest.mark.parametrize("status", [499, 200])
def test_http_error_subclass_of_a_status_werkzeug_does_not_know(status: int) -> None:
    # As for a Werkzeug HTTPException of that status: kept, with a code
    # named after the class.
    class ClientClosed(HTTPError):
        status_code = status
        message = "client closed"

    app = make_app()[0]

    @app.get("/closed")
    def closed() -> t.NoReturn:
        raise ClientClosed()

    response = app.test_client().get("/closed")
    assert_api_error(response, "client_closed", status, app=app, message="client closed")


def test_plain_flask_apps_are_left_alone() -> None:
    app = Flask("plain")
    ApiErrors(app)
    assert not hasattr(app, "error_callback")


@pytest.mark.parametrize("handler_first", [True, False], ids=["before", "after"])
def test_the_apps_own_http_error_handler_keeps_answering(
    handler_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = APIFlask("own_http_error")

    def mine(e: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"mine": e.message}, e.status_code

    if handler_first:
        app.register_error_handler(HTTPError, mine)
    ApiErrors(app)
    if not handler_first:
        app.register_error_handler(HTTPError, mine)

    @app.get("/x")
    def x() -> t.NoReturn:
        abort(409, message="dup")

    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = client.get("/x")
    assert (response.status_code, response.get_json()) == (409, {"mine": "dup"})
    assert caplog.records == []
    # APIFlask's HTTPException handler is still taken over.
    assert_api_error(client.get("/missing"), "not_found", app=app)
