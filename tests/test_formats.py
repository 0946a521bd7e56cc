from __future__ import annotations

import typing as t

import pytest

from flask_apierrors import FieldError
from flask_apierrors import Format
from flask_apierrors import Problem
from flask_apierrors.config import Settings
from flask_apierrors.formats import CallableFormat
from flask_apierrors.formats import DetailFormat
from flask_apierrors.formats import ErrorCodeFormat
from flask_apierrors.formats import ErrorFormat
from flask_apierrors.formats import ProblemFormat
from flask_apierrors.formats import build_format

PROBLEM = Problem(
    status=404,
    code="job_not_found",
    message="Job not found",
    title="Not Found",
    details={"job_id": "batch_1"},
    correlation_id="req_1",
    timestamp="2023-12-01T10:00:00Z",
    instance="/api/v1/jobs/batch_1",
)
BARE = Problem(status=403, code="forbidden", message="No", title="Forbidden", timestamp="T")


@pytest.mark.parametrize(
    ("fmt", "problem", "expected"),
    [
        (
            ErrorFormat(),
            PROBLEM,
            {
                "error": "job_not_found",
                "message": "Job not found",
                "details": {"job_id": "batch_1"},
                "timestamp": "2023-12-01T10:00:00Z",
                "correlation_id": "req_1",
            },
        ),
        (ErrorFormat(), BARE, {"error": "forbidden", "message": "No", "timestamp": "T"}),
        (
            ErrorCodeFormat(),
            PROBLEM,
            {
                "error": True,
                "error_code": "JOB_NOT_FOUND",
                "message": "Job not found",
                "details": {"job_id": "batch_1"},
                "correlation_id": "req_1",
            },
        ),
        (ErrorCodeFormat(), BARE, {"error": True, "error_code": "FORBIDDEN", "message": "No"}),
        (
            DetailFormat(),
            PROBLEM,
            {
                "detail": {
                    "code": "JOB_NOT_FOUND",
                    "message": "Job not found",
                    "details": {"job_id": "batch_1"},
                    "correlation_id": "req_1",
                }
            },
        ),
        (
            DetailFormat(uppercase_codes=False),
            BARE,
            {"detail": {"code": "forbidden", "message": "No"}},
        ),
        (
            ProblemFormat(),
            PROBLEM,
            {
                "type": "about:blank",
                "title": "Not Found",
                "status": 404,
                "detail": "Job not found",
                "instance": "/api/v1/jobs/batch_1",
                "code": "job_not_found",
                "details": {"job_id": "batch_1"},
                "correlation_id": "req_1",
                "timestamp": "2023-12-01T10:00:00Z",
            },
        ),
    ],
)
def test_builtin_formats(fmt: Format, problem: Problem, expected: dict[str, t.Any]) -> None:
    body = fmt.render(problem)
    assert body == expected
    # Key order is part of the documented shape.
    assert list(body) == list(expected)


def test_validation_errors_go_into_details() -> None:
    problem = BARE.replace(
        errors=(FieldError("messages[0].content", "Message content cannot be empty", ""),)
    )
    assert ErrorFormat().render(problem)["details"] == {
        "validation_errors": [
            {
                "field": "messages[0].content",
                "message": "Message content cannot be empty",
                "invalid_value": "",
            }
        ]
    }


def test_extra_members_are_added() -> None:
    assert ErrorFormat().render(BARE.replace(extra={"doc": "x"}))["doc"] == "x"


@pytest.mark.parametrize(
    ("name", "cls", "media_type"),
    [
        ("error", ErrorFormat, "application/json"),
        ("error_code", ErrorCodeFormat, "application/json"),
        ("detail", DetailFormat, "application/json"),
        ("problem", ProblemFormat, "application/problem+json"),
    ],
)
def test_build_format_by_name(name: str, cls: type[t.Any], media_type: str) -> None:
    fmt = build_format(name)
    assert isinstance(fmt, cls)
    assert fmt.media_type == media_type


def test_build_format_from_callable_and_registry() -> None:
    def mine(problem: Problem) -> dict[str, t.Any]:
        return {"x": problem.code}

    fmt = build_format(mine)
    assert isinstance(fmt, CallableFormat)
    assert fmt.render(BARE) == {"x": "forbidden"}
    registered = ErrorFormat(uppercase_codes=True)
    assert build_format("mine", registry={"mine": registered}) is registered
    assert build_format(registered) is registered


