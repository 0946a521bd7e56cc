"""The generated error reference agrees with what the handlers really send."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import docutils.core
import docutils.nodes
import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from flask_apierrors import docgen
from flask_apierrors.catalog import GROUPS
from flask_apierrors.config import Settings
from flask_apierrors.config import merged
from flask_apierrors.problem import Problem
from flask_apierrors.state import get_state
from tests.test_sse import parse_events

EXAMPLE_ID = "req_abc123"

# Codes an app adds to the built-in catalog, one with a format of its own.
CUSTOM_CODES: t.Final[tuple[tuple[t.Any, ...], ...]] = (
    ("job_not_found", 404, "Job not found", "resource", "detail", {"job_id": "batch_1"}),
    ("storage_error", 507, "Insufficient storage space", "processing", None, {"required": 2}),
    ("DATABASEEXCEPTION", 500, "Database operation failed", "custom", "error_code", {}),
)


def make_catalog() -> Catalog:
    catalog = Catalog.default()
    for code, status, message, group, fmt, details in CUSTOM_CODES:
        catalog.add(code, status, message, group=group, format=fmt, example_details=details)
    return catalog


def build_app(**options: t.Any) -> tuple[Flask, ApiErrors]:
    """An app whose routes raise every catalog code's documented example,
    at the app level and in two blueprints with other formats."""
    app = Flask("docgen_app")
    app.config["TESTING"] = True
    app.config["MAX_CONTENT_LENGTH"] = 1000
    catalog = make_catalog()
    ext = ApiErrors(app, catalog=catalog, **options)
    images = Blueprint("images", __name__, url_prefix="/api/v1")
    problems = Blueprint("problems", __name__, url_prefix="/p")

    def raise_example(code: str) -> t.NoReturn:
        spec = catalog[code]
        state = get_state(app)
        settings = state.settings_for(request.blueprints, request.path)
        problem = docgen.example_problem(spec, settings)
        raise ApiError(
            code,
            message=problem.message,
            details=problem.details,
            status=problem.status,
        )

    for target in (app, images, problems):
        target.add_url_rule("/examples/<code>", "example", raise_example)

    @app.get("/json")
    def parse_json() -> t.Any:
        return request.get_json()

    @app.post("/upload")
    def upload() -> t.Any:
        return request.get_data()

    @app.get("/media")
    def media() -> t.Any:
        raise UnsupportedMediaType()

    @app.get("/crash")
    def crash() -> t.Any:
        raise RuntimeError("secret internals")

    app.register_blueprint(images)
    app.register_blueprint(problems)
    ext.override(images, format="error_code")
    ext.override(problems, format="problem", problem_type_base="https://errors.example/")
    return app, ext


CODES: t.Final = [spec.code for spec in make_catalog()]
PREFIXES: t.Final = {None: "", "images": "/api/v1", "problems": "/p"}


def normalise(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """Values that depend on the time or the request, replaced by the
    reference's."""
    inner = body.get("detail") if isinstance(body.get("detail"), dict) else body
    assert isinstance(inner, dict)
    if "timestamp" in inner:
        inner["timestamp"] = docgen.EXAMPLE_TIMESTAMP
    if "instance" in inner:
        inner["instance"] = "<path>"
    return body


@pytest.mark.parametrize("code", CODES)
def test_every_example_is_what_the_handlers_send(code: str) -> None:
    app, _ = build_app()
    reference = docgen.reference_for_app(app)
    spec = reference.catalog[code]
    client = app.test_client()
    assert [s.name for s in reference.scopes] == list(PREFIXES)
    for scope in reference.scopes:
        url = f"{PREFIXES[scope.name]}/examples/{code}"
        response = client.get(url, headers={"X-Request-ID": EXAMPLE_ID})
        documented = normalise(docgen.example_body(spec, scope))
        assert response.status_code == docgen.effective_status(spec, scope.settings)
        assert response.mimetype == docgen.format_for(scope, spec).media_type
        assert normalise(response.get_json()) == documented, (scope.name, code)


@pytest.mark.parametrize("code", CODES)
def test_json_reference_holds_every_code_with_its_examples(code: str) -> None:
    app, _ = build_app()
    reference = docgen.reference_for_app(app)
    data = docgen.to_json(reference)
    entry = next(e for e in data["codes"] if e["code"] == code)
    spec = reference.catalog[code]
    assert entry["status"] == docgen.effective_status(spec, reference.app_scope.settings)
    assert entry["group"] == spec.group
    bodies = [example["body"] for example in entry["examples"]]
    for scope in reference.scopes:
        assert docgen.example_body(spec, scope) in bodies
    # Blueprints are listed once, with the body they answer with.
    listed = [b for example in entry["examples"] for b in example["blueprints"]]
    assert sorted(listed, key=str) == sorted(PREFIXES, key=str)
    assert json.loads(docgen.to_json_text(reference)) == data


