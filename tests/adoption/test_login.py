"""Flask-Login (the real package): its 401 is an ApiErrors body whichever
is set up first; its redirect to a login view is left alone."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import abort
from flask import redirect
from flask import request
from flask_login import LoginManager
from flask_login import fresh_login_required
from flask_login import login_required
from flask_login import login_url

from flask_apierrors import ApiErrors
from flask_apierrors.testing import assert_api_error

from . import set_up


def make_app(apierrors_first: bool, login_view: str | None = None) -> Flask:
    app = Flask("login_app")
    app.config.update(TESTING=True, SECRET_KEY="s")
    manager = LoginManager()
    set_up(app, manager.init_app, apierrors_first)
    manager.login_view = login_view

    @manager.user_loader  # type: ignore[untyped-decorator]
    def load(user_id: str) -> None:
        return None

    @app.get("/login")
    def login() -> str:
        return "the login page"

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/me")
    @login_required  # type: ignore[untyped-decorator]
    def me() -> str:
        return "me"

    @api.get("/fresh")
    @fresh_login_required  # type: ignore[untyped-decorator]
    def fresh() -> str:
        return "fresh"

    app.register_blueprint(api)
    # API routes answer 401 even when the app's pages redirect.
    manager.blueprint_login_views["api"] = None
    return app


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_unauthorized_is_an_api_error(apierrors_first: bool) -> None:
    app = make_app(apierrors_first)
    response = app.test_client().get("/api/me")
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_needs_refresh_is_an_api_error(apierrors_first: bool) -> None:
    app = make_app(apierrors_first)
    assert_api_error(app.test_client().get("/api/fresh"), "unauthorized", app=app)


def test_login_view_redirect_left_alone() -> None:
    app = make_app(True, login_view="login")

    @app.get("/page")
    @login_required  # type: ignore[untyped-decorator]
    def page() -> str:
        return "page"

    response = app.test_client().get("/page")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert_api_error(app.test_client().get("/api/me"), "unauthorized", app=app)


def test_the_recipe_of_the_docs_reaches_nested_blueprints() -> None:
    # docs/adopting.rst: blueprint_login_views is looked up by the innermost
    # blueprint's name only ("api.v1"); the unauthorized_handler sees them all.
    app = Flask("nested_login")
    app.config.update(TESTING=True, SECRET_KEY="s")
    ApiErrors(app)
    manager = LoginManager(app)
    manager.login_view = "login"
    manager.user_loader(lambda user_id: None)

    @manager.unauthorized_handler  # type: ignore[untyped-decorator]
    def unauthorized() -> t.Any:
        if "api" in request.blueprints:
            abort(401)
        return redirect(login_url(manager.login_view, next_url=request.url))

    @app.get("/login")
    def login() -> str:
        return "the login page"

    @app.get("/page")
    @login_required  # type: ignore[untyped-decorator]
    def page() -> str:
        return "page"

    api = Blueprint("api", __name__, url_prefix="/api")
    v1 = Blueprint("v1", __name__, url_prefix="/v1")

    @api.get("/me")
    @login_required  # type: ignore[untyped-decorator]
    def me_flat() -> str:
        return "me"

    @v1.get("/me")
    @login_required  # type: ignore[untyped-decorator]
    def me() -> str:
        return "me"

    api.register_blueprint(v1)
    app.register_blueprint(api)
    client = app.test_client()
    for path in ("/api/me", "/api/v1/me"):
        assert_api_error(client.get(path), "unauthorized", app=app)
    response = client.get("/page")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