@pytest.mark.parametrize(("spec", "exc"), [("nope", ValueError), (42, TypeError)])
def test_build_format_rejects(spec: t.Any, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        build_format(spec)


# -- the problem format: errors[], type URIs, its own members -------------------------------

FIELD_ERRORS: t.Final = (
    FieldError("messages[0].content", "Message content cannot be empty", ""),
    FieldError('meta["a/b~c"]', "Unknown field.", 1, location="json", code="unknown_field"),
    FieldError("_schema", "Invalid input."),
    FieldError("tags[1]", "Not a valid tag.", "x", location="query"),
    FieldError("X-Api-Version", "Must be 2.", "1", location="headers"),
    FieldError("file", "Field required.", location="files"),
)


def test_problem_format_lists_field_errors_with_json_pointers() -> None:
    body = ProblemFormat().render(BARE.replace(errors=FIELD_ERRORS))
    assert body["errors"] == [
        {"detail": "Message content cannot be empty", "pointer": "/messages/0/content"},
        {"detail": "Unknown field.", "pointer": "/meta/a~1b~0c", "code": "unknown_field"},
        {"detail": "Invalid input.", "pointer": ""},
        {"detail": "Not a valid tag.", "parameter": "tags[1]"},
        {"detail": "Must be 2.", "header": "X-Api-Version"},
        {"detail": "Field required.", "parameter": "file"},
    ]
    # details.validation_errors stays, as in every format.
    assert [e["field"] for e in body["details"]["validation_errors"]] == [
        e.field for e in FIELD_ERRORS
    ]
    assert list(body).index("errors") == list(body).index("details") + 1


def test_whole_body_errors_follow_the_schema_error_field_setting() -> None:
    problem = BARE.replace(errors=(FieldError("__all__", "Invalid input."),))
    body = ProblemFormat(schema_error_field="__all__").render(problem)
    assert body["errors"] == [{"detail": "Invalid input.", "pointer": ""}]
    assert ProblemFormat().render(problem)["errors"][0]["pointer"] == "/__all__"


@pytest.mark.parametrize("fmt", [ErrorFormat(), ErrorCodeFormat(), DetailFormat()])
def test_other_formats_have_no_errors_member(fmt: Format) -> None:
    problem = BARE.replace(
        errors=FIELD_ERRORS, problem_type="https://x/t", problem_members={"violated-policies": []}
    )
    body = fmt.render(problem)
    inner = body["detail"] if "detail" in body else body
    assert "errors" not in inner and "violated-policies" not in inner and "type" not in inner
    assert len(inner["details"]["validation_errors"]) == len(FIELD_ERRORS)


@pytest.mark.parametrize(
    ("options", "problem", "expected"),
    [
        ({}, BARE, "about:blank"),
        ({"type_base": "https://e.example/"}, BARE, "https://e.example/forbidden"),
        (
            {"type_template": "https://e.example/errors/{code}.html"},
            BARE,
            "https://e.example/errors/forbidden.html",
        ),
        (
            {"type_template": "https://e.example/{code}", "type_base": "https://ignored/"},
            BARE.replace(code="a b/c"),
            "https://e.example/a%20b%2Fc",
        ),
        (
            {"type_template": "https://e.example/{code}", "uppercase_codes": True},
            BARE,
            "https://e.example/FORBIDDEN",
        ),
        (
            {"type_template": "https://e.example/{code}"},
            BARE.replace(problem_type="https://iana.org/assignments/http-problem-types#x"),
            "https://iana.org/assignments/http-problem-types#x",
        ),
    ],
)
def test_problem_type(options: dict[str, t.Any], problem: Problem, expected: str) -> None:
    assert ProblemFormat(**options).render(problem)["type"] == expected


def test_problem_members_come_last() -> None:
    problem = BARE.replace(problem_members={"violated-policies": ["daily"]}, extra={"x": 1})
    body = ProblemFormat().render(problem)
    assert list(body)[-2:] == ["x", "violated-policies"]
    assert body["violated-policies"] == ["daily"]


@pytest.mark.parametrize(
    "template", ["https://e.example/errors", "https://e.example/{status}", "{code", "{0}"]
)
def test_type_templates_must_use_code(template: str) -> None:
    with pytest.raises(ValueError, match="problem_type_template"):
        ProblemFormat(type_template=template)
    with pytest.raises(ValueError, match="problem_type_template"):
        Settings(problem_type_template=template)


def test_build_format_passes_the_problem_options() -> None:
    fmt = build_format(
        "problem", problem_type_template="https://e.example/{code}", schema_error_field="__all__"
    )
    assert isinstance(fmt, ProblemFormat)
    assert (fmt.type_template, fmt.schema_error_field) == ("https://e.example/{code}", "__all__")
