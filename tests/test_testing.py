"""assert_api_error: every format and blueprint, every difference it reports, own formats."""

from __future__ import annotations

import io
import typing as t
import unittest

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.client import NotFoundError
from flask_apierrors.client import ValidationError
from flask_apierrors.formats import DetailFormat
from flask_apierrors.formats import ErrorCodeFormat
from flask_apierrors.problem import Problem
from flask_apierrors.testing import assert_api_error


def build_app(**options: t.Any) -> Flask:
    app = Flask("testing_app")
    app.config["TESTING"] = True
    errors = ApiErrors(app, **options)
    errors.catalog.add("job_not_found", 404, "Job not found", format="detail")
    legacy = Blueprint("legacy", __name__, url_prefix="/legacy")

    def missing(job_id: str) -> t.NoReturn:
        raise ApiError("job_not_found", details={"job_id": job_id})

    def gone() -> t.NoReturn:
        raise ApiError("not_found", "No such thing", details={"thing": "x"})

    def teapot() -> t.NoReturn:
        raise ApiError("not_found", status=418)

    for target in (app, legacy):
        target.add_url_rule("/jobs/<job_id>", "missing", missing)
        target.add_url_rule("/gone", "gone", gone)
        target.add_url_rule("/teapot", "teapot", teapot)

    @app.get("/hand-made/<kind>")
    def hand_made(kind: str) -> tuple[dict[str, t.Any], int]:
        bodies: dict[str, dict[str, t.Any]] = {
            "other-format": {"error": True, "error_code": "NOT_FOUND", "message": "Nope"},
            "upper": {
                "error": "NOT_FOUND",
                "message": "Nope",
                "timestamp": "2023-12-01T10:00:00Z",
                "correlation_id": "req_1",
            },
            "no-id": {"error": "not_found", "message": "Nope", "timestamp": "2023-12-01T10:00:00Z"},
            "wrong-id": {
                "error": "not_found",
                "message": "Nope",
                "timestamp": "2023-12-01T10:00:00Z",
                "correlation_id": "req_other",
            },
        }
        return bodies[kind], 404

    @app.get("/html")
    def html() -> tuple[str, int]:
        return "<p>Not here</p>", 404

    app.register_blueprint(legacy)
    errors.override(legacy, format="error_code")
    return app


@pytest.mark.parametrize("fmt", ["error", "error_code", "detail", "problem"])
@pytest.mark.parametrize("prefix", ["", "/legacy"])
def test_accepts_every_format_and_blueprint(fmt: str, prefix: str) -> None:
    app = build_app(format=fmt)
    client = app.test_client()
    error = assert_api_error(client.get(f"{prefix}/gone"), "not_found", app=app)
    assert isinstance(error, NotFoundError)
    assert error.details == {"thing": "x"}
    # A code with its own format, and a routing error.
    assert_api_error(client.get(f"{prefix}/jobs/j1"), "JOB_NOT_FOUND", 404, app=app)
    assert_api_error(client.get(f"{prefix}/no/such/route"), "not_found", app=app)


def test_problem_json_on_request() -> None:
    app = build_app()
    response = app.test_client().get("/gone", headers={"Accept": "application/problem+json"})
    assert response.mimetype == "application/problem+json"
    assert_api_error(response, "not_found", app=app, message="No such thing")


@pytest.mark.parametrize("include", [True, False])
def test_correlation_id_setting(include: bool) -> None:
    app = build_app(include_correlation_id=include)
    error = assert_api_error(app.test_client().get("/gone"), "not_found", app=app)
    assert (error.body.get("correlation_id") is not None) is include


def test_uses_the_current_app() -> None:
    app = build_app()
    response = app.test_client().get("/gone")
    with app.app_context():
        assert assert_api_error(response, "not_found").status == 404


