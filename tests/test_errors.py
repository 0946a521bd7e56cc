from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.test import Client

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from flask_apierrors import abort


class APIException(ApiError):
    message = "API operation failed"


class FALAPIException(APIException):
    status = 502
    message = "External FAL.AI service error"


class JobNotFound(ApiError):
    error_code = "JOB_NOT_FOUND"
    status = 404
    message = "Job not found"
    format = "detail"


@pytest.mark.parametrize(
    ("exc", "code", "status", "message"),
    [
        (APIException(), "APIEXCEPTION", 500, "API operation failed"),
        (FALAPIException(), "FALAPIEXCEPTION", 502, "External FAL.AI service error"),
        (FALAPIException("Other text"), "FALAPIEXCEPTION", 502, "Other text"),
        (JobNotFound(), "JOB_NOT_FOUND", 404, "Job not found"),
        (ApiError("not_found"), "not_found", 404, "Resource not found"),
        (ApiError("NOT_FOUND", "Gone fishing"), "NOT_FOUND", 404, "Gone fishing"),
        (ApiError("not_found", status=410), "not_found", 410, "Resource not found"),
        (ApiError("brand_new"), "brand_new", 500, "Internal Server Error"),
        (ApiError("brand_new", status=409), "brand_new", 409, "Conflict"),
    ],
)
def test_defaults(exc: ApiError, code: str, status: int, message: str) -> None:
    assert (exc.error_code, exc.status, exc.message) == (code, status, message)
    assert exc.code == status  # Werkzeug's name for it
    assert isinstance(exc, HTTPException)


def test_app_catalog_fills_in_what_the_raiser_left_open() -> None:
    catalog = Catalog.default()
    catalog.add("quota_exceeded", 402, "Quota exceeded")
    app = Flask(__name__)
    ApiErrors(app, catalog=catalog)

    @app.get("/quota")
    def quota() -> t.NoReturn:
        raise ApiError("quota_exceeded")

    # The exception knows only the built-in catalog; the app's fills it in
    # when it is rendered.
    error = ApiError("quota_exceeded")
    assert (error.given_status, error.given_message, error.status) == (None, None, 500)
    response = app.test_client().get("/quota")
    assert response.status_code == 402
    assert response.get_json()["message"] == "Quota exceeded"


def test_class_defaults_are_not_shared() -> None:
    first = ApiError("conflict", details={"a": 1}, headers={"X-A": "1"})
    second = ApiError("conflict")
    assert dict(second.details) == {} and dict(second.headers) == {}
    assert dict(first.details) == {"a": 1}


class Throttled(ApiError):
    status = 429
    headers = {"Retry-After": "30"}
    details = {"retry_after": 30, "scope": "account"}


def test_a_subclass_fixes_details_and_headers_and_the_raiser_adds_to_them() -> None:
    app = Flask(__name__)
    ApiErrors(app)

    @app.get("/plain")
    def plain() -> t.NoReturn:
        raise Throttled()

    @app.get("/more")
    def more() -> t.NoReturn:
        raise Throttled(details={"scope": "key"}, headers={"X-Why": "burst"})

    client = app.test_client()
    response = client.get("/plain")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "30")
    assert response.get_json()["details"] == {"retry_after": 30, "scope": "account"}
    response = client.get("/more")
    assert response.headers["Retry-After"] == "30" and response.headers["X-Why"] == "burst"
    assert response.get_json()["details"] == {"retry_after": 30, "scope": "key"}
    # Each instance has its own copy: the class's stay as they were.
    Throttled().details["scope"] = "changed"
    assert Throttled.details["scope"] == "account"


def test_status_must_be_an_error_status() -> None:
    with pytest.raises(ValueError, match="400-599"):
        ApiError("x", status=200)


def test_a_code_is_required() -> None:
    with pytest.raises(TypeError, match="needs an error code"):
        ApiError()


def test_status_survives_without_a_handler() -> None:
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        raise ApiError("conflict", headers={"X-Why": "because"})

    response = Client(app).get("/")
    assert response.status_code == 409
    assert response.headers["X-Why"] == "because"
    assert "Conflict" in response.get_data(as_text=True)


def test_abort_passes_details() -> None:
    with pytest.raises(ApiError) as info:
        abort("not_found", job_id="j1", error_code="kept")
    assert info.value.error_code == "not_found"
    assert dict(info.value.details) == {"job_id": "j1", "error_code": "kept"}


def test_repr_and_str() -> None:
    exc = JobNotFound()
    assert repr(exc) == "<JobNotFound 'JOB_NOT_FOUND' (404)>"
    assert str(exc) == "404 JOB_NOT_FOUND: Job not found"


class QuotaExceeded(ApiError):
    error_code = "rate_limit_exceeded"
    problem_type = "https://iana.org/assignments/http-problem-types#quota-exceeded"
    problem_members = {"violated-policies": ["daily"]}


@pytest.mark.parametrize(
    ("fmt", "type_", "members"),
    [
        ("problem", QuotaExceeded.problem_type, ["daily"]),
        ("error", None, None),
    ],
)
def test_an_api_error_may_choose_its_problem_type_and_members(
    fmt: str, type_: str | None, members: list[str] | None
) -> None:
    app = Flask("problem_type")
    ApiErrors(app, format=fmt, problem_type_template="https://errors.example/{code}")

    @app.get("/x")
    def x() -> t.NoReturn:
        raise QuotaExceeded()

    body = app.test_client().get("/x").get_json()
    assert body.get("type") == type_
    assert body.get("violated-policies") == members
    assert body["code" if fmt == "problem" else "error"] == "rate_limit_exceeded"
