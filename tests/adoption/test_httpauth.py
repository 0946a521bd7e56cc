"""Flask-HTTPAuth (the real package): ``api_errors(auth)`` makes its 401
and 403 ApiErrors bodies with its challenge."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask_httpauth import HTTPBasicAuth
from flask_httpauth import HTTPDigestAuth
from flask_httpauth import HTTPTokenAuth
from flask_httpauth import MultiAuth

from flask_apierrors import ApiErrors
from flask_apierrors import Problem
from flask_apierrors.integrations.httpauth import api_errors
from flask_apierrors.integrations.httpauth import members
from flask_apierrors.testing import assert_api_error


def legacy(problem: Problem) -> dict[str, t.Any]:
    return {"error": problem.description}


def make_app(before: bool = True, **options: t.Any) -> Flask:
    """An app whose auth is set up ``before`` ApiErrors, or after it."""
    app = Flask("auth_app")
    app.config.update(TESTING=True, SECRET_KEY="s")
    errors = ApiErrors(app, **options) if before else None
    basic = api_errors(HTTPBasicAuth())
    token = HTTPTokenAuth()
    multi = api_errors(MultiAuth(basic, token))
    digest = api_errors(HTTPDigestAuth())

    @basic.verify_password  # type: ignore[untyped-decorator]
    def verify_password(username: str, password: str) -> str | None:
        return username if password == "pw" else None

    @basic.get_user_roles  # type: ignore[untyped-decorator]
    def roles(user: str) -> list[str]:
        return ["admin"] if user == "root" else []

    @token.verify_token  # type: ignore[untyped-decorator]
    def verify_token(value: str) -> str | None:
        return "alice" if value == "good" else None

    @digest.get_password  # type: ignore[untyped-decorator]
    def digest_password(username: str) -> str | None:
        return None

    @app.get("/basic")
    @basic.login_required  # type: ignore[untyped-decorator]
    def basic_view() -> str:
        return "basic"

    @app.get("/admin")
    @basic.login_required(role="admin")  # type: ignore[untyped-decorator]
    def admin_view() -> str:
        return "admin"

    @app.get("/multi")
    @multi.login_required  # type: ignore[untyped-decorator]
    def multi_view() -> str:
        return "multi"

    @app.get("/digest")
    @digest.login_required  # type: ignore[untyped-decorator]
    def digest_view() -> str:
        return "digest"

    web = Blueprint("web", __name__, url_prefix="/web")

    @web.get("/page")
    @basic.login_required  # type: ignore[untyped-decorator]
    def page() -> str:
        return "page"

    app.register_blueprint(web)
    if errors is None:
        errors = ApiErrors(app, **options)
    errors.override(web, enabled=False)
    return app


@pytest.fixture(params=[True, False], ids=["apierrors-first", "auth-first"])
def app(request: pytest.FixtureRequest) -> Flask:
    return make_app(before=request.param)


def test_basic_401(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/basic", auth=("alice", "wrong"))
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="Authentication Required"']
    assert client.get("/basic", auth=("alice", "pw")).text == "basic"


def test_role_403(app: Flask) -> None:
    response = app.test_client().get("/admin", auth=("alice", "pw"))
    assert_api_error(response, "forbidden", app=app)
    # As Flask-HTTPAuth sends it.
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'


def test_multi_auth_challenge_of_the_auth_tried(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/multi", headers={"Authorization": "Bearer bad"})
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    assert client.get("/multi", headers={"Authorization": "Bearer good"}).text == "multi"


def test_digest_challenge(app: Flask) -> None:
    response = app.test_client().get("/digest")
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"].startswith('Digest realm="Authentication Required"')


def test_previous_callback_where_apierrors_is_off(app: Flask) -> None:
    response = app.test_client().get("/web/page")
    assert response.status_code == 401
    assert response.text == "Unauthorized Access"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'


def test_description_is_flask_httpauths_text() -> None:
    app = make_app(format=legacy)
    assert app.test_client().get("/basic").get_json() == {"error": "Unauthorized Access"}


def test_app_error_handler_for_401_still_wins() -> None:
    app = make_app()

    @app.errorhandler(401)
    def mine(e: Exception) -> tuple[str, int]:
        return "mine", 401

    assert app.test_client().get("/basic").text == "mine"


def test_calling_it_again_changes_nothing() -> None:
    auth = HTTPBasicAuth()
    api_errors(auth)
    callback = auth.auth_error_callback
    assert api_errors(auth) is auth
    assert auth.auth_error_callback is callback


def test_app_without_apierrors_keeps_flask_httpauths_answer() -> None:
    app = Flask("bare")
    auth = api_errors(HTTPBasicAuth())

    @app.get("/")
    @auth.login_required  # type: ignore[untyped-decorator]
    def index() -> str:
        return "x"

    response = app.test_client().get("/")
    assert (response.status_code, response.text) == (401, "Unauthorized Access")


@pytest.mark.parametrize("handler_first", [True, False])
def test_the_apps_error_handler_answers_where_apierrors_is_off(handler_first: bool) -> None:
    app = Flask("own_handler")
    errors = ApiErrors(app)
    auth = HTTPBasicAuth()

    def own(status: int) -> tuple[str, int]:
        return "Access Denied", status

    if handler_first:
        auth.error_handler(own)
        api_errors(auth)
    else:
        api_errors(auth)
        wrapped = auth.error_handler(own)
        assert wrapped.__wrapped__ is own  # as Flask-HTTPAuth's decorator returns it
    web = Blueprint("web", __name__, url_prefix="/web")

    @app.get("/api")
    @auth.login_required  # type: ignore[untyped-decorator]
    def api() -> str:
        return "api"

    @web.get("/page")
    @auth.login_required  # type: ignore[untyped-decorator]
    def page() -> str:
        return "page"

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    client = app.test_client()
    response = client.get("/api")
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
    off = client.get("/web/page")
    assert (off.status_code, off.text) == (401, "Access Denied")
    assert off.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'


def test_the_apps_401_handler_keeps_the_challenge() -> None:
    app = make_app()

    @app.errorhandler(401)
    def mine(e: Exception) -> tuple[dict[str, str], int]:
        return {"error": "unauthorized"}, 401

    response = app.test_client().get("/basic")
    assert response.get_json() == {"error": "unauthorized"}
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="Authentication Required"']


def test_an_apps_401_handler_returning_a_bare_body_still_answers_401() -> None:
    # Flask-HTTPAuth makes a bare body of its callbacks a 401; the answer
    # was a finished 200 response, challenge and all.
    app = make_app()

    @app.errorhandler(401)
    def mine(e: Exception) -> str:
        return "Please log in"

    response = app.test_client().get("/basic")
    assert (response.status_code, response.get_data(as_text=True)) == (401, "Please log in")
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="Authentication Required"']


def test_a_blueprints_http_exception_handler_keeps_the_challenge() -> None:
    from werkzeug.exceptions import HTTPException

    app = Flask("bp_auth")
    ApiErrors(app)
    auth = api_errors(HTTPTokenAuth())
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.errorhandler(HTTPException)
    def api_error(e: HTTPException) -> tuple[dict[str, t.Any], int]:
        return {"error": e.name}, e.code or 500

    @api.get("/me")
    @auth.login_required  # type: ignore[untyped-decorator]
    def me() -> str:
        return "me"

    app.register_blueprint(api)
    response = app.test_client().get("/api/me")
    assert (response.status_code, response.get_json()) == (401, {"error": "Unauthorized"})
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'


def test_a_handlers_own_challenge_is_kept() -> None:
    app = make_app()

    @app.errorhandler(401)
    def mine(e: Exception) -> tuple[str, int, dict[str, str]]:
        return "mine", 401, {"WWW-Authenticate": 'Basic realm="mine"'}

    response = app.test_client().get("/basic")
    assert response.text == "mine"
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="mine"']


@pytest.mark.parametrize("framework", ["flask_restx", "flask_restful"])
@pytest.mark.parametrize(
    ("auth", "scheme"),
    [(HTTPDigestAuth(realm="Members"), "Digest"), (HTTPTokenAuth(realm="api"), "Bearer")],
)
def test_an_apis_basic_challenge_does_not_replace_flask_httpauths(
    framework: str, auth: t.Any, scheme: str
) -> None:
    # An Api with serve_challenge_on_401 put its Basic challenge over the
    # auth's: Digest clients got no nonce, so could never log in.
    api_module = pytest.importorskip(framework)
    app = Flask("members")
    app.secret_key = "secret"
    api = api_module.Api(app, serve_challenge_on_401=True)
    ApiErrors(app)
    guarded = api_errors(auth)

    class Private(api_module.Resource):  # type: ignore[misc,name-defined]
        @guarded.login_required  # type: ignore[untyped-decorator]
        def get(self) -> dict[str, bool]:
            return {"ok": True}

    api.add_resource(Private, "/private")
    response = app.test_client().get("/private")
    assert_api_error(response, "unauthorized", app=app)
    [challenge] = response.headers.getlist("WWW-Authenticate")
    assert challenge.startswith(f'{scheme} realm="{auth.realm}"')
    if scheme == "Digest":
        assert "nonce=" in challenge


def test_the_members_of_a_multi_auth_of_flask_httpauth_4_8_0() -> None:
    # 4.8.0 keeps the others in additional_auth (4.8.1: additional_auths).
    basic, token = HTTPBasicAuth(), HTTPTokenAuth()
    multi = MultiAuth(basic, token)
    old = t.cast(t.Any, type("MultiAuth", (), {"main_auth": basic, "additional_auth": (token,)}))()
    assert members(multi) == members(old) == (basic, token)
