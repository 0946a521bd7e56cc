"""Tests of flask_apierrors.availability beyond maintenance mode: overload
503s, the "AI models unavailable" shape and 507s (maintenance is in the
test_availability_*.py modules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flask_apierrors.availability import InsufficientStorageError
from flask_apierrors.availability import MaintenanceError
from flask_apierrors.availability import OverloadedError
from flask_apierrors.availability import UnavailableError
from flask_apierrors.availability import ensure_free_space
from tests.conftest import MakeApp
from tests.support.availability import documented
from tests.support.availability import example

# -- overload, the "AI models unavailable" shape, 507 -------------------------------


def test_documented_overload(make_app: MakeApp) -> None:
    ex = example("503 Service Unavailable", "System Overload")
    app, _ = make_app()

    @app.get("/")
    def view() -> str:
        raise OverloadedError(30, load_level="high")

    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert documented(response.get_json(), ex["body"]) == ex["body"]


def test_documented_models_unavailable(make_app: MakeApp) -> None:
    ex = example("503 Service Unavailable", "AI Models Unavailable")
    app, _ = make_app()

    @app.get("/")
    def view() -> str:
        raise UnavailableError(
            "AI models not available",
            details={
                "affected_models": ["Melanie-3", "Melanie-3-light"],
                "available_models": ["Melanie-3-code"],
                "estimated_recovery": "2023-12-01T10:15:00Z",
            },
            retry_after=900,
        )

    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "900"
    assert documented(response.get_json(), ex["body"]) == ex["body"]


def test_documented_storage_error(make_app: MakeApp) -> None:
    ex = example("STORAGE_ERROR")
    app, _ = make_app(format="error_code")

    @app.get("/")
    def view() -> str:
        raise InsufficientStorageError(
            required=1048576, available=524288, error_code="STORAGE_ERROR"
        )

    response = app.test_client().get("/")
    assert response.status_code == ex["status"] == 507
    assert documented(response.get_json(), ex["body"]) == ex["body"]


def test_insufficient_storage_from_the_disk(make_app: MakeApp, tmp_path: Path) -> None:
    app, _ = make_app(format="error")
    assert ensure_free_space(tmp_path, 1) > 0

    @app.post("/upload")
    def upload() -> str:
        ensure_free_space(tmp_path, 10**18)
        return "stored"

    response = app.test_client().post("/upload")
    body = response.get_json()
    assert response.status_code == 507
    assert (body["error"], body["message"]) == (
        "insufficient_storage",
        "Insufficient storage space",
    )
    assert body["details"]["required"] == 10**18
    assert 0 <= body["details"]["available"] < 10**18


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (OverloadedError(0.2, load_level="critical"), 503, "1"),
        (UnavailableError(), 503, None),
        (MaintenanceError(), 503, None),
        (MaintenanceError(retry_after=60), 503, "60"),
    ],
)
def test_unavailable_headers(
    make_app: MakeApp, error: Exception, status: int, retry_after: str | None
) -> None:
    app, _ = make_app()

    @app.get("/")
    def view() -> str:
        raise error

    response = app.test_client().get("/")
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after