def shape(body: t.Any) -> t.Any:
    """The keys of a body, recursively (values aside)."""
    if isinstance(body, dict):
        return {key: shape(value) for key, value in body.items()}
    return type(body).__name__ if body is not None else None


@pytest.mark.parametrize(
    ("code", "method", "path", "send"),
    [
        ("not_found", "GET", "/no/such/endpoint", {}),
        ("method_not_allowed", "DELETE", "/json", {}),
        ("payload_too_large", "POST", "/upload", {"data": b"x" * 2000}),
        ("unsupported_media_type", "GET", "/media", {"data": b"hi", "content_type": "text/plain"}),
        (
            "invalid_json",
            "GET",
            "/json",
            {"data": b'{"a": 1,}', "content_type": "application/json"},
        ),
        ("internal_server_error", "GET", "/crash", {}),
    ],
)
def test_real_errors_have_the_documented_shape(
    code: str, method: str, path: str, send: dict[str, t.Any]
) -> None:
    app, _ = build_app()
    app.config["TESTING"] = False
    reference = docgen.reference_for_app(app)
    spec = reference.catalog[code]
    client = app.test_client()
    response = client.open(path, method=method, headers={"X-Request-ID": EXAMPLE_ID}, **send)
    body = response.get_json()
    documented = docgen.example_body(spec, reference.app_scope)
    assert response.status_code == spec.status
    assert body["error"] == documented["error"]
    assert shape(body) == shape(documented)
    for header in spec.headers:
        assert header in response.headers
    assert "secret internals" not in response.get_data(as_text=True)


def test_validation_status_setting_is_documented() -> None:
    app, _ = build_app(validation_status=422)
    reference = docgen.reference_for_app(app)
    entry = next(e for e in docgen.to_json(reference)["codes"] if e["code"] == "validation_error")
    assert entry["status"] == 422
    assert "- **HTTP Status**: 422 Unprocessable Entity" in docgen.to_markdown(reference)


def test_markdown_reads_like_the_documented_references() -> None:
    app, _ = build_app()
    reference = docgen.reference_for_app(app, title="Example API Errors")
    text = docgen.to_markdown(reference)
    assert text.startswith("# Example API Errors\n")
    sections = [
        "## Error Response Format",
        "## Error Code Reference",
        "## Correlation IDs",
        "## SSE Error Events",
    ]
    positions = [text.index(s) for s in sections]
    assert positions == sorted(positions)
    # Groups in catalog order, each code once under its group.
    group_titles = [f"### {docgen.group_title(g)} (" for g in GROUPS]
    present = [text.index(title) for title in group_titles if title in text]
    assert present == sorted(present)
    for spec in reference.catalog:
        heading = "#### " + docgen.display_code(spec, reference.app_scope)
        assert text.count(heading + "\n") == 1, heading
        section = text.split(heading + "\n", 1)[1].split("\n#### ", 1)[0]
        assert f"- **HTTP Status**: {spec.status} " in section
        assert json.dumps(docgen.example_body(spec, reference.app_scope), indent=2) in section
    # The code with its own format shows it; blueprints with another format
    # get their own example where the body differs.
    assert '"code": "JOB_NOT_FOUND"' in text
    assert "- **Example** (blueprint `images`, under `/api/v1`):" in text
    assert "Errors of blueprint `problems`, under `/p` use this format:" in text
    # job_not_found renders in ``detail``: the id is found in two places.
    assert (
        "Error bodies repeat it, in `correlation_id` or `detail.correlation_id`,"
        " depending on the code:" in text
    )
    assert "event: error\ndata: " in text and 'event: close\ndata: {"reason":"error"}' in text
    # Streams of the images blueprint spell codes upper case.
    sse = text.split("## SSE Error Events", 1)[1]
    assert 'data: {"code":"internal_server_error"' in sse
    assert "In streams of blueprint `images`, under `/api/v1`:" in sse
    assert 'data: {"code":"INTERNAL_SERVER_ERROR"' in sse


def envelope(problem: Problem) -> dict[str, t.Any]:
    return {"ok": False, "meta": {"request": problem.correlation_id}, "code": problem.code}


@pytest.mark.parametrize(
    ("options", "paths"),
    [
        ({"format": "error"}, ["correlation_id"]),
        ({"format": "detail"}, ["detail.correlation_id"]),
        ({"format": envelope}, ["meta.request"]),
        ({"format": "problem", "include_correlation_id": False}, []),
    ],
)
def test_correlation_id_paths_are_found_in_any_format(
    options: dict[str, t.Any], paths: list[str]
) -> None:
    scope = docgen.Scope(merged(Settings(), options))
    assert docgen.correlation_id_paths(scope, Catalog.default()) == paths


