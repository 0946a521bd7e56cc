"""The OpenAPI document and the error reference of apps that serve HTML
pages beside their API: where ApiErrors is turned off (``enabled=False``)
the errors are not its own, so neither documents them."""

from __future__ import annotations

import copy
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from openapi_spec_validator import validate as validate_spec

from flask_apierrors import ApiErrors
from flask_apierrors import docgen
from flask_apierrors import openapi


def _blueprints() -> tuple[Blueprint, Blueprint]:
    api = Blueprint("api", __name__, url_prefix="/api")
    pages = Blueprint("pages", __name__)

    @api.get("/items/<int:item_id>")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @pages.get("/about/<name>")
    def about(name: str) -> str:
        return f"<h1>{name}</h1>"

    return api, pages


def _pages_off(*, pages_enabled: bool = False) -> Flask:
    """ApiErrors on the app, its pages' blueprint turned off (or not)."""
    app = Flask("pages_off")
    api, pages = _blueprints()
    app.register_blueprint(api)
    app.register_blueprint(pages)
    errors = ApiErrors(app)
    if not pages_enabled:
        errors.override(pages, enabled=False, format="error_code")
    return app


def _api_only() -> Flask:
    """ApiErrors off for the app, on for the API's blueprint."""
    app = Flask("api_only")
    api, pages = _blueprints()
    app.register_blueprint(api)
    app.register_blueprint(pages)
    errors = ApiErrors(app, enabled=False)
    errors.override(api, enabled=True)
    return app


@pytest.mark.parametrize("make", [_pages_off, _api_only])
def test_the_document_has_the_api_not_the_pages(make: t.Callable[[], Flask]) -> None:
    app = make()
    doc = openapi.document(app)
    validate_spec(copy.deepcopy(doc))
    assert list(doc["paths"]) == ["/api/items/{item_id}"]
    responses = doc["paths"]["/api/items/{item_id}"]["get"]["responses"]
    assert responses["404"] == {"$ref": "#/components/responses/NotFound"}
    # What the document says is what the routes answer.
    client = app.test_client()
    assert client.get("/api/items/x").get_json()["error"] == "not_found"
    assert client.get("/about/x/y").mimetype == "text/html"


def test_own_paths_of_pages_get_no_error_responses() -> None:
    app = _api_only()
    page = {"get": {"responses": {"200": {"description": "A page"}}}}
    mine = {"/about/{name}": copy.deepcopy(page), "/api/items/{item_id}": copy.deepcopy(page)}
    doc = openapi.document(app, paths=mine)
    assert doc["paths"]["/about/{name}"] == page
    api_responses = doc["paths"]["/api/items/{item_id}"]["get"]["responses"]
    assert api_responses["404"] == {"$ref": "#/components/responses/NotFound"}
    # A path of none of the app's routes: the scope its prefix falls under.
    other = openapi.add_error_responses({"/elsewhere": copy.deepcopy(page)}, app)
    assert other["/elsewhere"] == page
    under_api = openapi.add_error_responses({"/api/other": copy.deepcopy(page)}, app)
    assert set(under_api["/api/other"]["get"]["responses"]) == {"200", "4XX", "5XX"}


def test_rule_answered() -> None:
    app = _pages_off()
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    assert openapi.rule_answered(app, rules["api.item"])
    assert not openapi.rule_answered(app, rules["pages.about"])


def test_the_error_reference_leaves_out_blueprints_turned_off() -> None:
    reference = docgen.reference_for_app(_pages_off())
    assert [scope.name for scope in reference.scopes] == [None]
    text = docgen.to_markdown(reference)
    # The pages' override (format="error_code") is not described.
    assert "blueprint `pages`" not in text
    assert text == docgen.to_markdown(docgen.reference_for_app(_pages_off(pages_enabled=True)))
    assert "across all its API endpoints" in text
    on = docgen.reference_for_app(_api_only())
    assert [scope.name for scope in on.scopes] == [None, "api"]


def test_apispec_plugin_leaves_blueprints_turned_off_alone() -> None:
    smorest = pytest.importorskip("flask_smorest")
    app = Flask("smorest_mixed")
    app.config.update(API_TITLE="Jobs", API_VERSION="1", OPENAPI_VERSION="3.1.0", TESTING=True)
    api = smorest.Api(app, spec_kwargs={"extra_plugins": [openapi.ApiErrorsPlugin(app)]})
    errors = ApiErrors(app)
    jobs: t.Any = smorest.Blueprint("jobs", __name__, url_prefix="/jobs")
    legacy: t.Any = smorest.Blueprint("legacy", __name__, url_prefix="/legacy")
    errors.override(legacy, enabled=False)

    def get_job(job_id: int) -> dict[str, t.Any]:
        return {}

    for blp in (jobs, legacy):
        blp.route("/<int:job_id>")(blp.response(200)(get_job))
        api.register_blueprint(blp)
    doc = api.spec.to_dict()
    validate_spec(copy.deepcopy(doc))
    ours = doc["paths"]["/jobs/{job_id}"]["get"]["responses"]
    assert ours["404"] == {"$ref": "#/components/responses/NotFound"}
    assert ours["default"] == {"$ref": "#/components/responses/Error"}
    # flask-smorest's own error response, as its own handler answers there.
    theirs = doc["paths"]["/legacy/{job_id}"]["get"]["responses"]
    assert theirs["default"] == {"$ref": "#/components/responses/DEFAULT_ERROR"}
    assert "404" not in theirs
    client = app.test_client()
    assert client.delete("/legacy/1").get_json() == {"code": 405, "status": "Method Not Allowed"}
    assert client.delete("/jobs/1").get_json()["error"] == "method_not_allowed"
