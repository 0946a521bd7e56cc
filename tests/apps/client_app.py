"""An API that answers each kind of error in each body format, for the client
tests, served through gunicorn (``tests.apps.client_app:app``).

The same routes live at the root (the app's ``error`` format) and under
``/error``, ``/error_code``, ``/detail`` and ``/problem``, each prefix a
blueprint rendering in that format:

``GET <prefix>/ok``
    200 ``{"ok": true}``.
``GET <prefix>/jobs/<job_id>``
    404 ``not_found`` with ``details.job_id``.
``POST <prefix>/chat``
    the JSON body is loaded with a schema (``model`` required, non-empty
    ``messages``): 400 ``validation_error`` with field errors.
``GET <prefix>/auth``, ``/forbidden``, ``/legacy-auth``
    401 ``unauthorized``, 403 ``forbidden``, 500 ``AUTHENTICATION_REQUIRED``
    (the first documented API answers that one with 500).
``GET <prefix>/limited``
    429 ``rate_limit_exceeded``, ``Retry-After: 2`` and the rate limit headers.
``GET <prefix>/crash``
    an unhandled exception: 500 with an ``error_id``.
``GET <prefix>/upstream``, ``/maintenance``, ``/timeout``
    502, 503 (``Retry-After: 30``), 504.
``GET /proxy-error``
    a 502 HTML page, as a proxy in front of an app would send.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import request
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog
from flask_apierrors.formats import BUILTIN


class ChatSchema(Schema):
    model = fields.String(required=True)
    messages = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(min=1, error="At least one message is required"),
    )


def _blueprint(name: str, url_prefix: str | None = None) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=f"/{name}" if url_prefix is None else url_prefix)

    @bp.get("/ok")
    def ok() -> dict[str, t.Any]:
        return {"ok": True}

    @bp.get("/jobs/<job_id>")
    def job(job_id: str) -> t.NoReturn:
        raise ApiError("not_found", "Job not found", details={"job_id": job_id})

    @bp.post("/chat")
    def chat() -> dict[str, t.Any]:
        data = ChatSchema().load(request.get_json())
        return {"model": data["model"]}

    @bp.get("/auth")
    def auth() -> t.NoReturn:
        raise ApiError(
            "unauthorized",
            "Authorization header required",
            details={"required_format": "Authorization: Bearer mel_your_api_key"},
            headers={"WWW-Authenticate": "Bearer"},
        )

    @bp.get("/forbidden")
    def forbidden() -> t.NoReturn:
        raise ApiError("forbidden", "You can only view information about your own API key")

    @bp.get("/legacy-auth")
    def legacy_auth() -> t.NoReturn:
        raise ApiError("AUTHENTICATION_REQUIRED", "API key not configured")

    @bp.get("/limited")
    def limited() -> t.NoReturn:
        raise ApiError(
            "rate_limit_exceeded",
            "Rate limit of 100 requests per minute exceeded",
            details={"limit": 100, "remaining": 0, "retry_after": 2},
            headers={
                "Retry-After": "2",
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
            },
        )

    @bp.get("/crash")
    def crash() -> t.NoReturn:
        raise RuntimeError("database password is hunter2")

    @bp.get("/upstream")
    def upstream() -> t.NoReturn:
        raise ApiError(
            "bad_gateway",
            "External service error",
            details={"service": "perplexity_search", "upstream_status": 503},
        )

    @bp.get("/maintenance")
    def maintenance() -> t.NoReturn:
        raise ApiError(
            "service_unavailable",
            "Service temporarily unavailable for maintenance",
            headers={"Retry-After": "30"},
        )

    @bp.get("/timeout")
    def timeout() -> t.NoReturn:
        raise ApiError("gateway_timeout", "AI model response timeout")

    return bp


def create_app() -> Flask:
    app = Flask(__name__)
    catalog = Catalog.default()
    catalog.add("AUTHENTICATION_REQUIRED", 500, "API key not configured", group="authentication")
    errors = ApiErrors(app, catalog=catalog)
    for name in BUILTIN:
        bp = _blueprint(name)
        app.register_blueprint(bp)
        errors.override(bp, format=name)
    app.register_blueprint(_blueprint("root", url_prefix=""))

    @app.get("/proxy-error")
    def proxy_error() -> Response:
        return Response("<html><body>502 Bad Gateway</body></html>", 502, mimetype="text/html")

    return app


app = create_app()
