"""The example app's errors, in process: its catalog has every code of the
first documented API with its status, the image API's body format (``detail``
or ``error_code``), its exception classes; unknown routes, the health check,
and the OpenAPI document listing each operation's own errors."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from example_app import errors
from flask_apierrors import Problem
from tests.support import example_inprocess
from tests.support.example_inprocess import EXAMPLES
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import call

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client


# -- catalog, formats ------------------------------------------------------------


def _first_api_codes() -> list[tuple[str, int]]:
    rv = []
    for ex in EXAMPLES:
        body = ex["body"]
        if not ex["seed"].startswith("000") or ex["status"] is None:
            continue
        code = body["detail"]["code"] if "detail" in body else body["error_code"]
        if code != "ERROR_CODE":
            rv.append((code, ex["status"]))
    return sorted(set(rv))


@pytest.mark.parametrize(("code", "status"), _first_api_codes())
def test_catalog_has_every_code_of_the_first_api(code: str, status: int) -> None:
    spec = errors.catalog()[code]
    assert spec.status == status
    assert spec.description


@pytest.mark.parametrize("code", sorted(errors.DETAIL_CODES))
def test_image_format_uses_detail_for_the_documented_codes(code: str) -> None:
    body = errors.ImageApiFormat().render(Problem(status=404, code=code.lower(), message="m"))
    assert body == {"detail": {"code": code, "message": "m"}}


@pytest.mark.parametrize("code", ["INVALID_API_KEY", "validation_error", "STORAGE_ERROR"])
def test_image_format_uses_error_code_for_the_others(code: str) -> None:
    body = errors.ImageApiFormat().render(Problem(status=400, code=code, message="m"))
    assert body == {"error": True, "error_code": code.upper(), "message": "m"}


@pytest.mark.parametrize("cls", errors.EXCEPTIONS)
def test_exception_classes_are_api_errors_of_the_first_api(cls: type[errors.APIException]) -> None:
    raised = cls()
    ex = next(e for e in EXAMPLES if e["body"].get("error_code") == cls.__name__.upper())
    assert (raised.error_code, raised.status, raised.message) == (
        ex["body"]["error_code"],
        ex["status"],
        ex["body"]["message"],
    )
    assert isinstance(raised, errors.APIException)


# -- health, routing, openapi ----------------------------------------------------


def test_health_answers(client: FlaskClient) -> None:
    response = call(client, "GET", "/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_unknown_endpoint(client: FlaskClient) -> None:
    assert_example(call(client, "GET", "/invalid/endpoint"), "404 Not Found", "Invalid Endpoint")


def test_unknown_endpoint_of_the_image_api_uses_its_format(client: FlaskClient) -> None:
    body = call(client, "GET", "/api/v1/nowhere").get_json()
    assert body["error"] is True
    assert body["error_code"] == "NOT_FOUND"


def test_openapi_document_is_valid(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    response = call(client, "GET", "/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert {"/chat/completions", "/api/v1/batch/upload", "/api/v1/jobs/{job_id}"} <= set(
        document["paths"]
    )


def test_openapi_operations_list_their_own_errors(client: FlaskClient) -> None:
    document = call(client, "GET", "/openapi.json").get_json()
    completions = document["paths"]["/chat/completions"]["post"]["responses"]
    assert sorted(completions) == [
        "2XX", "400", "401", "413", "415", "422", "429", "500", "502", "503", "504"
    ]  # fmt: skip
    # Two codes answer 429 there: the rate limit and the concurrency limit.
    both = completions["429"]["$ref"].rpartition("/")[2]
    assert both == "ConcurrentLimitExceeded_RateLimitExceeded"
    schema = document["components"]["responses"][both]["content"]["application/json"]["schema"]
    assert len(schema["anyOf"]) == 2
    # The image API's views answer in its own codes and bodies.
    job = document["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]
    assert job["403"] == {"$ref": "#/components/responses/images.InvalidApiKey"}
    assert sorted(job) == ["2XX", "400", "403", "404", "429", "500", "503"]
    health = document["paths"]["/health"]["get"]["responses"]
    assert "503" not in health and "401" not in health
