"""An app factory with one module-level ``ApiErrors``: every ``create_app()``
sets it up again, with the same setup calls, after earlier apps served."""

from __future__ import annotations

import logging
import sqlite3
import typing as t
import unittest

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.correlation import CorrelationIdFilter
from flask_apierrors.correlation import ExceptionLogTagger
from flask_apierrors.testing import assert_api_error

errors = ApiErrors()

legacy = Blueprint("legacy", __name__, url_prefix="/v1")


@legacy.get("/jobs/<job_id>")
def legacy_job(job_id: str) -> t.NoReturn:
    raise ApiError("not_found", "Job not found", details={"job_id": job_id})


def create_app(name: str = "factory_app") -> Flask:
    app = Flask(name)
    errors.init_app(app)
    errors.override(legacy, format="error_code")
    errors.register_exception(sqlite3.OperationalError, "service_unavailable")

    @app.get("/db")
    def db() -> t.NoReturn:
        raise sqlite3.OperationalError("database is locked")

    app.register_blueprint(legacy)
    return app


def check(app: Flask) -> None:
    client = app.test_client()
    assert_api_error(client.get("/nowhere"), "not_found", app=app)
    legacy_body = client.get("/v1/jobs/7").get_json()
    assert legacy_body["error_code"] == "NOT_FOUND"
    assert_api_error(client.get("/v1/jobs/7"), "not_found", app=app, details={"job_id": "7"})
    assert_api_error(client.get("/db"), "service_unavailable", app=app)


def test_five_apps_one_after_another() -> None:
    apps = []
    for _ in range(5):
        app = create_app()
        check(app)
        apps.append(app)
    for app in apps:
        check(app)
    logger = apps[0].logger
    assert all(app.logger is logger for app in apps)
    for kind in (ExceptionLogTagger, CorrelationIdFilter):
        assert sum(isinstance(f, kind) for f in logger.filters) == 1, logger.filters


def test_apps_of_other_names_get_their_own_filters() -> None:
    app = create_app("factory_other")
    check(app)
    kinds = [type(f) for f in app.logger.filters]
    assert kinds.count(ExceptionLogTagger) == kinds.count(CorrelationIdFilter) == 1
    assert logging.getLogger("factory_other") is app.logger


def per_format_factory(name: str) -> t.Callable[[str], Flask]:
    """A factory whose apps share one ApiErrors and one blueprint, each
    app with the format it is asked for (an override after init_app)."""
    shared = ApiErrors()
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/x")
    def x() -> t.NoReturn:
        raise ApiError("not_found")

    def make(fmt: str) -> Flask:
        app = Flask(name)
        shared.init_app(app)
        shared.override(api, format=fmt)
        app.register_blueprint(api)
        return app

    make.errors = shared  # type: ignore[attr-defined]
    return make


def test_a_factorys_setup_calls_are_for_the_app_it_sets_up() -> None:
    # Each app gets the format its factory call asked for: a call made after
    # init_app is not applied to the other apps of the instance.
    make = per_format_factory("per_app_format")
    apps = [(make(fmt), fmt) for fmt in ("error_code", "problem", "error_code", "detail")]
    for app, fmt in apps:
        response = app.test_client().get("/api/x")
        body = response.get_json()
        if fmt == "problem":
            assert response.mimetype == "application/problem+json" and body["code"] == "not_found"
        elif fmt == "error_code":
            assert response.mimetype == "application/json" and body["error_code"] == "NOT_FOUND"
        else:
            assert body["detail"]["code"] == "NOT_FOUND"


def test_calls_before_any_app_are_for_every_app() -> None:
    shared = ApiErrors()
    shared.register_exception(sqlite3.OperationalError, "service_unavailable")
    for _ in range(2):
        app = Flask("every_app")
        shared.init_app(app)

        @app.get("/db")
        def db() -> t.NoReturn:
            raise sqlite3.OperationalError("database is locked")

        assert_api_error(app.test_client().get("/db"), "service_unavailable", app=app)


def test_a_call_in_an_app_context_is_for_that_app() -> None:
    shared = ApiErrors()
    first, second = Flask("first_app"), Flask("second_app")
    shared.init_app(first)
    shared.init_app(second)
    with first.app_context():
        shared.register_exception(sqlite3.OperationalError, "service_unavailable")
    for app in (first, second):

        @app.get("/db")
        def db() -> t.NoReturn:
            raise sqlite3.OperationalError("database is locked")

    app_errors = {
        app.name: app.test_client().get("/db").get_json()["error"] for app in (first, second)
    }
    assert app_errors == {"first_app": "service_unavailable", "second_app": "internal_server_error"}


