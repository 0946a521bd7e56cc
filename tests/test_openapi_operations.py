"""Per-operation error responses: each operation of the OpenAPI document lists
the errors its route can really return, and what the route answers
validates against the response documented for its status."""

from __future__ import annotations

import copy
import functools
import typing as t

import jsonschema
import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from marshmallow import fields
from openapi_spec_validator import validate as validate_spec

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors import openapi
from flask_apierrors import use_schema
from flask_apierrors.availability import Maintenance
from tests.test_openapi import media_pointer

flask_limiter = pytest.importorskip("flask_limiter")
webargs_flask = pytest.importorskip("webargs.flaskparser")
from flask_limiter import Limiter  # noqa: E402

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
#: webargs' decorator, typed for mypy (webargs leaves it untyped).
Decorator = t.Callable[..., t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]]
use_args: Decorator = webargs_flask.use_args


def login_required(view: F) -> F:
    """An app's own authentication decorator, which declares its errors."""

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if "Authorization" not in request.headers:
            from flask_apierrors import abort

            abort("unauthorized")
        return view(*args, **kwargs)

    return openapi.documents("unauthorized")(t.cast(F, wrapper))


def build_app(tmp_path: t.Any = None, **options: t.Any) -> Flask:
    app = Flask("operations")
    app.config["TESTING"] = True
    if tmp_path is not None:
        app.instance_path = str(tmp_path)
    errors = ApiErrors(app, **options)
    errors.catalog.add("payment_declined", 402, "Payment declined")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    concurrency = ConcurrencyLimiter(app, key_func=lambda: "client")
    v2 = Blueprint("v2", __name__, url_prefix="/v2")
    limiter.limit("100/minute")(v2)

    @app.get("/plain")
    @limiter.exempt
    def plain() -> dict[str, t.Any]:
        return {}

    @app.get("/jobs/<int:job_id>")
    @limiter.exempt
    def job(job_id: int) -> dict[str, t.Any]:
        return {}

    @app.post("/orders")
    @limiter.limit("100/minute")
    @login_required
    @use_schema({"amount": fields.Integer(required=True)})
    @openapi.documents("payment_declined", "bad_gateway")
    def orders(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    @app.get("/search")
    @limiter.exempt
    @use_schema({"q": fields.String(required=True)}, "query")
    def search(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    @app.post("/files")
    @limiter.exempt
    @use_schema({"file": fields.Raw(required=True)}, "files")
    def files(form: dict[str, t.Any]) -> dict[str, t.Any]:
        return {}

    @app.post("/reports")
    @limiter.exempt
    @concurrency.limit(1, scope="reports")
    def reports() -> dict[str, t.Any]:
        return {}

    @app.get("/webargs")
    @limiter.exempt
    @use_args({"q": fields.String(required=True)}, location="query", arg_name="q")
    def with_webargs(q: dict[str, t.Any]) -> dict[str, t.Any]:
        return q

    @v2.get("/items")
    def items() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(v2)
    return app


CASES: t.Final = [
    ("plain", ("internal_server_error",)),
    ("job", ("not_found", "internal_server_error")),
    (
        "orders",
        (
            "invalid_json",
            "unsupported_media_type",
            "validation_error",
            "payment_declined",
            "bad_gateway",
            "unauthorized",
            "rate_limit_exceeded",
            "internal_server_error",
        ),
    ),
    ("search", ("validation_error", "internal_server_error")),
    (
        "files",
        (
            "unsupported_media_type",
            "payload_too_large",
            "validation_error",
            "internal_server_error",
        ),
    ),
    ("reports", ("concurrent_limit_exceeded", "internal_server_error")),
    ("with_webargs", ("validation_error", "internal_server_error")),
    ("v2.items", ("rate_limit_exceeded", "internal_server_error")),
]


def rule_of(app: Flask, endpoint: str) -> t.Any:
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)


@pytest.mark.parametrize(("endpoint", "codes"), CASES)
def test_operation_codes(endpoint: str, codes: tuple[str, ...]) -> None:
    app = build_app()
    assert openapi.operation_codes(app, rule_of(app, endpoint)) == codes


def test_a_body_limit_adds_413_to_json_bodies() -> None:
    app = build_app()
    app.config["MAX_CONTENT_LENGTH"] = 1000
    assert "payload_too_large" in openapi.operation_codes(app, rule_of(app, "orders"))


def test_app_wide_limits_and_maintenance(tmp_path: t.Any) -> None:
    app = Flask("app_wide")
    app.instance_path = str(tmp_path)
    ApiErrors(app, maintenance_exempt=["/health"])
    Maintenance(app)
    Limiter(lambda: "c", app=app, storage_uri="memory://", application_limits=["1000/day"])
    ConcurrencyLimiter(app, key_func=lambda: "c", application_limit=5)

    @app.get("/health")
    def health() -> dict[str, t.Any]:
        return {}

    @app.get("/data")
    def data() -> dict[str, t.Any]:
        return {}

    assert openapi.operation_codes(app, rule_of(app, "data")) == (
        "rate_limit_exceeded",
        "concurrent_limit_exceeded",
        "service_unavailable",
        "internal_server_error",
    )
    assert "service_unavailable" not in openapi.operation_codes(app, rule_of(app, "health"))


@pytest.fixture(scope="module")
def document() -> dict[str, t.Any]:
    doc = openapi.document(build_app(), title="Operations", version="1")
    validate_spec(copy.deepcopy(doc))
    return doc


def test_each_status_refers_to_its_code_or_to_a_response_of_several(
    document: dict[str, t.Any],
) -> None:
    responses = document["paths"]["/orders"]["post"]["responses"]
    assert responses == {
        "2XX": {"description": "Success"},
        "400": {"$ref": "#/components/responses/InvalidJson_ValidationError"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "402": {"$ref": "#/components/responses/PaymentDeclined"},
        "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
        "429": {"$ref": "#/components/responses/RateLimitExceeded"},
        "500": {"$ref": "#/components/responses/InternalServerError"},
        "502": {"$ref": "#/components/responses/BadGateway"},
    }
    combined = document["components"]["responses"]["InvalidJson_ValidationError"]
    assert combined["description"].startswith("400 Bad Request, one of invalid_json: ")
    media = combined["content"]["application/json"]
    assert len(media["schema"]["anyOf"]) == 2
    assert set(media["examples"]) == {"invalid_json", "validation_error"}


def test_no_operation_has_the_generic_ranges(document: dict[str, t.Any]) -> None:
    for item in document["paths"].values():
        for operation in item.values():
            assert not {"4XX", "5XX", "default"} & set(operation["responses"])


def validator_for(document: dict[str, t.Any], ref: str, media_type: str) -> t.Any:
    pointer = media_pointer(ref.rpartition("/")[2], media_type)
    schema = {"$ref": "#" + pointer, "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/orders", {"data": "{", "content_type": "application/json"}, 400),
        ("POST", "/orders", {"json": {"amount": "x"}}, 400),
        ("POST", "/orders", {"data": "a=1", "content_type": "text/plain"}, 415),
        ("GET", "/jobs/x", {}, 404),
        ("GET", "/search", {}, 400),
        ("GET", "/webargs", {}, 400),
    ],
)
def test_what_a_route_answers_validates_against_its_documented_response(
    document: dict[str, t.Any], method: str, path: str, kwargs: dict[str, t.Any], status: int
) -> None:
    app = build_app()
    headers = {"Authorization": "Bearer x"}
    response = app.test_client().open(path, method=method, headers=headers, **kwargs)
    assert response.status_code == status
    template = path if path != "/jobs/x" else "/jobs/{job_id}"
    ref = document["paths"][template][method.lower()]["responses"][str(status)]["$ref"]
    for accept in ("application/json", "application/problem+json"):
        response = app.test_client().open(
            path, method=method, headers={**headers, "Accept": accept}, **kwargs
        )
        validator_for(document, ref, str(response.mimetype)).validate(response.get_json())


