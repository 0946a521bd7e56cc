"""APIFlask input validation (marshmallow and pydantic) in ApiErrors' format."""

from __future__ import annotations

import typing as t

from apiflask import APIFlask

from flask_apierrors.testing import assert_api_error

from .apiflask_app import PetIn
from .apiflask_app import app_fixture  # noqa: F401  (the ``app`` fixture)
from .apiflask_app import make_app


def test_validation_error_entries(app: APIFlask) -> None:
    response = app.test_client().post(
        "/pets", json={"age": "old", "password": "hunter2", "tags": [{"name": 3}]}
    )
    error = assert_api_error(response, "validation_error", app=app)
    assert error.message == "Request validation failed"
    entries = response.get_json()["details"]["validation_errors"]
    assert entries == [
        {"field": "name", "message": "Field required", "invalid_value": None, "location": "json"},
        {
            "field": "age",
            "message": "Not a valid integer.",
            "invalid_value": "old",
            "location": "json",
        },
        {
            "field": "tags[0].name",
            "message": "Not a valid string.",
            "invalid_value": 3,
            "location": "json",
        },
    ]


def test_credentials_are_not_echoed() -> None:
    app = make_app()[0]

    @app.post("/login")
    @app.input(PetIn)
    def login(json_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return json_data

    response = app.test_client().post("/login", json={"name": "x", "password": 12})
    entries = response.get_json()["details"]["validation_errors"]
    assert entries == [
        {
            "field": "password",
            "message": "Not a valid string.",
            "invalid_value": "[REDACTED]",
            "location": "json",
        }
    ]


def test_query_validation_names_the_location(app: APIFlask) -> None:
    response = app.test_client().get("/search?page=two")
    assert_api_error(response, "validation_error", app=app)
    [entry] = response.get_json()["details"]["validation_errors"]
    assert entry == {
        "field": "page",
        "message": "Not a valid integer.",
        "invalid_value": "two",
        "location": "query",
    }


def test_validation_status_setting_replaces_apiflasks_default() -> None:
    app = make_app(validation_status=422)[0]
    response = app.test_client().post("/pets", json={})
    error = assert_api_error(response, "validation_error", app=app)
    assert error.status == 422


def test_a_status_chosen_for_the_route_is_kept(app: APIFlask) -> None:
    response = app.test_client().post("/strict", json={})
    assert_api_error(response, "validation_error", 409, app=app)


def test_pydantic_input(app: APIFlask) -> None:
    response = app.test_client().post(
        "/models", json={"age": "old", "tags": ["a", 2], "password": 12}
    )
    assert_api_error(response, "validation_error", app=app)
    entries = response.get_json()["details"]["validation_errors"]
    assert [(e["field"], e["invalid_value"], e["location"]) for e in entries] == [
        ("name", None, "json"),
        ("age", "old", "json"),
        ("tags[1]", 2, "json"),
        ("password", "[REDACTED]", "json"),
    ]
    assert entries[0]["message"] == "Field required"