def test_correlation_section_names_blueprints_that_differ() -> None:
    catalog = Catalog.default()
    app_scope = docgen.Scope(Settings())
    quiet = docgen.Scope(Settings(include_correlation_id=False), "quiet", "/q")
    nested = docgen.Scope(Settings(format="detail"), "nested", "/n")
    text = docgen.to_markdown(docgen.Reference(catalog, (app_scope, quiet, nested)))
    assert "- by default, in `correlation_id`\n" in text
    assert "- in errors of blueprint `quiet`, under `/q`: none (read the header)\n" in text
    assert "- in errors of blueprint `nested`, under `/n`: `detail.correlation_id`\n" in text


@pytest.mark.parametrize("include", [True, False])
def test_correlation_section_follows_the_settings(include: bool) -> None:
    reference = docgen.Reference.from_settings(
        settings=Settings(include_correlation_id=include, response_id_header="X-Trace")
    )
    text = docgen.to_markdown(reference)
    assert "`X-Trace` header" in text
    assert ("Error bodies do not repeat it" in text) is not include
    assert ('"correlation_id": "req_abc123"' in text) is include


@pytest.mark.parametrize("fmt", ["error", "error_code", "detail", "problem"])
def test_sse_section_matches_the_stream_helper(fmt: str) -> None:
    sse = pytest.importorskip("flask_apierrors.sse")
    app, _ = build_app(format=fmt)
    reference = docgen.reference_for_app(app)
    spec = reference.catalog["internal_server_error"]
    problem = docgen.example_problem(spec, reference.app_scope.settings)
    documented = docgen.sse_frames(spec, reference.app_scope)
    with app.test_request_context("/"):
        sent = sse.error_events(problem)
    # The same events; the stream writes JSON as the app does (sorted keys),
    # the reference in the documented order.
    assert parse_events(sent) == parse_events(documented)
    assert documented.startswith('event: error\ndata: {"code":')


def test_rest_output_is_valid_restructuredtext() -> None:
    app, _ = build_app()
    reference = docgen.reference_for_app(app)
    for with_title in (True, False):
        text = docgen.to_rest(reference, title=with_title)
        doctree = docutils.core.publish_doctree(
            text, settings_overrides={"halt_level": 2, "report_level": 2}
        )
        titles = [node.astext() for node in doctree.findall(docutils.nodes.title)]
        for spec in reference.catalog:
            assert docgen.display_code(spec, reference.app_scope) in titles


def test_reference_needs_the_extension() -> None:
    with pytest.raises(RuntimeError, match="ApiErrors is not set up"):
        docgen.reference_for_app(Flask("bare"))
    with pytest.raises(ValueError, match="at least"):
        docgen.Reference(Catalog(), ())


@pytest.mark.parametrize(
    ("group", "title"),
    [
        ("rate_limiting", "Rate Limiting Errors"),
        ("http", "Other HTTP Errors"),
        ("x_y", "X Y Errors"),
    ],
)
def test_group_titles(group: str, title: str) -> None:
    assert docgen.group_title(group) == title


@pytest.mark.parametrize(
    ("body", "value", "path"),
    [
        ({"error": "x", "detail": {"code": "y"}}, "y", ("detail", "code")),
        ({"a": [1], "b": {"c": [1]}}, [1], ("a",)),
        ({"a": 1}, 2, None),
        ("text", "text", None),
    ],
)
def test_path_of(body: t.Any, value: t.Any, path: tuple[str, ...] | None) -> None:
    assert docgen.path_of(body, value) == path


def test_example_app_reference_matches_its_handlers(tmp_path: Path) -> None:
    from example_app import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "ADMIN_KEY": "mel_" + "a" * 32})
    reference = docgen.reference_for_app(app)
    ext = get_state(app).ext
    assert len(reference.scopes) > 1
    checked = 0
    for scope in reference.scopes:
        # An unrouted path under the scope's prefix picks the scope's settings.
        path = f"{scope.url_prefix or ''}/no-such-route"
        for spec in reference.catalog:
            problem = docgen.example_problem(spec, scope.settings)
            error = ApiError(
                spec.code, problem.message, status=problem.status, details=problem.details
            )
            with app.test_request_context(path, headers={"X-Request-ID": EXAMPLE_ID}):
                response = ext.make_response(ext.problem_for(error))
            body = normalise(json.loads(response.get_data()))
            documented = docgen.example_body(spec, scope, reference.formats)
            assert body == normalise(documented), (scope.name, spec)
            assert response.status_code == problem.status
            checked += 1
    assert checked == len(reference.scopes) * len(reference.catalog)
    text = docgen.to_markdown(reference)
    # Reads like the documented references: both APIs' codes, by group.
    for heading in ("#### JOB_NOT_FOUND\n", "#### rate_limit_exceeded\n", "#### STORAGE_ERROR\n"):
        assert heading in text
