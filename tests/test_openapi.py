"""OpenAPI documents, components and JSON Schemas of the error bodies."""

from __future__ import annotations

import copy
import typing as t
from pathlib import Path

import jsonschema
import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from openapi_spec_validator import validate as validate_spec

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from flask_apierrors import docgen
from flask_apierrors import openapi
from flask_apierrors.formats import BUILTIN
from flask_apierrors.problem import Problem
from flask_apierrors.state import get_state
from tests.test_testing import PerCodeFormat

EXAMPLE_ID = "req_abc123"


def build_app(**options: t.Any) -> Flask:
    """Routes that raise every catalog code, in the app and in blueprints
    with other formats; one code with a format of its own."""
    app = Flask("openapi_app")
    app.config["TESTING"] = True
    catalog = Catalog.default()
    catalog.add("job_not_found", 404, "Job not found", group="resource", format="detail")
    ext = ApiErrors(app, catalog=catalog, **options)
    images = Blueprint("images", __name__, url_prefix="/api/v1")
    quiet = Blueprint("quiet", __name__, url_prefix="/quiet")

    def raise_code(code: str) -> t.NoReturn:
        spec = catalog[code]
        state = get_state(app)
        settings = state.settings_for(request.blueprints, request.path)
        problem = docgen.example_problem(spec, settings)
        raise ApiError(code, details=problem.details, status=problem.status)

    for target in (app, images, quiet):
        target.add_url_rule("/codes/<code>", "code", raise_code)

    @images.get("/jobs/<int:job_id>/files/<uuid:file_id>")
    def job_file(job_id: int, file_id: t.Any) -> str:
        return "ok"

    @app.route("/items/<any(a, b):kind>/<path:rest>", methods=["GET", "POST"])
    def items(kind: str, rest: str) -> str:
        return "ok"

    app.register_blueprint(images)
    app.register_blueprint(quiet)
    ext.override(images, format="error_code")
    ext.override(quiet, format="detail", include_correlation_id=False)
    return app


PREFIXES: t.Final = {None: "", "images": "/api/v1", "quiet": "/quiet"}
CODES: t.Final = [spec.code for spec in Catalog.default()] + ["job_not_found"]


def validator_for(document: dict[str, t.Any], pointer: str) -> jsonschema.Draft202012Validator:
    """A validator of the schema at ``pointer`` inside ``document``, with the
    document's ``$ref``s resolvable."""
    schema = {"$ref": "#" + pointer, "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def media_pointer(response_name: str, media_type: str) -> str:
    escaped = media_type.replace("~", "~0").replace("/", "~1")
    return f"/components/responses/{response_name}/content/{escaped}/schema"


@pytest.fixture(scope="module")
def app() -> Flask:
    return build_app()


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, t.Any]:
    return openapi.document(app, title="Errors", version="2.0")


def test_document_is_valid_openapi_31(document: dict[str, t.Any]) -> None:
    validate_spec(copy.deepcopy(document))
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Errors", "version": "2.0"}


@pytest.mark.parametrize("code", CODES)
def test_real_bodies_validate_against_the_code_responses(
    app: Flask, document: dict[str, t.Any], code: str
) -> None:
    reference = docgen.reference_for_app(app)
    spec = reference.catalog[code]
    client = app.test_client()
    responses = document["components"]["responses"]
    for scope in reference.scopes:
        name = openapi.response_name(spec, scope)
        if name not in responses:
            # The blueprint answers like the app: the app's response is reused.
            name = openapi.response_name(spec)
        url = f"{PREFIXES[scope.name]}/codes/{code}"
        for accept, media_type in (
            (None, docgen.format_for(scope, spec).media_type),
            ("application/problem+json", "application/problem+json"),
        ):
            headers = {"X-Request-ID": EXAMPLE_ID}
            if accept:
                headers["Accept"] = accept
            response = client.get(url, headers=headers)
            assert response.mimetype == media_type
            body = response.get_json()
            validator_for(document, media_pointer(name, media_type)).validate(body)
            # The generic response of the route's scope accepts it too.
            generic = openapi.scope_prefix(scope) + openapi.ERROR_RESPONSE
            validator_for(document, media_pointer(generic, media_type)).validate(body)


