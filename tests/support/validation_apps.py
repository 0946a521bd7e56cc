"""The chat-completion and image-upload schemas of the documented APIs, and
an app that loads the chat request with :func:`use_schema`, for
tests/test_validation*.py."""

from __future__ import annotations

import typing as t

from flask import Flask
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from werkzeug.datastructures import FileStorage

from flask_apierrors import ApiError
from flask_apierrors import use_schema

from ..conftest import MakeApp

MODELS = ("Melanie-3", "Melanie-3-light", "Melanie-3-code")
ALLOWED_FORMATS = ("jpg", "jpeg", "png")


class Message(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["system", "user", "assistant"]))
    content = fields.String(
        required=True, validate=validate.Length(min=1, error="Message content cannot be empty")
    )


def chat_schema(model_error: str) -> type[Schema]:
    """The chat-completion request of the second documented API; the model
    message is one line of schema."""

    class ChatCompletion(Schema):
        messages = fields.List(
            fields.Nested(Message),
            required=True,
            validate=validate.Length(min=1, error="At least one message is required"),
        )
        model = fields.String(required=True, validate=validate.OneOf(MODELS, error=model_error))
        temperature = fields.Float(validate=validate.Range(min=0, max=2))
        max_tokens = fields.Integer(validate=validate.Range(min=1))
        stream = fields.Boolean()

    return ChatCompletion


ChatCompletion = chat_schema("Invalid model type. Must be one of: {choices}")


class Upload(Schema):
    """The image upload of the first documented API."""

    file = fields.Raw(required=True)

    @validates("file")
    def check_format(self, value: FileStorage, **kwargs: t.Any) -> None:
        name = value.filename or ""
        if name.rpartition(".")[2].lower() not in ALLOWED_FORMATS:
            raise ApiError(
                "validation_error",
                "Invalid file format",
                details={"file": name, "allowed_formats": list(ALLOWED_FORMATS)},
            )


def chat_app(make_app: MakeApp, schema: type[Schema] = ChatCompletion, **options: t.Any) -> Flask:
    """An app whose ``POST /v1/chat/completions`` loads ``schema`` from JSON."""
    app, _ = make_app(**options)

    @app.post("/v1/chat/completions")
    @use_schema(schema)
    def chat(body: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"model": body["model"], "count": len(body["messages"])}

    return app


HELLO = [{"role": "user", "content": "Hello"}]
