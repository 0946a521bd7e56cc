"""APIFlask HTTPBasicAuth/HTTPTokenAuth errors, and auth error processors, in
ApiErrors' format."""

from __future__ import annotations

import typing as t

import pytest
from apiflask import APIBlueprint
from apiflask import APIFlask
from apiflask import HTTPBasicAuth
from apiflask import HTTPError
from apiflask import HTTPTokenAuth
from apiflask import MultiAuth
from apiflask.views import MethodView

from flask_apierrors import ApiErrors
from flask_apierrors.testing import assert_api_error

from .apiflask_app import app_fixture  # noqa: F401  (the ``app`` fixture)


def test_token_auth_401_keeps_the_challenge(app: APIFlask) -> None:
    response = app.test_client().get("/token", headers={"Authorization": "Bearer bad"})
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    assert app.test_client().get("/token", headers={"Authorization": "Bearer good"}).text == "ok"


def test_basic_auth_403_for_a_missing_role(app: APIFlask) -> None:
    client = app.test_client()
    response = client.get("/admin", auth=("alice", "pw"))
    assert_api_error(response, "forbidden", app=app)
    assert client.get("/admin", auth=("root", "pw")).text == "ok"
    assert_api_error(client.get("/admin"), "unauthorized", app=app)


@pytest.mark.parametrize("processor_first", [True, False], ids=["before", "after"])
def test_auth_error_processor_answers_where_apierrors_is_off(processor_first: bool) -> None:
    app = APIFlask("guarded")
    if processor_first:
        errors = ApiErrors(app)
    auth = HTTPTokenAuth()

    @auth.verify_token  # type: ignore[untyped-decorator]
    def verify_token(value: str) -> str | None:
        return None

    @auth.error_processor
    def auth_processor(error: HTTPError) -> tuple[dict[str, t.Any], int, t.Any]:
        return {"code": 1, "msg": error.message}, error.status_code, error.headers

    @app.get("/me")
    @app.auth_required(auth)
    def me() -> dict[str, t.Any]:
        return {}

    web = APIBlueprint("web", __name__)

    @web.get("/web/me")
    @web.auth_required(auth)
    def web_me() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(web)
    if not processor_first:
        errors = ApiErrors(app)
    errors.override(web, enabled=False)
    client = app.test_client()
    response = client.get("/me")
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    response = client.get("/web/me")
    assert response.status_code == 401
    assert response.get_json() == {"code": 1, "msg": "Unauthorized"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'


def test_auth_error_processor_of_a_method_view_and_a_blueprint_guard() -> None:
    # auth_required on a MethodView's method, and on a blueprint's
    # before_request (a MultiAuth there).
    app = APIFlask("guarded_views")
    ApiErrors(app)
    token = HTTPTokenAuth()
    basic = HTTPBasicAuth()

    @token.error_processor
    def token_processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"code": 1}, error.status_code

    @basic.error_processor
    def basic_processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"code": 2}, error.status_code

    class Pet(MethodView):
        @app.auth_required(token)
        def get(self) -> dict[str, t.Any]:
            return {}

    app.add_url_rule("/pet", view_func=Pet.as_view("pet"))
    guarded = APIBlueprint("guarded", __name__, url_prefix="/guarded")

    @guarded.before_request
    @guarded.auth_required(MultiAuth(basic, HTTPTokenAuth()))
    def guard() -> None:
        pass

    @guarded.get("/pets")
    def pets() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(guarded)
    client = app.test_client()
    assert_api_error(client.get("/pet"), "unauthorized", app=app)
    assert_api_error(client.get("/guarded/pets"), "unauthorized", app=app)


def test_an_auth_object_of_login_required_only_needs_api_errors() -> None:
    # Not given to app.auth_required, so not found: the app wraps it itself,
    # as adopting.rst says.
    from flask_apierrors.integrations.httpauth import api_errors

    app = APIFlask("login_required_only")
    errors = ApiErrors(app)
    auth = api_errors(HTTPTokenAuth())

    @auth.error_processor
    def legacy_processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"legacy": error.message}, error.status_code

    @app.get("/b")
    @auth.login_required  # type: ignore[untyped-decorator]
    def b() -> dict[str, t.Any]:
        return {}

    web = APIBlueprint("web", __name__, url_prefix="/web")

    @web.get("/b")
    @auth.login_required  # type: ignore[untyped-decorator]
    def web_b() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    client = app.test_client()
    response = client.get("/b")
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    assert client.get("/web/b").get_json() == {"legacy": "Unauthorized"}
