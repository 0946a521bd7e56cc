"""Checked by mypy, never run: the public API types as documented."""

from __future__ import annotations

import typing as t

from flask import Flask

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from flask_apierrors import ErrorSpec
from flask_apierrors import Problem
from flask_apierrors import abort

app = Flask(__name__)
errors = ApiErrors(app, format="error")
spec: ErrorSpec = errors.catalog.add("job_not_found", 404, "Job not found", group="resource")
catalog: Catalog = errors.catalog


class JobNotFound(ApiError):
    error_code = "JOB_NOT_FOUND"
    status = 404


def view() -> str:
    abort("job_not_found", job_id="1")  # NoReturn: no return statement needed


def fmt(problem: Problem) -> dict[str, t.Any]:
    return {"code": problem.code}


errors.register_format("mine", fmt)
exc: ApiError = JobNotFound(details={"job_id": "1"})
status: int | None = exc.status
