"""assert_api_error with a format the error chose itself, and with a code that differs."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.testing import assert_api_error


class LegacyThing(ApiError):
    error_code = "legacy_thing"
    status = 410
    format = "detail"


class DbDown(Exception):
    pass


class Declined(Exception):
    pass


def _chosen_format_app() -> Flask:
    app = Flask("chosen_format_app")
    app.config["TESTING"] = True
    errors = ApiErrors(app)
    errors.catalog.add("job_not_found", 404, "Job not found")
    legacy = Blueprint("legacy", __name__, url_prefix="/legacy")

    def missing(job_id: str) -> t.NoReturn:
        raise ApiError("job_not_found", details={"job_id": job_id})

    for target in (app, legacy):
        target.add_url_rule("/jobs/<job_id>", "missing", missing)
    app.register_blueprint(legacy)
    errors.override(legacy, format="error_code")
    errors.register_exception(DbDown, "job_not_found", format="error_code")
    errors.register_converter(
        Declined, lambda e, ctx: ctx.problem("payment_declined", status=402, format="detail")
    )

    @app.get("/legacy-thing")
    def legacy_thing() -> t.NoReturn:
        raise LegacyThing()

    @app.get("/db")
    def db() -> t.NoReturn:
        raise DbDown()

    @app.get("/declined")
    def declined() -> t.NoReturn:
        raise Declined()

    @app.get("/legacy-thing-as-error-code")
    def legacy_thing_as_error_code() -> tuple[dict[str, t.Any], int]:
        return {"error": True, "error_code": "LEGACY_THING", "message": "Gone"}, 410

    return app


@pytest.mark.parametrize("prefix", ["", "/legacy"])
def test_a_format_the_error_chose_is_accepted(prefix: str) -> None:
    app = _chosen_format_app()
    client = app.test_client()
    # An ApiError subclass's format (the code is in no catalog).
    error = assert_api_error(client.get("/legacy-thing"), "legacy_thing", 410, app=app)
    assert error.body["detail"]["code"] == "LEGACY_THING"
    # register_exception's format; the code's views keep the scope's.
    assert "error_code" in assert_api_error(client.get("/db"), "job_not_found", app=app).body
    assert_api_error(client.get(f"{prefix}/jobs/j1"), "job_not_found", app=app)


def test_a_format_only_a_converter_chooses_is_named() -> None:
    app = _chosen_format_app()
    response = app.test_client().get("/declined")
    with pytest.raises(AssertionError, match="not the app's 'error' format"):
        assert_api_error(response, "payment_declined", 402, app=app)
    error = assert_api_error(response, "payment_declined", 402, app=app, format="detail")
    assert error.body["detail"]["code"] == "PAYMENT_DECLINED"
    with pytest.raises(AssertionError, match="not the app's 'error_code' format"):
        assert_api_error(response, "payment_declined", 402, app=app, format="error_code")


def test_a_format_the_error_did_not_choose_still_fails() -> None:
    app = _chosen_format_app()
    client = app.test_client()
    # legacy_thing chose 'detail', not 'error_code'; format= leaves no other.
    with pytest.raises(AssertionError, match="not the app's 'error' format"):
        assert_api_error(client.get("/legacy-thing-as-error-code"), "legacy_thing", 410, app=app)
    with pytest.raises(AssertionError, match="the 'error' format spells it 'job_not_found'"):
        assert_api_error(client.get("/legacy/jobs/j1"), "job_not_found", app=app, format="error")


@pytest.mark.parametrize("fmt", ["error", "error_code"])
def test_another_code_is_reported_once_and_plainly(fmt: str) -> None:
    # It also said "code is spelled 'validation_error'; the 'error' format
    # spells it 'conflict'", as if the spelling were the fault.
    app = Flask("codes")
    ApiErrors(app, format=fmt)

    @app.get("/taken")
    def taken() -> t.NoReturn:
        raise ApiError("validation_error", status=409)

    with pytest.raises(AssertionError) as failed:
        assert_api_error(app.test_client().get("/taken"), "conflict", app=app)
    text = str(failed.value)
    assert "expected 'conflict'" in text
    assert "spell" not in text
