"""ApiErrors setup: one instance for many apps, options, settings and their precedence."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import Problem

from .conftest import MakeApp

# -- setup ---------------------------------------------------------------------


def test_state_lives_on_the_app(make_app: MakeApp) -> None:
    app, ext = make_app()
    assert app.extensions["apierrors"].ext is ext
    assert not hasattr(ext, "app")


def test_one_instance_two_apps() -> None:
    ext = ApiErrors()
    first, second = Flask("first"), Flask("second")
    ext.init_app(first, format="error")
    ext.init_app(second, format="detail")
    assert first.test_client().get("/x").get_json()["error"] == "not_found"
    assert second.test_client().get("/x").get_json()["detail"]["code"] == "NOT_FOUND"


def test_second_init_app_raises(make_app: MakeApp) -> None:
    app, ext = make_app()
    with pytest.raises(RuntimeError, match="already set up"):
        ext.init_app(app)


def test_unknown_option_names_the_valid_ones() -> None:
    with pytest.raises(TypeError, match="Valid options: format"):
        ApiErrors(formatt="error")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("APIERRORS_VALIDATION_STATUS", 999),
        ("APIERRORS_VALIDATION_STATUS", 200),
        ("APIERRORS_VALIDATION_STATUS", "500"),
        ("APIERRORS_VALIDATION_STATUS", True),
        ("APIERRORS_REQUEST_ID_PREFIX", "req\n"),
        ("APIERRORS_REQUEST_ID_PREFIX", "bad prefix"),
        ("APIERRORS_REQUEST_ID_PREFIX", "r" * 200),
        ("APIERRORS_ERROR_ID_PREFIX", "err/"),
        ("APIERRORS_RESPONSE_ID_HEADER", "X Request ID"),
        ("APIERRORS_REQUEST_ID_HEADERS", ["X-Request-ID", "bad:header"]),
    ],
)
def test_a_setting_that_cannot_work_fails_at_setup(key: str, value: t.Any) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ValueError, match=r"^APIERRORS_[A-Z_]+=.* is not valid: [^\n]+\.$"):
        ApiErrors(app)


def test_a_setting_that_cannot_work_fails_in_an_override_too() -> None:
    app = Flask(__name__)
    errors = ApiErrors(app)
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="APIERRORS_VALIDATION_STATUS"):
        errors.override(bp, validation_status=600)


def test_a_config_key_that_names_no_setting_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask("typo")
    app.config.update(APIERRORS_FROMAT="detail", APIERRORS_FORMAT="problem")
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        ApiErrors(app)
    (message,) = [r.getMessage() for r in caplog.records]
    assert "APIERRORS_FROMAT" in message and "did you mean APIERRORS_FORMAT?" in message
    assert app.extensions["apierrors"].settings.format == "problem"


@pytest.mark.parametrize(
    ("config", "kwargs", "expected"),
    [
        ({}, {}, "error"),
        ({"APIERRORS_FORMAT": "detail"}, {}, "detail"),
        ({"APIERRORS_FORMAT": "detail"}, {"format": "error_code"}, "error_code"),
    ],
)
def test_precedence_kwarg_over_config_over_default(
    config: dict[str, t.Any], kwargs: dict[str, t.Any], expected: str
) -> None:
    app = Flask(__name__)
    app.config.update(config)
    ApiErrors(app, **kwargs)
    assert app.extensions["apierrors"].settings.format == expected
    assert app.config["APIERRORS_FORMAT"] == config.get("APIERRORS_FORMAT", "error")


def test_config_is_read_once(make_app: MakeApp) -> None:
    app, _ = make_app()
    app.config["APIERRORS_FORMAT"] = "detail"
    assert "error" in app.test_client().get("/x").get_json()


def test_config_lists_become_tuples() -> None:
    app = Flask(__name__)
    app.config["APIERRORS_EXPECTED_CONTENT_TYPES"] = ["application/json", "text/csv"]
    ApiErrors(app)
    assert app.extensions["apierrors"].settings.expected_content_types == (
        "application/json",
        "text/csv",
    )


def test_setup_methods_raise_after_first_request(make_app: MakeApp) -> None:
    app, ext = make_app()
    app.test_client().get("/")
    with pytest.raises(RuntimeError, match="first request"):
        ext.override(Blueprint("late", __name__), format="detail")


@pytest.mark.parametrize(
    ("fmt", "where"), [("nope", "app"), ("nope", "override"), ("nope", "code"), (42, "code")]
)
def test_an_unknown_format_fails_every_request_in_one_line(fmt: t.Any, where: str) -> None:
    # Not a JSON 500 per error: the first request, and each until fixed (a
    # format that is no name fails at setup already: tests/test_config.py).
    # Under TESTING it is raised; served, it is a JSON 500 (test_config.py).
    app = Flask(__name__)
    app.testing = True
    errors = ApiErrors(app, format=fmt if where == "app" else "error")
    setting = "APIERRORS_FORMAT"
    if where == "override":
        errors.override(Blueprint("v1", __name__), format=fmt)
        setting = r"override\('v1'\).format"
    elif where == "code":
        errors.catalog.add("legacy_gone", 410, "Gone", format=fmt)
        setting = "The format of code 'legacy_gone'"
    for _ in range(2):
        with pytest.raises(ValueError, match=f"^{setting}: "):
            app.test_client().get("/x")


def test_a_format_registered_after_it_is_named_is_accepted() -> None:
    app = Flask(__name__)
    errors = ApiErrors(app, format="legacy")
    errors.override(Blueprint("v1", __name__), format="legacy")
    errors.register_format("legacy", lambda problem: {"message": problem.message})
    assert app.test_client().get("/x").get_json() == {"message": "Endpoint not found"}


def test_a_format_that_fails_to_render_still_answers_json() -> None:
    app = Flask(__name__)

    def broken(problem: Problem) -> dict[str, t.Any]:
        raise RuntimeError("bug in the format")

    ApiErrors(app, format=broken)
    response = app.test_client().get("/x")
    # Rendering failed, yet the client gets a JSON 500 with an error id.
    assert response.status_code == 500
    assert response.get_json()["details"]["error_id"].startswith("err_")
