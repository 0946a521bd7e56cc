"""Mixed HTML + API apps: ApiErrors renders the API's errors only, and the
app's own handlers (the ones it replaced or registered after it) answer
elsewhere; each case names the other handler in the log."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import abort
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError


def _routes(app: Flask) -> tuple[Blueprint, Blueprint]:
    api = Blueprint("api", __name__, url_prefix="/api")
    web = Blueprint("web", __name__)

    @api.get("/jobs/<int:job_id>")
    def job(job_id: int) -> t.NoReturn:
        abort(404)

    @web.get("/page/<int:page_id>")
    def page(page_id: int) -> t.NoReturn:
        abort(404)

    return api, web


def _html_handler(e: HTTPException) -> tuple[str, int]:
    return f"<h1>{e.code} custom page</h1>", e.code or 500


def api_only_app() -> Flask:
    from flask_apierrors import ApiErrors

    app = Flask("mixed")
    api, web = _routes(app)
    errors = ApiErrors(app, enabled=False)
    errors.override(api, enabled=True)
    app.register_blueprint(api)
    app.register_blueprint(web)
    return app


@pytest.mark.parametrize(
    ("path", "json_body"),
    [
        ("/api/jobs/1", True),
        ("/api/no/such/route", True),  # routing 404 under the API's prefix
        ("/page/1", False),
        ("/no/such/page", False),
    ],
)
def test_enabled_only_on_the_api(path: str, json_body: bool) -> None:
    response = api_only_app().test_client().get(path)
    assert response.status_code == 404
    assert (response.mimetype == "application/json") is json_body
    if not json_body:
        assert b"<!doctype html>" in response.data.lower()
    assert response.headers["X-Request-ID"]


def test_web_blueprint_left_to_the_handler_apierrors_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("mixed_handlers")
    app.register_error_handler(HTTPException, _html_handler)
    api, web = _routes(app)
    errors = ApiErrors(app)
    errors.override(web, enabled=False)
    app.register_blueprint(api)
    app.register_blueprint(web)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        page = client.get("/page/1")
    # Named once, at the first request.
    assert len([r for r in caplog.records if "_html_handler" in r.getMessage()]) == 1
    assert (page.status_code, page.get_data(as_text=True)) == (404, "<h1>404 custom page</h1>")
    assert client.get("/api/jobs/1").get_json()["error"] == "not_found"


def test_a_handler_registered_after_is_named_at_the_first_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("late_handler")
    ApiErrors(app)
    app.register_error_handler(HTTPException, _html_handler)

    @app.errorhandler(Exception)
    def everything(e: Exception) -> tuple[str, int]:
        return "oops", 500

    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        client = app.test_client()
        client.get("/missing")
        client.get("/missing")
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "_html_handler" in m]) == 1
    assert len([m for m in messages if "everything" in m]) == 1
    assert all("enabled=False" in m for m in messages)


def test_no_warning_for_narrower_handlers(caplog: pytest.LogCaptureFixture) -> None:
    from werkzeug.exceptions import NotFound

    from flask_apierrors import ApiErrors

    app = Flask("narrow_handler")
    ApiErrors(app)

    @app.errorhandler(NotFound)
    def not_found(e: NotFound) -> tuple[str, int]:
        return "gone", 404

    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        assert app.test_client().get("/missing").get_data(as_text=True) == "gone"
    assert caplog.records == []


def _warnings(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if name in r.getMessage()]


@pytest.mark.parametrize("handler_first", [True, False])
def test_a_blueprint_handler_is_never_replaced_and_the_advice_says_so(
    caplog: pytest.LogCaptureFixture, handler_first: bool
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("bp_handler")
    api, web = _routes(app)
    api.register_error_handler(HTTPException, _html_handler)
    if handler_first:
        app.register_blueprint(api)
        ApiErrors(app)
    else:
        ApiErrors(app)
        app.register_blueprint(api)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().get("/api/jobs/1")
    assert response.get_data(as_text=True) == "<h1>404 custom page</h1>"
    (warning,) = _warnings(caplog, "_html_handler")
    assert "blueprint 'api'" in warning
    assert "Register it before ApiErrors" not in warning
    assert "Remove it" in warning and "enabled=False" in warning


@pytest.mark.parametrize("handler_first", [True, False])
def test_an_exception_handler_is_never_replaced_and_the_advice_says_so(
    caplog: pytest.LogCaptureFixture, handler_first: bool
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("exc_handler")
    if not handler_first:
        ApiErrors(app)

    @app.errorhandler(Exception)
    def everything(e: Exception) -> tuple[str, int]:
        return "oops", 500

    if handler_first:
        ApiErrors(app)

    @app.get("/boom")
    def boom() -> t.NoReturn:
        raise KeyError("x")

    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        assert app.test_client().get("/boom").get_data(as_text=True) == "oops"
    (warning,) = _warnings(caplog, "everything")
    assert "Register it before ApiErrors" not in warning
    assert "your own exception classes" in warning


def test_a_blueprints_exception_handler_is_said_to_take_its_http_errors_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Flask asks a blueprint's handlers first: its Exception handler answers
    # the blueprint's 404s and 403s too, not only unhandled exceptions, as
    # the warning said.
    from flask_apierrors import ApiErrors

    app = Flask("bp_exc_handler")
    ApiErrors(app)
    api, web = _routes(app)

    @api.errorhandler(Exception)
    def everything(e: Exception) -> tuple[dict[str, str], int]:
        return {"status": "error"}, getattr(e, "code", 500)

    app.register_blueprint(api)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().get("/api/jobs/1")
    assert (response.status_code, response.get_json()) == (404, {"status": "error"})
    (warning,) = _warnings(caplog, "everything")
    assert "blueprint 'api'" in warning
    assert "HTTP errors included" in warning
    assert "your own exception classes" in warning and "enabled=False" in warning


@pytest.mark.parametrize(("testing", "warned"), [(False, 1), (True, 0)])
def test_propagate_exceptions_outside_tests_is_named_at_the_first_request(
    caplog: pytest.LogCaptureFixture, testing: bool, warned: int
) -> None:
    # Set in a base config, it made every unhandled exception the server's
    # text 500, with no id, and nothing said why.
    from flask_apierrors import ApiErrors

    app = Flask("propagating")
    app.config.update(PROPAGATE_EXCEPTIONS=True, TESTING=testing)
    ApiErrors(app)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        app.test_client().get("/missing")
        app.test_client().get("/missing")
    assert len(_warnings(caplog, "PROPAGATE_EXCEPTIONS is on in app 'propagating'")) == warned


@pytest.mark.parametrize("code", [500, InternalServerError])
def test_a_500_handler_is_named_at_the_first_request(
    caplog: pytest.LogCaptureFixture, code: t.Any
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("handler_500")
    ApiErrors(app)

    @app.errorhandler(code)
    def server_error(e: Exception) -> tuple[str, int]:
        return "<h1>sorry</h1>", 500

    @app.get("/boom")
    def boom() -> t.NoReturn:
        raise KeyError("x")

    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        client = app.test_client()
        assert client.get("/boom").get_data(as_text=True) == "<h1>sorry</h1>"
        client.get("/boom")
    (warning,) = _warnings(caplog, "server_error")
    assert "500 handler" in warning and "error id" in warning


@pytest.mark.parametrize("code", [500, InternalServerError])
def test_a_500_handler_that_hands_over_is_not_named(
    caplog: pytest.LogCaptureFixture, code: t.Any
) -> None:
    from flask import request

    from flask_apierrors import ApiErrors

    app = Flask("hands_over_500")
    errors = ApiErrors(app)

    @app.errorhandler(code)
    @ApiErrors.hands_over
    def server_error(e: Exception) -> t.Any:
        if request.path.startswith("/api/"):
            return errors.make_response(errors.problem_for(e))
        return "<h1>sorry</h1>", 500

    def boom() -> t.NoReturn:
        raise KeyError("x")

    for path in ("/api/boom", "/boom"):
        app.add_url_rule(path, path, boom)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        client = app.test_client()
        assert client.get("/boom").get_data(as_text=True) == "<h1>sorry</h1>"
        api = client.get("/api/boom")
    assert api.status_code == 500
    assert api.get_json()["error"] == "internal_server_error"
    assert api.get_json()["details"]["error_id"].startswith("err_")
    assert _warnings(caplog, "server_error") == []


def test_no_warning_without_other_handlers(caplog: pytest.LogCaptureFixture) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("alone")
    ApiErrors(app)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        app.test_client().get("/missing")
    assert caplog.records == []


def test_an_app_wide_500_page_is_told_to_move_to_the_pages_blueprint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("app_wide_500")
    api, web = _routes(app)

    @web.app_errorhandler(500)
    def page_500(e: Exception) -> tuple[str, int]:
        return "<h1>Oops</h1>", 500

    app.register_blueprint(api)
    app.register_blueprint(web)
    errors = ApiErrors(app)
    errors.override(web, enabled=False)  # does not take the app-wide page off the API
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        app.test_client().get("/api/jobs/1")
    (warning,) = _warnings(caplog, "page_500")
    assert "the API's included" in warning
    assert "blueprint.errorhandler(500)" in warning and "override(" not in warning


def test_a_500_page_on_the_pages_blueprint_leaves_the_api_to_apierrors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("blueprint_500")
    api, web = _routes(app)

    @web.errorhandler(500)
    def page_500(e: Exception) -> tuple[str, int]:
        return "<h1>Oops</h1>", 500

    @api.get("/boom")
    def api_boom() -> t.NoReturn:
        raise KeyError("x")

    @web.get("/boom")
    def web_boom() -> t.NoReturn:
        raise KeyError("x")

    app.register_blueprint(api)
    app.register_blueprint(web)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    errors = ApiErrors(app)
    errors.override(web, enabled=False)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        answer = client.get("/api/boom")
        page = client.get("/boom")
    assert answer.status_code == 500 and answer.get_json()["details"]["error_id"]
    assert page.get_data(as_text=True) == "<h1>Oops</h1>"
    # Its blueprint is left to it on purpose: nothing to warn about.
    assert _warnings(caplog, "page_500") == []


def test_a_blueprint_500_page_where_apierrors_is_on_is_named_with_the_override(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask_apierrors import ApiErrors

    app = Flask("blueprint_500_on")
    api, web = _routes(app)

    @web.errorhandler(500)
    def page_500(e: Exception) -> tuple[str, int]:
        return "<h1>Oops</h1>", 500

    app.register_blueprint(api)
    app.register_blueprint(web)
    ApiErrors(app)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        app.test_client().get("/api/jobs/1")
    (warning,) = _warnings(caplog, "page_500")
    assert "blueprint 'web'" in warning and "errors.override(blueprint, enabled=False)" in warning
