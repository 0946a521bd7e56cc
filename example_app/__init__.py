"""An example app of flask-apierrors: two small JSON APIs in one Flask app,
whose every error is one of the bodies their documentation shows.

- the chat API (``/chat/completions``, ``/files``, ``/api-keys`` ...) answers
  errors as ``{"error": "not_found", "message": ..., "timestamp": ...}``;
- the image-to-model API (``/api/v1/...``) answers them as
  ``{"error": true, "error_code": "INVALID_API_KEY", ...}`` or
  ``{"detail": {"code": "JOB_NOT_FOUND", ...}}``, by code, as it documents.

Run it with ``scripts/run.sh`` (gunicorn on 127.0.0.1:8000), create keys with
``flask --app example_app create-keys``. docs/example_app.rst is the tour.
"""

from __future__ import annotations

import os
import sqlite3
import typing as t

from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import openapi
from flask_apierrors.availability import Maintenance

from . import chat
from . import db
from . import errors
from . import images
from . import logs
from . import settings
from .cli import create_keys_command
from .limits import init_limits

__all__ = ["create_app"]


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the example app.

    Settings come from :data:`~example_app.settings.DEFAULTS`, then the
    ``EXAMPLE_APP_*`` environment variables, then ``config``.

    :param config: Settings that win over the environment (tests use it).
    :raises ValueError: a setting cannot work.
    """
    # Before Flask creates app.logger: with a root handler, it adds none of its own.
    logs.init_logging()
    app = Flask(__name__)
    # Bodies keep the member order of the two APIs' documentation.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(settings.DEFAULTS)
    app.config.from_prefixed_env("EXAMPLE_APP")
    app.config.update(config or {})
    settings.check(app.config)
    if app.config["INSTANCE_PATH"]:
        app.instance_path = os.path.abspath(app.config["INSTANCE_PATH"])
    # Every body is at most MAX_JSON_BYTES, except on the upload routes,
    # which allow more for the request they serve.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_JSON_BYTES"])
    app.config["APIERRORS_CONCURRENCY_STORAGE_URI"] = app.config["RATELIMIT_STORAGE_URI"]

    ext = ApiErrors(
        catalog=errors.catalog(),
        format="error",
        expected_content_types=["application/json", "multipart/form-data"],
        maintenance=app.config["MAINTENANCE"],
        maintenance_exempt=["/health", "/system/maintenance"],
        concurrency_retry_after=10,
    )
    ext.register_format("image_api", errors.ImageApiFormat())
    ext.override(
        images.bp,
        url_prefix=images.bp.url_prefix,
        format="image_api",
        # ImageApiFormat is not a built-in name: name the 429 fields it documents.
        ratelimit_details=("limit", "window", "retry_after"),
        ratelimit_message="Rate limit exceeded",
    )
    ext.init_app(app)
    # The views that answer an error without raising it render it with ext.
    app.extensions["example_app.apierrors"] = ext
    Maintenance(app)

    app.register_blueprint(chat.bp)
    app.register_blueprint(images.bp)
    init_limits(app, chat.bp, images.bp, exempt=chat.health)
    app.teardown_appcontext(db.close_db)
    app.cli.add_command(create_keys_command)

    @app.get("/openapi.json")
    def openapi_json() -> dict[str, t.Any]:
        """The OpenAPI document of both APIs, errors included."""
        return openapi.document(app, title="flask-apierrors example", version="1.0.0")

    try:
        db.init_db(app)
    except (OSError, sqlite3.Error, db.StoreError) as e:
        cause = e.__cause__ if isinstance(e, db.StoreError) else e
        raise ValueError(
            f"EXAMPLE_APP_INSTANCE_PATH: cannot keep the database in {app.instance_path!r}"
            f" ({cause})."
        ) from e
    return app