@pytest.mark.parametrize("code", ["not_found", "job_not_found", "internal_server_error"])
def test_code_responses_reject_other_codes(document: dict[str, t.Any], code: str) -> None:
    name = openapi.component_name(code)
    content = document["components"]["responses"][name]["content"]
    media_type = next(iter(content))
    example = copy.deepcopy(content[media_type]["example"])
    validator = validator_for(document, media_pointer(name, media_type))
    validator.validate(example)
    inner = example["detail"] if "detail" in example else example
    inner["code" if "code" in inner else "error"] = "some_other_code"
    assert not validator.is_valid(example)


def test_examples_validate_against_their_schemas(document: dict[str, t.Any]) -> None:
    checked = 0
    for name, response in document["components"]["responses"].items():
        for media_type, media in response["content"].items():
            if "example" in media:
                validator_for(document, media_pointer(name, media_type)).validate(media["example"])
                checked += 1
    assert checked >= len(CODES)


@pytest.mark.parametrize("fmt", BUILTIN)
@pytest.mark.parametrize("include_cid", [True, False])
def test_json_schema_validates_real_bodies(fmt: str, include_cid: bool) -> None:
    app = build_app(format=fmt, include_correlation_id=include_cid)
    schema = openapi.json_schema(fmt, include_correlation_id=include_cid)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    client = app.test_client()
    for code in ("not_found", "internal_server_error", "validation_error", "rate_limit_exceeded"):
        validator.validate(client.get(f"/codes/{code}").get_json())
    validator.validate(client.get("/no/such/route").get_json())


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("error", {"message": "no code", "timestamp": "2023-12-01T10:00:00Z"}),
        ("error", {"error": "x", "message": "m", "timestamp": "yesterday", "correlation_id": "c"}),
        ("error_code", {"error": False, "error_code": "X", "message": "m", "correlation_id": "c"}),
        ("detail", {"detail": {"code": "X", "message": "m"}}),
        ("detail", {"detail": "text"}),
        ("problem", {"type": "about:blank", "title": "T", "status": 200, "detail": "d"}),
        ("error", {"error": "x", "message": "m", "timestamp": "2023-12-01T10:00:00Z",
                   "correlation_id": "c", "details": {"validation_errors": [{"field": "a"}]}}),
    ],
)  # fmt: skip
def test_json_schema_rejects_other_shapes(fmt: str, body: dict[str, t.Any]) -> None:
    schema = openapi.json_schema(fmt)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert not validator.is_valid(body)


def test_unknown_format_has_no_schema() -> None:
    with pytest.raises(ValueError, match="No schema for format 'xml'"):
        openapi.json_schema("xml")


