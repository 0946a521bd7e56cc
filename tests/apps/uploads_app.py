"""An app for uploads through gunicorn (``tests.apps.uploads_app:app``):
an app-wide ``MAX_CONTENT_LENGTH`` of 1 MB, and upload routes that raise
the request's own limit to 4 MB before they read the body.

``POST /upload``
    reads the raw body in pieces: ``{"bytes": n, "sha256": hex, "pid": pid}``.
``POST /upload-form``
    a multipart body with the file in field ``file``: the same answer, for
    the file's bytes.
``POST /small``
    reads the raw body under the app-wide limit (the same answer).
``GET /health``
    ``{"ok": true}``.
"""

from __future__ import annotations

import hashlib
import os
import typing as t

from flask import Flask
from flask import request

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors

#: The app-wide ``MAX_CONTENT_LENGTH``.
APP_LIMIT: t.Final = 1_000_000
#: The limit the upload routes raise the request's to.
UPLOAD_LIMIT: t.Final = 4_000_000


def _digest(stream: t.IO[bytes]) -> dict[str, t.Any]:
    sha = hashlib.sha256()
    size = 0
    while chunk := stream.read(65536):
        sha.update(chunk)
        size += len(chunk)
    return {"bytes": size, "sha256": sha.hexdigest(), "pid": os.getpid()}


def create_uploads_app() -> Flask:
    app = Flask("uploads_app")
    app.config["MAX_CONTENT_LENGTH"] = APP_LIMIT
    ApiErrors(app)

    @app.get("/health")
    def health() -> dict[str, t.Any]:
        return {"ok": True}

    @app.post("/upload")
    def upload() -> dict[str, t.Any]:
        request.max_content_length = UPLOAD_LIMIT
        return _digest(request.stream)

    @app.post("/upload-form")
    def upload_form() -> dict[str, t.Any]:
        request.max_content_length = UPLOAD_LIMIT
        upload = request.files.get("file")
        if upload is None:
            raise ApiError("validation_error", details={"field": "file"})
        return _digest(upload.stream)

    @app.post("/small")
    def small() -> dict[str, t.Any]:
        return _digest(request.stream)

    return app


app = create_uploads_app()