def test_the_validation_status_setting_moves_validation_errors() -> None:
    doc = openapi.document(build_app(validation_status=422))
    responses = doc["paths"]["/orders"]["post"]["responses"]
    assert responses["400"] == {"$ref": "#/components/responses/InvalidJson"}
    assert responses["422"] == {"$ref": "#/components/responses/ValidationError"}


def test_fallback_adds_the_generic_error() -> None:
    doc = openapi.document(build_app(), fallback=True)
    validate_spec(copy.deepcopy(doc))
    assert doc["paths"]["/plain"]["get"]["responses"]["default"] == {
        "$ref": "#/components/responses/Error"
    }


def test_paths_alone_write_responses_of_several_codes_inline() -> None:
    paths = openapi.paths_for_app(build_app())
    bad = paths["/orders"]["post"]["responses"]["400"]
    assert "$ref" not in bad and len(bad["content"]["application/json"]["schema"]["anyOf"]) == 2


def test_a_code_the_catalog_lacks_is_an_error() -> None:
    app = Flask("unknown")
    ApiErrors(app)

    @app.get("/x")
    @openapi.documents("no_such_code")
    def x() -> dict[str, t.Any]:
        return {}

    with pytest.raises(ValueError, match="'no_such_code', which the app's catalog lacks"):
        openapi.document(app)