def test_paths_cover_every_route_with_its_scope(document: dict[str, t.Any]) -> None:
    paths = document["paths"]
    assert "/static/{filename}" not in paths
    job_file = paths["/api/v1/jobs/{job_id}/files/{file_id}"]["get"]
    assert job_file["responses"]["404"] == {"$ref": "#/components/responses/images.NotFound"}
    assert job_file["parameters"] == [
        {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {
            "name": "file_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        },
    ]
    items = paths["/items/{kind}/{rest}"]
    assert sorted(items) == ["get", "post"]
    assert items["get"]["parameters"][0]["schema"] == {"type": "string", "enum": ["a", "b"]}
    assert sorted(items["post"]["responses"]) == ["2XX", "404", "500"]


def test_blueprint_responses_exist_only_where_bodies_differ(document: dict[str, t.Any]) -> None:
    responses = document["components"]["responses"]
    assert {"Error", "images.Error", "quiet.Error"} <= set(responses)
    assert "images.NotFound" in responses
    # job_not_found always answers in ``detail``: the same body in the app
    # and in images, but not in quiet (no correlation id there).
    assert "images.JobNotFound" not in responses
    assert "quiet.JobNotFound" in responses
    schemas = document["components"]["schemas"]
    assert {"ErrorBody", "ErrorCodeBody", "DetailBody", "DetailBodyNoCorrelationId"} <= set(schemas)
    assert (
        "correlation_id"
        not in schemas["DetailBodyNoCorrelationId"]["properties"]["detail"]["required"]
    )


def test_retry_after_header_is_documented(document: dict[str, t.Any]) -> None:
    headers = document["components"]["responses"]["RateLimitExceeded"]["headers"]
    assert headers["Retry-After"]["schema"] == {"type": "string", "pattern": "^[0-9]+$"}
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(headers)
    assert "X-Request-ID" in headers


def test_own_paths_get_error_responses(app: Flask) -> None:
    paths: dict[str, t.Any] = {
        "/api/v1/codes/{code}": {
            "get": {"responses": {"200": {"description": "A code"}}},
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
        },
        "/custom": {"post": {"responses": {"4XX": {"description": "Mine"}}}},
    }
    doc = openapi.document(app, paths=paths, servers=[{"url": "http://127.0.0.1"}])
    validate_spec(copy.deepcopy(doc))
    get = doc["paths"]["/api/v1/codes/{code}"]["get"]
    assert get["responses"]["404"] == {"$ref": "#/components/responses/images.NotFound"}
    custom = doc["paths"]["/custom"]["post"]["responses"]
    assert custom["5XX"] == {"$ref": "#/components/responses/Error"}
    assert custom["4XX"] == {"description": "Mine"}
    assert paths["/custom"]["post"]["responses"] == {"4XX": {"description": "Mine"}}
    assert doc["info"]["title"] == "openapi_app" and doc["servers"] == [{"url": "http://127.0.0.1"}]


@pytest.mark.parametrize(
    ("code", "name"),
    [("job_not_found", "JobNotFound"), ("NOT_FOUND", "NotFound"), ("x-y.z", "XYZ"), ("_", "Error")],
)
def test_component_names(code: str, name: str) -> None:
    assert openapi.component_name(code) == name


def test_components_default_to_the_builtin_catalog() -> None:
    built = openapi.components()
    codes = {openapi.component_name(spec.code) for spec in Catalog.default()}
    assert codes | {"Error"} == set(built["responses"])


@pytest.mark.parametrize("openapi_version", ["3.0.3", "3.1.0"])
def test_apispec_plugin(app: Flask, openapi_version: str) -> None:
    apispec = pytest.importorskip("apispec")
    spec = apispec.APISpec("Jobs", "1.0", openapi_version, plugins=[openapi.ApiErrorsPlugin(app)])
    responses = {"200": {"description": "ok"}, "404": "NotFound", "429": "TOO_MANY_REQUESTS"}
    spec.path("/jobs", operations={"get": {"responses": responses}})
    doc = spec.to_dict()
    validate_spec(doc)
    assert doc["components"]["responses"]["NotFound"]["content"]["application/json"]
    assert doc["paths"]["/jobs"]["get"]["responses"]["404"] == {
        "$ref": "#/components/responses/NotFound"
    }
    assert doc["paths"]["/jobs"]["get"]["responses"]["429"] == {
        "$ref": "#/components/responses/RateLimitExceeded"
    }


def test_apispec_plugin_without_app_documents_the_builtins() -> None:
    apispec = pytest.importorskip("apispec")
    spec = apispec.APISpec("Jobs", "1.0", "3.1.0", plugins=[openapi.ApiErrorsPlugin()])
    doc = spec.to_dict()
    validate_spec(doc)
    assert set(doc["components"]["responses"]) == set(openapi.components()["responses"])


@pytest.mark.parametrize("openapi_version", ["3.0.2", "3.1.0"])
def test_flask_smorest_spec_uses_our_responses(openapi_version: str) -> None:
    smorest = pytest.importorskip("flask_smorest")
    ma = pytest.importorskip("marshmallow")
    query = ma.Schema.from_dict({"limit": ma.fields.Integer(required=True)})

    app = Flask("smorest_app")
    app.config.update(
        API_TITLE="Jobs", API_VERSION="1", OPENAPI_VERSION=openapi_version, TESTING=True
    )
    api = smorest.Api(app, spec_kwargs={"extra_plugins": [openapi.ApiErrorsPlugin(app)]})
    # After the Api: flask-smorest registers an HTTPException handler too.
    ApiErrors(app, validation_status=422)
    blp = smorest.Blueprint("jobs", __name__, url_prefix="/jobs")

    def list_jobs(args: dict[str, t.Any]) -> list[t.Any]:
        return []

    blp.route("/")(blp.arguments(query, location="query")(blp.response(200)(list_jobs)))
    api.register_blueprint(blp)
    doc = api.spec.to_dict()
    validate_spec(copy.deepcopy(doc))
    responses = doc["paths"]["/jobs/"]["get"]["responses"]
    assert responses["422"] == {"$ref": "#/components/responses/ValidationError"}
    assert responses["default"] == {"$ref": "#/components/responses/Error"}
    # What the client really gets validates against the documented response.
    body = app.test_client().get("/jobs/?limit=x").get_json()
    pointer = media_pointer("ValidationError", "application/json")
    validator_for(doc, pointer).validate(body)
    assert body["details"]["validation_errors"][0]["field"] == "limit"


def envelope(problem: Problem) -> dict[str, t.Any]:
    return {"ok": False, "problem": problem.code}


def test_own_formats_get_the_builtin_shape_they_render() -> None:
    app = Flask("own_format_app")
    app.config["TESTING"] = True
    errors = ApiErrors(app, format="per_code")
    errors.register_format("per_code", PerCodeFormat())
    doc = openapi.document(app)
    validate_spec(copy.deepcopy(doc))
    responses = doc["components"]["responses"]
    assert responses["Error"]["content"]["application/json"]["schema"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/ErrorCodeBody"},
            {"$ref": "#/components/schemas/DetailBody"},
        ]
    }
    client = app.test_client()
    for code, path in (("not_found", "/nope"), ("method_not_allowed", "/static/x")):
        response = client.open(path, method="POST" if code != "not_found" else "GET")
        name = openapi.component_name(code)
        validator = validator_for(doc, media_pointer(name, "application/json"))
        validator.validate(response.get_json())
        assert not validator.is_valid({"error": "not_found", "message": "x"})


def test_formats_of_no_known_shape_are_objects() -> None:
    app = Flask("envelope_app")
    ApiErrors(app, format=envelope)
    doc = openapi.document(app)
    validate_spec(copy.deepcopy(doc))
    content = doc["components"]["responses"]["Error"]["content"]
    assert content["application/json"]["schema"] == {"type": "object"}
    # Clients asking for problem details still get the documented shape.
    assert content["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemBody"
    }


@pytest.mark.parametrize(
    ("method", "path", "template", "headers", "status"),
    [
        ("GET", "/no/such/route", None, {}, 404),
        ("GET", "/api-keys/mel_nobody", "/api-keys/{key_id}", {}, 401),
        ("DELETE", "/health", None, {}, 405),
        ("GET", "/api/v1/jobs/bad@id", "/api/v1/jobs/{job_id}", {"X-API-Key": "k"}, 403),
        ("GET", "/api/v1/no/such/route", None, {}, 404),
        ("GET", "/health", "/health", {"Accept": "application/problem+json"}, 200),
        ("GET", "/api-keys/x", "/api-keys/{key_id}", {"Accept": "application/problem+json"}, 401),
    ],
)
def test_example_app_document_describes_its_errors(
    tmp_path: Path,
    method: str,
    path: str,
    template: str | None,
    headers: dict[str, str],
    status: int,
) -> None:
    from example_app import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "ADMIN_KEY": "mel_" + "a" * 32})
    client = app.test_client()
    doc = client.get("/openapi.json").get_json()
    validate_spec(copy.deepcopy(doc))
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == status
    if status < 400:
        return
    if template is None:
        # No route: the error response of the scope the prefix picks.
        prefix = "images." if path.startswith("/api/v1/") else ""
        ref = f"#/components/responses/{prefix}Error"
    else:
        ref = doc["paths"][template][method.lower()]["responses"][str(status)]["$ref"]
    name = ref.rpartition("/")[2]
    pointer = media_pointer(name, str(response.mimetype))
    validator_for(doc, pointer).validate(response.get_json())
