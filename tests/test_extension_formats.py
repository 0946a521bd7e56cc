"""Formats, content negotiation and per-blueprint overrides of ApiErrors."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import request

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from flask_apierrors import Problem

from .conftest import MakeApp

# -- formats and negotiation ---------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        ("application/problem+json", "application/problem+json"),
        ("application/json", "application/json"),
        ("application/json, application/problem+json;q=0.5", "application/json"),
        ("application/problem+json, application/json;q=0.5", "application/problem+json"),
        ("*/*", "application/json"),
        # Media types ignore case (RFC 9110).
        ("APPLICATION/PROBLEM+JSON", "application/problem+json"),
        ("Application/Problem+Json, application/json;q=0.5", "application/problem+json"),
        ("application/JSON, application/problem+json;q=0.5", "application/json"),
        # Media-type parameters do not hide the type.
        ("application/problem+json; charset=utf-8", "application/problem+json"),
        ("application/problem+json;charset=utf-8;q=0.4, application/json", "application/json"),
    ],
)
def test_accept_problem_json(app: Flask, accept: str, mimetype: str) -> None:
    response = app.test_client().get("/nothing", headers={"Accept": accept})
    assert response.mimetype == mimetype


def test_only_the_head_of_a_huge_accept_header_is_parsed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hundreds of KB of Accept (gunicorn joins repeated headers) took ~0.4 s
    # of parsing per error, a hundred times a plain 404.
    from werkzeug.http import parse_accept_header as parse

    from flask_apierrors import rendering

    parsed: list[int] = []

    def measured(value: str, *args: t.Any) -> t.Any:
        parsed.append(len(value))
        return parse(value, *args)

    monkeypatch.setattr(rendering, "parse_accept_header", measured)
    filler = ", ".join(f"text/x-{i}" for i in range(20_000))
    client = app.test_client()
    first = client.get("/nothing", headers={"Accept": "application/problem+json, " + filler})
    assert first.mimetype == "application/problem+json"
    last = client.get("/nothing", headers={"Accept": filler + ", application/problem+json"})
    assert last.mimetype == "application/json"
    assert len(parsed) == 1 and parsed[0] <= rendering.MAX_ACCEPT


def test_problem_on_accept_can_be_switched_off(make_app: MakeApp) -> None:
    app, _ = make_app(problem_on_accept=False)
    headers = {"Accept": "application/problem+json"}
    assert app.test_client().get("/x", headers=headers).mimetype == "application/json"


def test_problem_format(make_app: MakeApp) -> None:
    app, _ = make_app(format="problem", problem_type_base="https://errors.example.com/")
    body = app.test_client().get("/missing").get_json()
    assert body["type"] == "https://errors.example.com/not_found"
    assert (body["title"], body["status"], body["instance"]) == ("Not Found", 404, "/missing")
    assert body["code"] == "not_found"


def test_callable_and_registered_formats(make_app: MakeApp) -> None:
    def tiny(problem: Problem) -> dict[str, t.Any]:
        return {"oops": problem.code, "status": problem.status}

    app, ext = make_app(format=tiny)
    ext.register_format("tiny2", tiny)
    bp = Blueprint("b", __name__, url_prefix="/b")
    ext.override(bp, format="tiny2")
    app.register_blueprint(bp)
    assert app.test_client().get("/x").get_json() == {"oops": "not_found", "status": 404}
    assert app.test_client().get("/b/x").get_json() == {"oops": "not_found", "status": 404}


def test_uppercase_codes_option(make_app: MakeApp) -> None:
    app, _ = make_app(format="error", uppercase_codes=True)
    assert app.test_client().get("/x").get_json()["error"] == "NOT_FOUND"
    app, _ = make_app(format="detail", uppercase_codes=False)
    assert app.test_client().get("/x").get_json()["detail"]["code"] == "not_found"


def test_correlation_id_can_be_left_out_of_bodies(make_app: MakeApp) -> None:
    app, _ = make_app(include_correlation_id=False)
    response = app.test_client().get("/x")
    assert "correlation_id" not in response.get_json()
    assert response.headers["X-Request-ID"].startswith("req_")


# -- blueprints ----------------------------------------------------------------


def _blueprint_app(register_first: bool) -> tuple[Flask, ApiErrors]:
    app = Flask(__name__)
    ext = ApiErrors(app, format="error")
    app.config["MAX_CONTENT_LENGTH"] = 10
    v1 = Blueprint("v1", __name__, url_prefix="/api/v1")

    @v1.get("/jobs/<job_id>")
    def job(job_id: str) -> str:
        raise ApiError("not_found", "Job not found", details={"job_id": job_id})

    @v1.post("/upload")
    def upload() -> str:
        return request.get_data(as_text=True)

    if register_first:
        app.register_blueprint(v1)
        ext.override(v1, format="detail")
    else:
        ext.override(v1, format="detail")
        app.register_blueprint(v1)
    return app, ext


@pytest.mark.parametrize("register_first", [True, False])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/jobs/7", 404),  # raised in a view of the blueprint
        ("GET", "/api/v1/nothing/here", 404),  # routing 404 under the prefix
        ("DELETE", "/api/v1/upload", 405),  # routing 405 under the prefix
        ("POST", "/api/v1/upload", 413),
    ],
)
def test_blueprint_override(register_first: bool, method: str, path: str, status: int) -> None:
    app, _ = _blueprint_app(register_first)
    response = app.test_client().open(path, method=method, data=b"x" * 100)
    assert response.status_code == status
    assert "detail" in response.get_json()


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api//v1/nothing", 404), ("/api///v1/nothing", 404), ("/api//v1/jobs/7", 308)],
)
def test_a_path_with_repeated_slashes_is_in_the_scope_routing_reads(path: str, status: int) -> None:
    # Werkzeug routes "/api//v1/..." as "/api/v1/...": its routing 404, and
    # the redirect to the merged path, came in the app's format.
    app, _ = _blueprint_app(register_first=True)
    response = app.test_client().get(path)
    assert response.status_code == status
    assert "detail" in response.get_json()
    # Routing that keeps the slashes keeps them for the scope too.
    app, _ = _blueprint_app(register_first=True)
    app.url_map.merge_slashes = False
    assert app.test_client().get(path).get_json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/nothing", "/api/v10/x", "/api"])
def test_outside_the_prefix_the_app_format_applies(path: str) -> None:
    app, _ = _blueprint_app(register_first=True)
    assert app.test_client().get(path).get_json()["error"] == "not_found"


def test_nested_blueprints_innermost_wins() -> None:
    app = Flask(__name__)
    ext = ApiErrors(app)
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    @parent.get("/here")
    def here() -> str:
        raise ApiError("conflict")

    @child.get("/here")
    def child_here() -> str:
        raise ApiError("conflict")

    parent.register_blueprint(child)
    ext.override(parent, format="error_code")
    ext.override(child, format="detail")
    app.register_blueprint(parent)
    c = app.test_client()
    assert c.get("/p/here").get_json()["error_code"] == "CONFLICT"
    assert c.get("/p/c/here").get_json()["detail"]["code"] == "CONFLICT"
    assert c.get("/p/c/missing").get_json()["detail"]["code"] == "NOT_FOUND"
    assert c.get("/p/missing").get_json()["error_code"] == "NOT_FOUND"


def test_an_override_covers_every_registration_of_its_blueprint(make_app: MakeApp) -> None:
    app, ext = make_app()
    jobs = Blueprint("jobs", __name__)

    @jobs.get("/jobs/<int:job_id>")
    def job(job_id: int) -> t.NoReturn:
        raise ApiError("not_found")

    ext.override(jobs, format="error_code")
    app.register_blueprint(jobs, url_prefix="/v1")
    app.register_blueprint(jobs, url_prefix="/v2", name="jobs_v2")
    client = app.test_client()
    for path in ("/v1/jobs/1", "/v2/jobs/1", "/v1/nope", "/v2/nope"):
        assert client.get(path).get_json()["error_code"] == "NOT_FOUND", path
    assert client.get("/v3/nope").get_json()["error"] == "not_found"


def test_explicit_url_prefix(make_app: MakeApp) -> None:
    app, ext = make_app()
    bp = Blueprint("odd", __name__)

    @bp.get("/odd/one")
    def one() -> str:
        return "one"

    app.register_blueprint(bp)
    ext.override(bp, url_prefix="/odd", format="detail")
    assert "detail" in app.test_client().get("/odd/two").get_json()


def test_code_format_beats_blueprint_format(make_app: MakeApp) -> None:
    catalog = Catalog.default()
    catalog.add("STORAGE_ERROR", 507, "Insufficient storage space", format="error_code")
    app, ext = make_app(catalog=catalog)
    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.get("/store")
    def store() -> str:
        raise ApiError("STORAGE_ERROR", details={"required": 2, "available": 1})

    ext.override(bp, format="detail")
    app.register_blueprint(bp)
    response = app.test_client().get("/api/store")
    assert response.status_code == 507
    assert response.get_json()["error_code"] == "STORAGE_ERROR"


def test_exception_class_format_beats_app_format(app: Flask) -> None:
    class Legacy(ApiError):
        error_code = "LEGACY"
        status = 409
        format = "detail"

    @app.get("/legacy")
    def legacy() -> str:
        raise Legacy()

    assert app.test_client().get("/legacy").get_json()["detail"]["code"] == "LEGACY"
