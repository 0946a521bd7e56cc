from __future__ import annotations

import dataclasses

import pytest

from flask_apierrors import FieldError
from flask_apierrors import Problem
from flask_apierrors.problem import MISSING


def test_missing_value_renders_as_null() -> None:
    error = FieldError("model", "Field required")
    assert error.invalid_value is MISSING
    assert error.to_dict() == {"field": "model", "message": "Field required", "invalid_value": None}


def test_location_only_when_set() -> None:
    assert FieldError("q", "Bad", 1, location="query").to_dict()["location"] == "query"


def test_public_details_keeps_details_and_adds_errors() -> None:
    problem = Problem(
        status=400,
        code="validation_error",
        message="m",
        details={"total": 2},
        errors=(FieldError("a", "x", 1), FieldError("b", "y")),
    )
    assert problem.public_details() == {
        "total": 2,
        "validation_errors": [
            {"field": "a", "message": "x", "invalid_value": 1},
            {"field": "b", "message": "y", "invalid_value": None},
        ],
    }
    assert problem.details == {"total": 2}


def test_problem_is_frozen() -> None:
    problem = Problem(status=400, code="c", message="m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.status = 500  # type: ignore[misc]
    assert problem.replace(status=409).status == 409
    assert problem.details == {} and problem.errors == ()
