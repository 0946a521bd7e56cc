"""Every Werkzeug exception, and the app's own subclasses, as JSON errors."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import Response
from flask import request
from werkzeug.exceptions import Conflict
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import default_exceptions

from flask_apierrors import Catalog
from flask_apierrors.catalog import code_for_exception_class

from .conftest import MakeApp

# -- every Werkzeug exception ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exc_class"),
    sorted(default_exceptions.items()),
    ids=[cls.__name__ for _, cls in sorted(default_exceptions.items())],
)
def test_every_werkzeug_exception(
    make_app: MakeApp, status: int, exc_class: type[HTTPException]
) -> None:
    app, _ = make_app(config={"PROPAGATE_EXCEPTIONS": False})

    @app.route("/raise", methods=["GET", "POST"])
    def raise_it() -> str:
        if exc_class.__name__ == "MethodNotAllowed":
            raise exc_class(valid_methods=["GET", "POST"])  # type: ignore[call-arg]
        if exc_class.__name__ == "Unauthorized":
            raise exc_class(www_authenticate=["Bearer"])  # type: ignore[call-arg]
        if exc_class.__name__ in {"TooManyRequests", "ServiceUnavailable"}:
            raise exc_class(retry_after=30)  # type: ignore[call-arg]
        raise exc_class()

    response = app.test_client().get("/raise")
    body = response.get_json()
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert body["error"] == code_for_exception_class(exc_class)
    assert body["message"]
    assert body["correlation_id"] == response.headers["X-Request-ID"]
    names = [name.lower() for name, _ in response.headers]
    assert len(names) == len(set(names)), f"duplicated header in {names}"
    assert "<" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("exc_name", "header", "expected"),
    [
        ("MethodNotAllowed", "Allow", "GET, POST"),
        ("Unauthorized", "WWW-Authenticate", "Bearer"),
        ("TooManyRequests", "Retry-After", "30"),
        ("ServiceUnavailable", "Retry-After", "30"),
    ],
)
def test_exception_headers_are_kept(
    make_app: MakeApp, exc_name: str, header: str, expected: str
) -> None:
    app, _ = make_app()
    exc_class = next(c for c in default_exceptions.values() if c.__name__ == exc_name)

    @app.get("/raise")
    def raise_it() -> str:
        if exc_name == "MethodNotAllowed":
            raise exc_class(valid_methods=["GET", "POST"])  # type: ignore[call-arg]
        if exc_name == "Unauthorized":
            raise exc_class(www_authenticate=["Bearer"])  # type: ignore[call-arg]
        raise exc_class(retry_after=30)  # type: ignore[call-arg]

    response = app.test_client().get("/raise")
    assert response.headers.getlist(header) == [expected]


def test_routing_405_has_allow_and_details(app: Flask) -> None:
    @app.post("/items")
    def items() -> str:
        return "ok"

    response = app.test_client().delete("/items")
    assert response.status_code == 405
    assert response.get_json()["details"] == {
        "method": "DELETE",
        "allowed_methods": ["OPTIONS", "POST"],
    }
    assert sorted(response.headers["Allow"].split(", ")) == ["OPTIONS", "POST"]


def test_abort_404_in_a_view_is_not_endpoint_not_found(app: Flask) -> None:
    @app.get("/things/<int:n>")
    def thing(n: int) -> str:
        raise NotFound()

    body = app.test_client().get("/things/1").get_json()
    assert body["message"] == "Resource not found"
    assert "details" not in body


def test_custom_description_becomes_the_message(app: Flask) -> None:
    @app.get("/things")
    def thing() -> str:
        raise NotFound("Thing not found")

    assert app.test_client().get("/things").get_json()["message"] == "Thing not found"


def test_undecodable_utf8_is_invalid_json(app: Flask) -> None:
    @app.post("/j")
    def j() -> t.Any:
        return request.get_json()

    response = app.test_client().post("/j", data=b'{"a": "\xff"}', content_type="application/json")
    body = response.get_json()
    assert response.status_code == 400
    assert body["error"] == "invalid_json"
    assert "utf-8" in body["details"]["json_error"]


def test_strict_slash_redirect_still_redirects(app: Flask) -> None:
    @app.get("/folder/")
    def folder() -> str:
        return "ok"

    response = app.test_client().get("/folder")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/folder/")


def test_a_users_specific_handler_wins(app: Flask) -> None:
    @app.errorhandler(404)
    def mine(e: HTTPException) -> tuple[str, int]:
        return "mine", 404

    assert app.test_client().get("/nothing").get_data(as_text=True) == "mine"


def test_abort_with_a_response_keeps_it(app: Flask) -> None:
    from flask import abort

    @app.get("/teapot")
    def teapot() -> str:
        abort(Response("short and stout", status=418))

    response = app.test_client().get("/teapot")
    assert (response.status_code, response.get_data(as_text=True)) == (418, "short and stout")


def test_register_exception_maps_a_class(make_app: MakeApp) -> None:
    class DatabaseDown(Exception):
        pass

    catalog = Catalog.default()
    catalog.add("database_error", 500, "Database operation failed")
    app, ext = make_app(catalog=catalog)
    ext.register_exception(DatabaseDown, "database_error")

    @app.get("/db")
    def db() -> str:
        raise DatabaseDown("password=hunter2")

    response = app.test_client().get("/db")
    assert response.status_code == 500
    assert response.get_json()["error"] == "database_error"
    assert "hunter2" not in response.get_data(as_text=True)


class BookNotFound(NotFound):
    description = "No book with this ISBN."


class QuietConflict(Conflict):
    pass


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (BookNotFound(), 404, "No book with this ISBN."),
        (BookNotFound("No book 42."), 404, "No book 42."),
        (QuietConflict(), 409, None),  # Werkzeug's text: the catalog's message instead
    ],
)
def test_an_apps_werkzeug_subclass_keeps_its_own_description(
    make_app: MakeApp, exc: HTTPException, status: int, message: str | None
) -> None:
    app, _ = make_app()

    @app.get("/raise")
    def raise_it() -> t.NoReturn:
        raise exc

    response = app.test_client().get("/raise")
    assert response.status_code == status
    expected = message or app.extensions["apierrors"].catalog.for_status(status).message
    assert response.get_json()["message"] == expected