@pytest.mark.parametrize("code", ["", 42, None])
def test_codes_are_strings(code: t.Any) -> None:
    with pytest.raises(TypeError):
        openapi.documents(code)(lambda: None)


def test_declarations_survive_wrapping_decorators_in_any_order() -> None:
    def wrap(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return view(*args, **kwargs)

        return t.cast(F, wrapper)

    def view() -> None:
        return None

    below = wrap(openapi.documents("a")(view))
    above = openapi.documents("b")(wrap(openapi.documents("a")(view)))
    from flask_apierrors.declared import declared_codes

    assert declared_codes(below) == ("a",)
    assert declared_codes(above) == ("a", "b")
    # The inner function keeps only its own.
    assert declared_codes(view) == ("a",)


@pytest.mark.parametrize("validation_status", [400, 422])
def test_apispec_plugin_adds_operation_responses(validation_status: int) -> None:
    smorest = pytest.importorskip("flask_smorest")
    ma = pytest.importorskip("marshmallow")
    query = ma.Schema.from_dict({"limit": ma.fields.Integer(required=True)})
    app = Flask("smorest_operations")
    app.config.update(API_TITLE="Jobs", API_VERSION="1", OPENAPI_VERSION="3.1.0", TESTING=True)
    api = smorest.Api(app, spec_kwargs={"extra_plugins": [openapi.ApiErrorsPlugin(app)]})
    ApiErrors(app, validation_status=validation_status)
    blp: t.Any = smorest.Blueprint("jobs", __name__, url_prefix="/jobs")

    @openapi.documents("conflict")
    def get_job(args: dict[str, t.Any], job_id: int) -> dict[str, t.Any]:
        return {}

    blp.route("/<int:job_id>")(blp.arguments(query, location="query")(blp.response(200)(get_job)))

    api.register_blueprint(blp)
    doc = api.spec.to_dict()
    validate_spec(copy.deepcopy(doc))
    responses = doc["paths"]["/jobs/{job_id}"]["get"]["responses"]
    status = str(validation_status)
    assert responses[status] == {"$ref": "#/components/responses/ValidationError"}
    if validation_status != 422:
        assert "422" not in responses
    assert responses["404"] == {"$ref": "#/components/responses/NotFound"}
    assert responses["409"] == {"$ref": "#/components/responses/Conflict"}
    assert responses["500"] == {"$ref": "#/components/responses/InternalServerError"}
    body = app.test_client().get("/jobs/1?limit=x")
    assert body.status_code == validation_status
    pointer = media_pointer("ValidationError", "application/json")
    schema = {"$ref": "#" + pointer, "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(body.get_json())
