"""An app factory with one module-level ``ApiErrors``: every ``create_app()``
sets it up again, with the same setup calls, after earlier apps served."""

from __future__ import annotations

import logging
import sqlite3
import typing as t

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
