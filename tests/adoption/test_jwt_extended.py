"""flask-jwt-extended (the real package): its errors in ApiErrors' format,
whichever of JWTManager and ApiErrors is set up first."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask_jwt_extended import JWTManager
from flask_jwt_extended import create_access_token
from flask_jwt_extended import create_refresh_token
from flask_jwt_extended import jwt_required
from flask_jwt_extended.exceptions import NoAuthorizationError
from jwt import ExpiredSignatureError

from flask_apierrors import ApiErrors
from flask_apierrors import Problem
from flask_apierrors.integrations.base import Context
from flask_apierrors.state import get_state
from flask_apierrors.testing import assert_api_error

from . import set_up

SECRET: t.Final = "a-secret-of-at-least-thirty-two-bytes"


def make_app(apierrors_first: bool = False, **options: t.Any) -> tuple[Flask, ApiErrors]:
    app = Flask("jwt_app")
    app.config.update(TESTING=True, JWT_SECRET_KEY=SECRET)
    jwt = JWTManager()
    errors = set_up(app, jwt.init_app, apierrors_first, **options)

    @jwt.user_lookup_loader
    def lookup(header: dict[str, t.Any], data: dict[str, t.Any]) -> str | None:
        return None if data["sub"] == "ghost" else data["sub"]

    @app.get("/me")
    @jwt_required()  # type: ignore[untyped-decorator]
    def me() -> str:
        return "me"

    @app.get("/fresh")
    @jwt_required(fresh=True)  # type: ignore[untyped-decorator]
    def fresh() -> str:
        return "fresh"

    web = Blueprint("web", __name__, url_prefix="/web")

    @web.get("/me")
    @jwt_required()  # type: ignore[untyped-decorator]
    def web_me() -> str:
        return "me"

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    return app, errors


@pytest.fixture(params=[False, True], ids=["jwt-first", "apierrors-first"])
def app(request: pytest.FixtureRequest) -> Flask:
    return make_app(apierrors_first=request.param)[0]


def token(app: Flask, identity: str = "alice", **kwargs: t.Any) -> dict[str, str]:
    with app.app_context():
        return {"Authorization": f"Bearer {create_access_token(identity, **kwargs)}"}


def test_missing_token(app: Flask) -> None:
    response = app.test_client().get("/me")
    assert_api_error(response, "unauthorized", app=app, message="Missing Authorization Header")


def test_unreadable_token_is_422(app: Flask) -> None:
    response = app.test_client().get("/me", headers={"Authorization": "Bearer abc"})
    assert_api_error(response, "unprocessable_entity", app=app, message="Not enough segments")


def test_expired_token(app: Flask) -> None:
    import datetime

    headers = token(app, expires_delta=datetime.timedelta(seconds=-10))
    response = app.test_client().get("/me", headers=headers)
    assert_api_error(response, "unauthorized", app=app, message="Token has expired")


def test_fresh_token_required(app: Flask) -> None:
    response = app.test_client().get("/fresh", headers=token(app))
    assert_api_error(response, "unauthorized", app=app, message="Fresh token required")


def test_wrong_token_type(app: Flask) -> None:
    with app.app_context():
        refresh = create_refresh_token("alice")
    response = app.test_client().get("/me", headers={"Authorization": f"Bearer {refresh}"})
    assert_api_error(
        response, "unprocessable_entity", app=app, message="Only non-refresh tokens are allowed"
    )


def test_user_lookup_failure(app: Flask) -> None:
    response = app.test_client().get("/me", headers=token(app, "ghost"))
    assert_api_error(response, "unauthorized", app=app, message="Error loading the user ghost")


def test_valid_token(app: Flask) -> None:
    assert app.test_client().get("/me", headers=token(app)).text == "me"


def test_jwt_answers_where_apierrors_is_off(app: Flask) -> None:
    response = app.test_client().get("/web/me")
    assert (response.status_code, response.get_json()) == (
        401,
        {"msg": "Missing Authorization Header"},
    )
    assert NoAuthorizationError in get_state(app).displaced


def test_description_is_the_exceptions_text() -> None:
    def legacy(problem: Problem) -> dict[str, t.Any]:
        return {"msg": problem.description}

    app = make_app(format=legacy)[0]
    response = app.test_client().get("/me", headers={"Authorization": "Bearer abc"})
    assert (response.status_code, response.get_json()) == (422, {"msg": "Not enough segments"})


def test_an_apps_own_converter_wins() -> None:
    app, errors = make_app()

    def expired(e: BaseException, ctx: Context) -> Problem:
        return ctx.problem("token_expired", status=401, message="Log in again")

    errors.register_converter(ExpiredSignatureError, expired)
    import datetime

    headers = token(app, expires_delta=datetime.timedelta(seconds=-10))
    body = app.test_client().get("/me", headers=headers).get_json()
    assert (body["error"], body["message"]) == ("token_expired", "Log in again")


def test_apps_without_jwt_get_no_handlers() -> None:
    app = Flask("plain")
    ApiErrors(app)
    assert ExpiredSignatureError not in app.error_handler_spec.get(None, {}).get(None, {})


@pytest.mark.parametrize("apierrors_first", [False, True])
def test_the_apps_own_loader_callbacks_are_named_once(
    apierrors_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app(apierrors_first=apierrors_first)
    jwt = app.extensions["flask-jwt-extended"]

    @jwt.expired_token_loader  # type: ignore[untyped-decorator]
    def expired(header: dict[str, t.Any], data: dict[str, t.Any]) -> tuple[dict[str, str], int]:
        return {"msg": "expired"}, 419

    @jwt.invalid_token_loader  # type: ignore[untyped-decorator]
    def invalid(reason: str) -> tuple[dict[str, str], int]:
        return {"msg": reason}, 401

    import datetime

    headers = token(app, expires_delta=datetime.timedelta(seconds=-10))
    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = client.get("/me", headers=headers)
        client.get("/me")
    # ApiErrors answers, as documented; the warning says so.
    assert_api_error(response, "unauthorized", app=app, message="Token has expired")
    warnings = [r.getMessage() for r in caplog.records if "flask-jwt-extended" in r.getMessage()]
    assert len(warnings) == 1
    assert "@jwt.expired_token_loader" in warnings[0]
    assert (
        f"{__name__}.test_the_apps_own_loader_callbacks_are_named_once.<locals>.expired"
        in (warnings[0])
    )
    assert "@jwt.invalid_token_loader" in warnings[0]
    assert "unauthorized_loader" not in warnings[0]
    # Where ApiErrors is off, the app's callbacks answer.
    off = client.get("/web/me", headers=headers)
    assert (off.status_code, off.get_json()) == (419, {"msg": "expired"})


def test_no_warning_without_loader_callbacks(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        app.test_client().get("/me")
    assert not [r for r in caplog.records if "flask-jwt-extended" in r.getMessage()]


@pytest.mark.parametrize(
    "order",
    [
        ("jwt", "handler", "apierrors"),
        ("jwt", "apierrors", "handler"),
        ("apierrors", "jwt", "handler"),
    ],
)
def test_the_apps_own_handler_for_a_jwt_class_keeps_answering(
    order: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask("jwt_own_handler")
    app.config.update(TESTING=True, JWT_SECRET_KEY=SECRET)

    def no_auth(e: NoAuthorizationError) -> tuple[dict[str, str], int]:
        return {"error": "login_required"}, 401

    steps: dict[str, t.Callable[[], object]] = {
        "jwt": lambda: JWTManager(app),
        "apierrors": lambda: ApiErrors(app),
        "handler": lambda: app.register_error_handler(NoAuthorizationError, no_auth),
    }
    for step in order:
        steps[step]()

    @app.get("/me")
    @jwt_required()  # type: ignore[untyped-decorator]
    def me() -> str:
        return "me"

    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = client.get("/me")
    assert (response.status_code, response.get_json()) == (401, {"error": "login_required"})
    # As for any handler of a narrower class: not named.
    assert not [r for r in caplog.records if "no_auth" in r.getMessage()]
    # flask-jwt-extended's other handlers are still taken over.
    bad = client.get("/me", headers={"Authorization": "Bearer not-a-token"})
    assert_api_error(bad, "unprocessable_entity", 422, app=app)
