"""schemathesis against the example app's OpenAPI document, with every
check: no generated request gets a 5xx or an HTML error, every status is
documented, every body validates against the schema the document gives
for it, and every response carries a valid correlation id."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import typing as t

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from example_app import create_app
from flask_apierrors.correlation import VALID_ID

ADMIN_KEY: t.Final = "mel_" + "A1b2C3d4" * 4
#: Examples per operation and phase: bounded, so the suite stays fast.
MAX_EXAMPLES: t.Final = 25
#: What makes a path parameter's schema say which values the app accepts.
CONSTRAINTS: t.Final = ("pattern", "enum", "format", "const", "maxLength")

# schemathesis needs the app at collection time to generate the tests; its
# instance folder is removed when the run ends.
_INSTANCE: t.Final = tempfile.mkdtemp(prefix="schemathesis-instance-")
atexit.register(shutil.rmtree, _INSTANCE, ignore_errors=True)
APP: t.Final[Flask] = create_app({"INSTANCE_PATH": _INSTANCE, "ADMIN_KEY": ADMIN_KEY})

schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)


def inputs_documented(operation: t.Mapping[str, t.Any], method: str) -> bool:
    """Whether the document says what the operation accepts: a request body
    for a write method, a constrained schema for each path parameter.
    Where it does not, a "schema-valid" request is not a valid one, so
    schemathesis' positive-data check (ST202) cannot apply."""
    if method.upper() in ("POST", "PUT", "PATCH") and "requestBody" not in operation:
        return False
    for parameter in operation.get("parameters", ()):
        if parameter.get("in") == "path":
            constraints = parameter.get("schema", {})
            if not any(key in constraints for key in CONSTRAINTS):
                return False
    return True


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_generated_request(case: t.Any) -> None:
    operation = case.operation.definition.raw
    excluded = [] if inputs_documented(operation, case.method) else [positive_data_acceptance]
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "X-API-Key": ADMIN_KEY}
    try:
        response = case.call_and_validate(headers=headers, excluded_checks=excluded)
    finally:
        # The admin key may switch maintenance on (PUT /system/maintenance):
        # switch it off again, so no other operation meets a 503.
        APP.test_client().delete("/system/maintenance", headers=headers).close()
    # schemathesis gives lower-case names and lists of values.
    content_type = response.headers.get("content-type", [""])[0]
    (cid,) = response.headers["x-request-id"]
    assert VALID_ID.fullmatch(cid)
    if response.status_code >= 400:
        assert content_type.split(";")[0] in ("application/json", "application/problem+json")
        assert cid in response.text


@pytest.mark.parametrize(
    ("operation", "method", "documented"),
    [
        ({}, "GET", True),
        ({}, "POST", False),
        ({"requestBody": {}}, "POST", True),
        ({"parameters": [{"in": "path", "schema": {"type": "string"}}]}, "GET", False),
        ({"parameters": [{"in": "path", "schema": {"pattern": "^a$"}}]}, "GET", True),
        ({"parameters": [{"in": "query", "schema": {}}]}, "DELETE", True),
    ],
)
def test_inputs_documented(operation: dict[str, t.Any], method: str, documented: bool) -> None:
    assert inputs_documented(operation, method) is documented
