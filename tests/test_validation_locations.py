"""The :func:`use_schema` decorator: the query, form and files locations,
how loaded data reaches the view, schema options, async views and misuse."""

from __future__ import annotations

import asyncio
import io
import typing as t

import pytest
from flask import Flask
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from werkzeug.datastructures import FileStorage

from flask_apierrors import use_schema
from flask_apierrors.integrations.marshmallow import RequestValidationError
from flask_apierrors.validation import LOCATIONS

from .conftest import MakeApp
from .support.validation_apps import HELLO
from .support.validation_apps import ChatCompletion
from .support.validation_apps import Message
from .support.validation_apps import Upload


class JobQuery(Schema):
    limit = fields.Integer(validate=validate.Range(min=1, max=100))
    status = fields.List(fields.String(validate=validate.OneOf(["queued", "done"])))


def test_query_location(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.get("/jobs")
    @use_schema(JobQuery, "query", arg_name="query")
    def jobs(query: dict[str, t.Any]) -> dict[str, t.Any]:
        return query

    client = app.test_client()
    ok = client.get("/jobs?limit=5&status=queued&status=done")
    assert ok.get_json() == {"limit": 5, "status": ["queued", "done"]}
    bad = client.get("/jobs?limit=0&status=queued&status=lost&page=2")
    assert bad.status_code == 400
    assert bad.get_json()["details"]["validation_errors"] == [
        {
            "field": "limit",
            "message": "Must be greater than or equal to 1 and less than or equal to 100.",
            "invalid_value": "0",
        },
        {"field": "status[1]", "message": "Must be one of: queued, done.", "invalid_value": "lost"},
        {"field": "page", "message": "Unknown field.", "invalid_value": "2"},
    ]


class Login(Schema):
    username = fields.String(required=True, validate=validate.Length(min=3))
    pin = fields.String(load_only=True, validate=validate.Regexp(r"^\d{4}$"))


def test_form_location(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/login")
    @use_schema(Login, "form")
    def login(form: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"user": form["username"]}

    client = app.test_client()
    assert client.post("/login", data={"username": "ann", "pin": "1234"}).status_code == 200
    bad = client.post("/login", data={"username": "a", "pin": "12x4"})
    assert bad.get_json()["details"]["validation_errors"] == [
        {"field": "username", "message": "Shorter than minimum length 3.", "invalid_value": "a"},
        {
            "field": "pin",
            "message": "String does not match expected pattern.",
            "invalid_value": "[REDACTED]",
        },
    ]
    wrong = client.post("/login", json={"username": "ann"})
    assert wrong.status_code == 415
    assert wrong.get_json()["details"] == {
        "provided_type": "application/json",
        "expected_types": ["application/x-www-form-urlencoded", "multipart/form-data"],
    }


def test_files_location(make_app: MakeApp) -> None:
    app, _ = make_app(format="error_code")

    @app.post("/upload")
    @use_schema(Upload, "files")
    def upload(files: dict[str, FileStorage]) -> dict[str, t.Any]:
        return {}

    client = app.test_client()
    missing = client.post("/upload", data={"other": "x"}, content_type="multipart/form-data")
    assert missing.get_json()["details"]["validation_errors"] == [
        {"field": "file", "message": "Field required", "invalid_value": None}
    ]
    extra = {
        "file": (io.BytesIO(b"x"), "a.png"),
        "more": (io.BytesIO(b"y"), "secret-plans.txt"),
    }
    unknown = client.post("/upload", data=extra, content_type="multipart/form-data")
    assert unknown.get_json()["details"]["validation_errors"] == [
        {"field": "more", "message": "Unknown field.", "invalid_value": "secret-plans.txt"}
    ]
    wrong = client.post("/upload", data={"file": "x"})
    assert wrong.status_code == 415
    assert wrong.get_json()["details"]["expected_types"] == ["multipart/form-data"]


def test_loaded_data_is_passed_in_decorator_order(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/jobs/<int:job_id>")
    @use_schema(JobQuery, "query")
    @use_schema({"name": fields.String(required=True)})
    def update(query: dict[str, t.Any], body: dict[str, t.Any], job_id: int) -> dict[str, t.Any]:
        return {"query": query, "body": body, "job_id": job_id}

    response = app.test_client().post("/jobs/7?limit=2", json={"name": "n"})
    assert response.get_json() == {"query": {"limit": 2}, "body": {"name": "n"}, "job_id": 7}


def test_unknown_option_and_schema_instance(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/lenient")
    @use_schema(ChatCompletion(only=("model",)), unknown=EXCLUDE, arg_name="data")
    def lenient(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return data

    response = app.test_client().post("/lenient", json={"model": "Melanie-3", "x": 1})
    assert response.get_json() == {"model": "Melanie-3"}


def test_many_schema(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.post("/batch")
    @use_schema(Message(many=True))
    def batch(items: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        return {"n": len(items)}

    response = app.test_client().post(
        "/batch", json=[{"role": "user", "content": "a"}, {"role": "bot", "content": ""}]
    )
    assert [
        (e["field"], e["invalid_value"])
        for e in response.get_json()["details"]["validation_errors"]
    ] == [("[1].role", "bot"), ("[1].content", "")]


def test_async_view(app: Flask) -> None:
    @use_schema(ChatCompletion, arg_name="body")
    async def chat(body: dict[str, t.Any]) -> str:
        await asyncio.sleep(0)
        return str(body["model"])

    with app.test_request_context(json={"model": "Melanie-3", "messages": HELLO}):
        assert asyncio.run(chat()) == "Melanie-3"
    with app.test_request_context(json={"model": "x", "messages": HELLO}):
        with pytest.raises(RequestValidationError) as info:
            asyncio.run(chat())
    assert info.value.messages == {
        "model": ["Invalid model type. Must be one of: Melanie-3, Melanie-3-light, Melanie-3-code"]
    }


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((ChatCompletion, "body"), ValueError),
        ((ChatCompletion, "headers"), ValueError),
        ((object(),), TypeError),
        (("ChatCompletion",), TypeError),
    ],
)
def test_misuse(args: tuple[t.Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error, match="use_schema"):
        use_schema(*args)


def test_locations_are_documented() -> None:
    assert LOCATIONS == ("json", "query", "form", "files")


def test_validator_exceptions_pass_through(make_app: MakeApp) -> None:
    class Strict(Schema):
        n = fields.Integer()

        @validates("n")
        def boom(self, value: int, **kwargs: t.Any) -> None:
            raise RuntimeError("database password is hunter2")

    app, _ = make_app()

    @app.post("/strict")
    @use_schema(Strict)
    def strict(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    app.config["TESTING"] = False
    response = app.test_client().post("/strict", json={"n": 1})
    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)
