from __future__ import annotations

import pytest
from werkzeug.exceptions import default_exceptions

from flask_apierrors import Catalog
from flask_apierrors import ErrorSpec
from flask_apierrors.catalog import code_for_exception_class
from flask_apierrors.catalog import snake_case


def test_default_covers_every_werkzeug_exception() -> None:
    catalog = Catalog.default()
    for status, cls in default_exceptions.items():
        spec = catalog.for_status(status)
        assert spec is not None, status
        assert spec.code == code_for_exception_class(cls)
        assert spec.status == status
        assert spec.message


@pytest.mark.parametrize("status", sorted(default_exceptions))
def test_werkzeug_codes_are_described_for_api_clients(status: int) -> None:
    # Werkzeug's descriptions speak to a person at a browser; the catalog's
    # speak to an API's client, as full sentences without HTML.
    spec = Catalog.default().for_status(status)
    assert spec is not None
    assert spec.description != default_exceptions[status].description
    assert spec.description.endswith(".") and "<" not in spec.description
    for browser_words in ("browser", "manually", "spelling", "this page", "URL requested"):
        assert browser_words not in spec.description, spec.description


def test_unauthorized_description() -> None:
    assert Catalog.default()["unauthorized"].description == (
        "The request carries no credentials, or credentials that are wrong, expired or revoked;"
        " the WWW-Authenticate header names the scheme to use."
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, "not_found"),
        (405, "method_not_allowed"),
        (413, "payload_too_large"),
        (415, "unsupported_media_type"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (422, "unprocessable_entity"),
        (429, "rate_limit_exceeded"),
        (500, "internal_server_error"),
        (502, "bad_gateway"),
        (503, "service_unavailable"),
        (504, "gateway_timeout"),
    ],
)
def test_documented_builtin_codes(status: int, code: str) -> None:
    spec = Catalog.default().for_status(status)
    assert spec is not None and spec.code == code


@pytest.mark.parametrize("code", ["invalid_json", "validation_error", "concurrent_limit_exceeded"])
def test_extra_builtin_codes(code: str) -> None:
    assert code in Catalog.default()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MethodNotAllowed", "method_not_allowed"),
        ("HTTPVersionNotSupported", "http_version_not_supported"),
        ("ImATeapot", "im_a_teapot"),
        ("BadRequest", "bad_request"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_lookup_is_case_insensitive_and_spelling_is_kept() -> None:
    catalog = Catalog()
    catalog.add("JOB_NOT_FOUND", 404, "Job not found", group="resource")
    assert catalog["job_not_found"].code == "JOB_NOT_FOUND"
    assert "Job_Not_Found" in catalog
    assert catalog.get("other") is None
    with pytest.raises(KeyError):
        catalog["other"]


def test_add_overrides_and_custom_codes_do_not_displace_status_defaults() -> None:
    catalog = Catalog.default()
    catalog.add("not_found", 404, "Nothing here")
    catalog.add("JOB_NOT_FOUND", 404, "Job not found")
    spec = catalog.for_status(404)
    assert spec is not None and (spec.code, spec.message) == ("not_found", "Nothing here")
    assert len(catalog) == len(Catalog.default()) + 1


def test_copy_is_independent() -> None:
    catalog = Catalog.default()
    copy = catalog.copy()
    copy.add("mine", 409, "Mine")
    assert "mine" in copy and "mine" not in catalog


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"code": "", "status": 400, "message": "m"}, "non-empty"),
        ({"code": "x", "status": 200, "message": "m"}, "400-599"),
        ({"code": "x", "status": 400, "message": "m", "group": "nope"}, "group"),
    ],
)
def test_spec_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ErrorSpec(**kwargs)  # type: ignore[arg-type]


def test_example_details_are_frozen() -> None:
    spec = ErrorSpec("x", 400, "m", example_details={"a": 1})
    with pytest.raises(TypeError):
        spec.example_details["a"] = 2  # type: ignore[index]
    assert spec.title == "Bad Request"


def test_reading_the_catalog_while_a_code_is_added() -> None:
    # One ApiErrors' catalog is shared by its apps: an app's first request
    # read it while a factory in another thread added a code, and failed
    # with "dictionary changed size during iteration".
    catalog = Catalog.default()
    seen = 0
    for _spec in catalog:
        if seen == 0:
            catalog.add("plan_required", 402, "Upgrade your plan")
        seen += 1
    assert seen == len(catalog) - 1
    assert catalog.get("plan_required") is not None