def test_validation_errors_come_back_parsed() -> None:
    ma = pytest.importorskip("marshmallow")
    app = build_app(validation_status=422)
    schema = ma.Schema.from_dict({"model": ma.fields.String(required=True)})

    @app.post("/chat")
    def chat() -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", schema().load({}))

    error = assert_api_error(app.test_client().post("/chat"), "validation_error", app=app)
    assert isinstance(error, ValidationError) and error.status == 422
    assert [v.field for v in error.validation_errors] == ["model"]


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("/gone", {"code": "forbidden"}, "code is 'not_found', expected 'forbidden'"),
        ("/gone", {"code": "not_found", "status": 410}, "status is 404, expected 410"),
        ("/teapot", {"code": "not_found"}, "status is 418, expected 404"),
        ("/gone", {"code": "not_found", "message": "Hi"}, "message is 'No such thing'"),
        ("/gone", {"details": {"thing": "y"}}, "details['thing'] is 'x', expected 'y'"),
        ("/gone", {"details": {"other": 1}}, "details has no 'other'"),
        ("/hand-made/other-format", {"code": "not_found"}, "not the app's 'error' format"),
        ("/hand-made/upper", {"code": "not_found"}, "the 'error' format spells it 'not_found'"),
        ("/hand-made/no-id", {"code": "not_found"}, "the body has no correlation id"),
        ("/hand-made/wrong-id", {"code": "not_found"}, "'req_other' differs from the X-Request"),
        ("/html", {"code": "not_found"}, "Expected a JSON error body, got 404 'text/html"),
        ("/legacy/jobs/1", {"code": "unknown_code"}, "'unknown_code' is not in the app's catalog"),
    ],
)
def test_reports_every_difference(path: str, kwargs: dict[str, t.Any], message: str) -> None:
    app = build_app()
    response = app.test_client().get(path)
    with pytest.raises(AssertionError) as raised:
        assert_api_error(response, app=app, **kwargs)
    assert message in str(raised.value)


def test_status_without_code_is_checked() -> None:
    app = build_app()
    assert assert_api_error(app.test_client().get("/teapot"), status=418, app=app).status == 418


def test_needs_an_app_with_the_extension() -> None:
    app = build_app()
    response = app.test_client().get("/gone")
    with pytest.raises(TypeError, match="needs the app"):
        assert_api_error(response, "not_found")
    with pytest.raises(TypeError, match="not set up"):
        assert_api_error(response, "not_found", app=Flask("bare"))


def test_a_unittest_suite_keeping_one_app_context() -> None:
    """setUp pushes an app context for the whole test: ``g`` lives across
    every request it makes, and each request still has its own ids."""
    app = build_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/crash")
    def crash() -> t.NoReturn:
        raise RuntimeError("boom")

    seen: dict[str, list[str]] = {"correlation": [], "error": []}

    class JobsTest(unittest.TestCase):
        def setUp(self) -> None:
            self.ctx = app.app_context()
            self.ctx.push()
            self.client = app.test_client()

        def tearDown(self) -> None:
            self.ctx.pop()

        def test_requests(self) -> None:
            for path, code in [("/gone", "not_found"), ("/legacy/gone", "NOT_FOUND")] * 2:
                error = assert_api_error(self.client.get(path), code)
                seen["correlation"].append(t.cast(str, error.correlation_id))
            for _ in range(2):
                error = assert_api_error(self.client.get("/crash"), "internal_server_error")
                seen["error"].append(error.details["error_id"])
                seen["correlation"].append(t.cast(str, error.correlation_id))

    result = unittest.TextTestRunner(stream=io.StringIO()).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(JobsTest)
    )
    assert result.wasSuccessful(), [text for _, text in result.failures + result.errors]
    assert len(set(seen["correlation"])) == len(seen["correlation"]) == 6
    assert len(set(seen["error"])) == 2


class PerCodeFormat:
    """The ``detail`` shape for 404s, the ``error_code`` shape otherwise."""

    media_type = "application/json"

    def render(self, problem: Problem) -> t.Mapping[str, t.Any]:
        fmt = DetailFormat() if problem.status == 404 else ErrorCodeFormat()
        return fmt.render(problem)


def test_formats_of_ones_own_are_checked_by_rendering() -> None:
    app = Flask("own_format")
    app.config["TESTING"] = True
    errors = ApiErrors(app, format="per_code")
    errors.register_format("per_code", PerCodeFormat())

    @app.get("/wrong-shape")
    def wrong_shape() -> tuple[dict[str, t.Any], int]:
        return {"error": True, "error_code": "NOT_FOUND", "message": "Nope"}, 404

    client = app.test_client()
    error = assert_api_error(client.get("/nope"), "not_found", app=app)
    assert "detail" in error.body
    assert_api_error(client.post("/wrong-shape"), "method_not_allowed", app=app)
    with pytest.raises(AssertionError, match="not the app's 'per_code' format: 'detail' is"):
        assert_api_error(client.get("/wrong-shape"), "not_found", app=app)
