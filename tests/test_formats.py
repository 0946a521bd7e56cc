from __future__ import annotations

import typing as t

import pytest

from flask_apierrors import FieldError
from flask_apierrors import Format
from flask_apierrors import Problem
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