def test_a_call_for_an_app_that_served_names_it_and_the_fix() -> None:
    shared = ApiErrors()
    app = Flask("served_app")
    shared.init_app(app)
    app.test_client().get("/")
    with pytest.raises(RuntimeError, match=r"after app 'served_app' handled its first request"):
        shared.override(Blueprint("late", __name__), format="detail")


def test_a_factory_run_under_another_apps_context_sets_up_its_own_app() -> None:
    # A test that pushed one app's context (unittest setUp) and builds a
    # second app with the factory: the factory's override went to the
    # pushed app, or raised because that app had served.
    make = per_format_factory("pushed_app")
    shared: ApiErrors = make.errors  # type: ignore[attr-defined]
    pushed = make("error_code")
    with pushed.app_context():
        assert pushed.test_client().get("/api/x").get_json()["error_code"] == "NOT_FOUND"
        other = make("detail")
        # Under the context of the app being set up, calls are for it too.
        with other.app_context():
            shared.register_exception(sqlite3.OperationalError, "service_unavailable")
        assert other.test_client().get("/api/x").get_json()["detail"]["code"] == "NOT_FOUND"
        assert pushed.test_client().get("/api/x").get_json()["error_code"] == "NOT_FOUND"
        assert sqlite3.OperationalError in other.error_handler_spec[None][None]
        assert sqlite3.OperationalError not in pushed.error_handler_spec[None][None]


def test_a_later_context_of_the_first_app_is_for_the_first_app() -> None:
    # The factory's app was remembered as the target of every call made
    # under the first app, in any later context of it: the calls went to
    # the factory's app, or raised once it had served.
    shared = ApiErrors()
    first = Flask("first_app")
    shared.init_app(first)
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    v1.add_url_rule("/x", "x", lambda: {})
    first.register_blueprint(v1)
    with first.app_context():
        second = Flask("second_app")
        shared.init_app(second)
    for served in (False, True):
        if served:
            second.test_client().get("/")
        with first.app_context():
            shared.override(v1, format="detail" if served else "error_code")
    assert "detail" in first.test_client().get("/v1/nope").get_json()
    assert second.test_client().get("/v1/nope").get_json()["error"] == "not_found"


class RepeatedSetUp(unittest.TestCase):
    """Each setUp pushes the shared app's context and repeats its setup
    call; one test builds another app with the factory meanwhile."""

    errors = ApiErrors()
    v1 = Blueprint("repeated", __name__, url_prefix="/v1")
    v1.add_url_rule("/x", "x", lambda: {})
    app = Flask("repeated_app")
    errors.init_app(app)
    app.register_blueprint(v1)

    def setUp(self) -> None:
        self.context = self.app.app_context()
        self.context.push()
        self.errors.override(self.v1, format="detail")  # the same call: harmless

    def tearDown(self) -> None:
        self.context.pop()

    def test_1_another_app(self) -> None:
        other = Flask("other_app")
        self.errors.init_app(other)
        self.assertEqual(other.test_client().get("/v1/nope").get_json()["error"], "not_found")

    def test_2_the_shared_app(self) -> None:
        self.assertIn("detail", self.app.test_client().get("/v1/nope").get_json())

    def test_3_the_shared_app_again(self) -> None:
        self.assertIn("detail", self.app.test_client().get("/v1/nope").get_json())


def test_first_request_checks_run_once_each_even_after_one_failed() -> None:
    from flask_apierrors.state import get_state

    app = Flask("first_checks")
    ApiErrors(app)
    state = get_state(app)
    runs: list[str] = []
    failures = [RuntimeError("not yet")]

    def flaky(state: t.Any) -> None:
        runs.append("flaky")
        if failures:
            raise failures.pop()

    state.on_first_request(lambda state: runs.append("before"))
    state.on_first_request(flaky)
    state.on_first_request(lambda state: runs.append("after"))
    with pytest.raises(RuntimeError):
        state.begin_serving()
    state.begin_serving()
    state.begin_serving()
    assert runs[-4:] == ["before", "flaky", "flaky", "after"]
    assert runs.count("before") == 1 and state.served
