"""Overrides are checked as setup is and refuse app-wide settings; setup calls fail or
apply where they are made: after the first request, in threads, after registration."""

from __future__ import annotations

import dataclasses
import threading
import typing as t

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import config

# -- overrides ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"ratelimit_details": ["limit", "resets"]},
        {"ratelimit_message": "{limit per"},
        {"ratelimit_min_retry_after": "soon"},
        {"max_validation_errors": -1},
    ],
)
@pytest.mark.parametrize("app_first", [True, False])
def test_an_override_checks_feature_settings_as_setup_does(
    options: dict[str, t.Any], app_first: bool
) -> None:
    # They were merged at the first error of the blueprint: a 500 per 429.
    # Made before any app is set up, the override was kept unchecked until
    # init_app replayed it.
    app = Flask(__name__)
    errors = ApiErrors(app) if app_first else ApiErrors()
    with pytest.raises(ValueError, match=r"^APIERRORS_[A-Z_]+=.* is not valid"):
        errors.override(Blueprint("v1", __name__), **options)
        # Before any app: a wrong type at once, the rest at setup.
        errors.init_app(app)


def test_an_override_before_any_app_refuses_a_wrong_type_at_once() -> None:
    errors = ApiErrors()
    with pytest.raises(ValueError, match=r"^APIERRORS_MAX_VALIDATION_ERRORS='many' is not"):
        errors.override(Blueprint("v1", __name__), max_validation_errors="many")
    errors.init_app(Flask(__name__))  # nothing was kept


def test_an_override_is_checked_with_the_apps_settings() -> None:
    # A settings class of the app's whose values hold only together.
    @dataclasses.dataclass(frozen=True)
    class Paging:
        page_max_size: int = 100
        page_default_size: int = 20

        def __post_init__(self) -> None:
            if self.page_default_size > self.page_max_size:
                config.invalid("page_default_size", self.page_default_size, "at most page_max_size")

    config.register_settings(Paging)
    try:
        app = Flask(__name__)
        app.config["APIERRORS_PAGE_MAX_SIZE"] = 500
        errors = ApiErrors(app)
        errors.override(Blueprint("v1", __name__), page_default_size=200)
        with pytest.raises(ValueError, match="^APIERRORS_PAGE_DEFAULT_SIZE=900"):
            errors.override(Blueprint("v2", __name__), page_default_size=900)
    finally:
        config._GROUPS.pop(Paging)


@pytest.mark.parametrize(
    "option",
    [
        "response_id_header",
        "request_id_headers",
        "request_id_prefix",
        "error_id_prefix",
        "buffer_streamed_bodies",
        "concurrency_storage_uri",
        "limits_fail_open",
        "maintenance_exempt",
        "ratelimit_guard_storage",
    ],
)
def test_an_app_wide_setting_is_refused_by_override(option: str) -> None:
    # Accepted before, and silently ignored: the app's value was used.
    errors = ApiErrors(Flask(__name__))
    with pytest.raises(TypeError, match=f"^{option}: app-wide setting"):
        errors.override(Blueprint("v1", __name__), **{option: "any value"})


def test_settings_of_one_blueprint_still_apply_to_it() -> None:
    app = Flask(__name__)
    errors = ApiErrors(app)
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    errors.override(v1, format="detail", ratelimit_message="Slow down")
    app.register_blueprint(v1)
    assert app.test_client().get("/v1/x").get_json()["detail"]["code"] == "NOT_FOUND"


# -- lifecycle ------------------------------------------------------------------------------


def test_init_app_after_the_first_request_leaves_the_app_as_it_was() -> None:
    app = Flask(__name__)
    app.test_client().get("/")
    errors = ApiErrors()
    with pytest.raises(AssertionError, match="first request"):
        errors.init_app(app)
    assert "apierrors" not in app.extensions
    assert app.test_client().get("/x").mimetype == "text/html"


def test_factories_in_threads_set_up_their_own_apps() -> None:
    errors = ApiErrors()
    made: dict[str, Flask] = {}
    started = threading.Barrier(2)

    def factory(name: str, fmt: str) -> None:
        app = Flask(name)
        errors.init_app(app)
        started.wait()  # both apps exist before either override
        bp = Blueprint(f"api_{name}", __name__, url_prefix="/api")
        errors.override(bp, format=fmt)
        app.register_blueprint(bp)
        made[name] = app

    threads = [
        threading.Thread(target=factory, args=("a", "problem")),
        threading.Thread(target=factory, args=("b", "detail")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made["a"].test_client().get("/api/x").mimetype == "application/problem+json"
    assert made["b"].test_client().get("/api/x").get_json()["detail"]["code"] == "NOT_FOUND"


def test_a_setup_call_from_another_thread_applies_to_the_app_set_up() -> None:
    app = Flask(__name__)
    errors = ApiErrors(app)
    app.config["TESTING"] = False
    worker = threading.Thread(
        target=errors.register_exception, args=(LookupError, "service_unavailable")
    )
    worker.start()
    worker.join()

    @app.get("/x")
    def x() -> str:
        raise LookupError("gone")

    assert app.test_client().get("/x").status_code == 503


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/items/nope", "error_code"),  # "" route at the prefix, then /<id>
        ("/api/v1/jobs/nope", "error_code"),
        ("/api/v1/users/1/nope", "error"),  # another blueprint's, beside jobs
        ("/ops/health/nope", "error_code"),  # one fixed route: its folder
        ("/ops/other", "error"),
    ],
)
def test_prefixes_of_blueprints_overridden_after_registration(path: str, expected: str) -> None:
    app = Flask(__name__)
    errors = ApiErrors(app)
    items, jobs, users, health = (Blueprint(n, __name__) for n in ("items", "jobs", "u", "h"))
    items.add_url_rule("", "list", lambda: "[]")
    items.add_url_rule("/<int:i>", "one", lambda i: "{}")
    jobs.add_url_rule("", "list", lambda: "[]")
    jobs.add_url_rule("/<int:j>", "one", lambda j: "{}")
    users.add_url_rule("/<int:u>", "one", lambda u: "{}")
    health.add_url_rule("/status", "status", lambda: "{}")
    app.register_blueprint(items, url_prefix="/items")
    app.register_blueprint(jobs, url_prefix="/api/v1/jobs")
    app.register_blueprint(users, url_prefix="/api/v1/users")
    app.register_blueprint(health, url_prefix="/ops/health")
    for bp in (items, jobs, health):
        errors.override(bp, format="error_code")
    body = app.test_client().get(path).get_json()
    assert ("error_code" if "error_code" in body else "error") == expected


def test_an_override_after_registration_finds_the_prefix_of_a_one_route_blueprint() -> None:
    app = Flask(__name__)
    errors = ApiErrors(app)
    api = Blueprint("api", __name__, url_prefix="/api")
    v2 = Blueprint("v2", __name__, url_prefix="/v2")
    v2.add_url_rule("/jobs", "jobs", lambda: "jobs")
    api.register_blueprint(v2)
    app.register_blueprint(api)
    errors.override(v2, format="problem")
    response = app.test_client().get("/api/v2/no/such/route")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert app.test_client().get("/api/other").mimetype == "application/json"
