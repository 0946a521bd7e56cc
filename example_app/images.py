"""The image-to-model API (the image-to-model API), under ``/api/v1``.

Clients upload a batch of images; each becomes a 3D model in the background
(:mod:`example_app.generation`). Errors come in that API's own mix of
``{"detail": {...}}`` and ``{"error": true, "error_code": ...}`` bodies
(:class:`~example_app.errors.ImageApiFormat`).
"""

from __future__ import annotations

import os
import re
import secrets
import time
import typing as t
from datetime import datetime
from datetime import timezone

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import send_file

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.correlation import get_correlation_id
from flask_apierrors.openapi import documents
from flask_apierrors.sse import close_event
from flask_apierrors.sse import error_events
from flask_apierrors.sse import sse_event
from flask_apierrors.sse import stream_events

from . import checks
from . import db
from . import generation
from . import storage
from .auth import image_key_required
from .errors import EXCEPTIONS
from .errors import ConfigurationException
from .errors import ModelException
from .settings import service_url

bp = Blueprint("images", __name__, url_prefix="/api/v1")

ID_PATTERN: t.Final = "^[a-zA-Z0-9_-]+$"
_ID: t.Final = re.compile(ID_PATTERN)
#: The longest an event stream stays open, in seconds.
STREAM_SECONDS: t.Final = 600.0
#: The SSE comment a quiet event stream sends every ``STREAM_HEARTBEAT`` seconds.
KEEP_ALIVE: t.Final = ": keep-alive\n\n"
_DONE: t.Final = ("completed", "failed")


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _stored_failure(job_id: str, file_id: str, error: t.Mapping[str, t.Any]) -> ApiError:
    """The error a failed generation left, to answer again. The failure was
    logged when it happened; a client reading it again is expected (it polls,
    or retries the file), so it is logged at INFO, not as a new 5xx."""
    current_app.logger.info(
        "Model of %s/%s asked for again; its generation failed with %s",
        job_id,
        file_id,
        error["code"],
    )
    return ApiError(
        error["code"],
        error["message"],
        status=error["status"],
        details=error.get("details"),
        headers=error.get("headers"),
    )


def _not_configured() -> ConfigurationException:
    # The client learns that the server is misconfigured; the log, how.
    current_app.logger.error("EXAMPLE_APP_GENERATION_SERVICE_URL is not set")
    return ConfigurationException()


def new_job_id() -> str:
    """``batch_20240315_123456_abc123``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")
    return f"batch_{stamp}_{secrets.token_hex(3)}"


def _job(job_id: str) -> dict[str, t.Any]:
    """The caller's job, or ``INVALID_JOB_ID`` / ``JOB_NOT_FOUND``."""
    if not _ID.fullmatch(job_id):
        raise ApiError("INVALID_JOB_ID", details={"job_id": job_id, "pattern": ID_PATTERN})
    job = db.get_job(db.get_db(), job_id)
    # Someone else's job is "not found": its existence is not revealed.
    if job is None or (job["owner"] != g.identity.key_id and not g.identity.is_admin):
        raise ApiError("JOB_NOT_FOUND", details={"job_id": job_id})
    return job


def _file(job_id: str, file_id: str) -> dict[str, t.Any]:
    _job(job_id)
    record = db.job_file(db.get_db(), job_id, file_id) if _ID.fullmatch(file_id) else None
    if record is None:
        raise ApiError("FILE_NOT_FOUND", details={"job_id": job_id, "file_id": file_id})
    return record


def _file_view(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    error = record["error"]
    return {
        "file_id": record["file_id"],
        "filename": record["filename"],
        "status": record["status"],
        "progress": record["progress"],
        "error": {"code": error["code"], "message": error["message"]} if error else None,
    }


def stale_seconds(config: t.Mapping[str, t.Any]) -> float:
    """How long a ``processing`` file may go without a change before its
    generation is taken for dead (its worker stopped): longer than any
    generation runs without updating it, i.e. one attempt at the service
    (``GENERATION_TIMEOUT``, plus an ``UPSTREAM_TIMEOUT`` for each of its
    submit, last poll and fetch) and a wait between attempts (within
    ``GENERATION_MAX_TIME``)."""
    return (
        float(config["GENERATION_TIMEOUT"])
        + float(config["GENERATION_MAX_TIME"])
        + 3 * float(config["UPSTREAM_TIMEOUT"])
    )


def _stale(record: t.Mapping[str, t.Any]) -> bool:
    """A ``processing`` file unchanged for longer than :func:`stale_seconds`."""
    if record["status"] != "processing":
        return False
    updated = datetime.strptime(record["updated_at"], "%Y-%m-%dT%H:%M:%SZ")
    age = datetime.now(timezone.utc) - updated.replace(tzinfo=timezone.utc)
    return age.total_seconds() > stale_seconds(current_app.config)


def _not_retryable(file_id: str, status: str) -> ApiError:
    return ApiError(
        "validation_error",
        "Only failed files can be retried",
        details={"file_id": file_id, "status": status},
    )


def _job_status(files: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    statuses = {f["status"] for f in files}
    if statuses <= {"completed"}:
        return "completed"
    if statuses <= {"failed"}:
        return "failed"
    if statuses <= set(_DONE):
        return "completed_with_errors"
    return "processing"


#: What the views that look a job (and a file of it) up answer with.
JOB_CODES: t.Final = ("INVALID_JOB_ID", "JOB_NOT_FOUND")
FILE_CODES: t.Final = (*JOB_CODES, "FILE_NOT_FOUND")
#: What a failed generation answers with, stored with the file.
GENERATION_CODES: t.Final = (
    "PROCESSING_ERROR",
    "FAL_API_ERROR",
    "FAL_RATE_LIMIT",
    *(str(cls.error_code) for cls in EXCEPTIONS),
)


@bp.post("/batch/upload")
@image_key_required()
@documents(
    "validation_error",
    "TOO_MANY_FILES",
    "FILE_TOO_LARGE",
    "payload_too_large",
    "STORAGE_ERROR",
    "PROCESSING_ERROR",
    str(ConfigurationException.error_code),
)
def upload() -> tuple[dict[str, t.Any], int]:
    """Upload up to 25 images (multipart field ``files``); 202 with the job."""
    config = current_app.config
    limit, max_size = int(config["MAX_BATCH_FILES"]), int(config["MAX_IMAGE_BYTES"])
    # Room for one file too many, so the precise errors below can be given.
    request.max_content_length = (limit + 1) * max_size + 1024 * 1024
    uploads = request.files.getlist("files")
    sizes = checks.sizes(uploads, limit, max_size)
    conn = db.get_db()
    db.check_quota(conn, sum(sizes), "STORAGE_ERROR")
    if service_url(config, "GENERATION_SERVICE_URL") is None:
        raise _not_configured()

    job_id = new_job_id()
    files: list[dict[str, t.Any]] = [
        {"file_id": f"file_{i:03d}", "filename": os.path.basename(u.filename or ""), "size": n}
        for i, (u, n) in enumerate(zip(uploads, sizes, strict=True), start=1)
    ]
    app = _app()
    try:
        with storage.removed_on_failure(generation.job_folder(app, job_id)):
            for upload, f in zip(uploads, files, strict=True):
                path = generation.image_path(app, job_id, f["file_id"], f["filename"])
                storage.write(path, upload)
            db.insert_job(conn, job_id, g.identity.key_id, files)
    except OSError as e:
        raise ApiError(
            "PROCESSING_ERROR",
            details={"error": "Internal processing error", "correlation_id": get_correlation_id()},
        ) from e
    for record in files:
        generation.start(app, job_id, record["file_id"], record["filename"])
    return {
        "job_id": job_id,
        "status": "queued",
        "files": [
            {"file_id": f["file_id"], "filename": f["filename"], "status": "queued"} for f in files
        ],
    }, 202


@bp.get("/jobs/<job_id>")
@image_key_required()
@documents(*JOB_CODES)
def get_job(job_id: str) -> dict[str, t.Any]:
    """A job and the status of each of its files."""
    job = _job(job_id)
    files = db.job_files(db.get_db(), job_id)
    return {
        "job_id": job_id,
        "status": _job_status(files),
        "created_at": job["created_at"],
        "total_files": len(files),
        "completed_files": sum(f["status"] == "completed" for f in files),
        "failed_files": sum(f["status"] == "failed" for f in files),
        "files": [_file_view(f) for f in files],
    }


@bp.get("/jobs/<job_id>/files/<file_id>/model")
@image_key_required()
@documents(*FILE_CODES, "MODEL_NOT_READY", *GENERATION_CODES)
def get_model(job_id: str, file_id: str) -> Response:
    """The generated model (glTF binary), or why there is none."""
    record = _file(job_id, file_id)
    if record["status"] == "failed":
        # Rendered, not raised: the error handler would log a 5xx at ERROR.
        ext: ApiErrors = current_app.extensions["example_app.apierrors"]
        return ext.make_response(ext.problem_for(_stored_failure(job_id, file_id, record["error"])))
    if record["status"] != "completed":
        raise ApiError(
            "MODEL_NOT_READY", details={"status": record["status"], "progress": record["progress"]}
        )
    path = generation.model_path(_app(), job_id, file_id)
    try:
        return send_file(
            open(path, "rb"),  # send_file closes it
            mimetype="model/gltf-binary",
            download_name=f"{file_id}.glb",
        )
    except OSError as e:
        raise ModelException() from e


@bp.post("/jobs/<job_id>/files/<file_id>/retry")
@image_key_required()
@documents(*FILE_CODES, "validation_error", str(ConfigurationException.error_code))
def retry_file(job_id: str, file_id: str) -> tuple[dict[str, t.Any], int]:
    """Generate a failed file's model again, or a stale one's (its
    generation stopped with its worker); 202."""
    record = _file(job_id, file_id)
    if record["status"] != "failed" and not _stale(record):
        raise _not_retryable(file_id, record["status"])
    if service_url(current_app.config, "GENERATION_SERVICE_URL") is None:
        raise _not_configured()
    requeued = db.update_job_file(
        db.get_db(),
        job_id,
        file_id,
        expect={"status": record["status"], "updated_at": record["updated_at"]},
        status="queued",
        progress=0,
        attempts=0,
        error=None,
    )
    if not requeued:
        # Another request retried it first.
        current = db.job_file(db.get_db(), job_id, file_id)
        raise _not_retryable(file_id, current["status"] if current else "queued")
    generation.start(_app(), job_id, file_id, record["filename"])
    return {"job_id": job_id, "file_id": file_id, "status": "queued"}, 202


@bp.get("/jobs/<job_id>/stream")
@image_key_required()
@documents(*JOB_CODES)
def stream_job(job_id: str) -> Response:
    """Server-Sent Events: ``progress`` per file change, ``complete`` at the
    end, or the documented ``error`` + ``close`` pair when a file fails; a
    ``: keep-alive`` comment every ``STREAM_HEARTBEAT`` seconds without
    news."""
    _job(job_id)
    app = _app()
    heartbeat = float(app.config["STREAM_HEARTBEAT"])

    def events() -> t.Iterator[str]:
        yield sse_event({"job_id": job_id}, event="start")
        seen: dict[str, tuple[str, int]] = {}
        deadline = time.monotonic() + STREAM_SECONDS
        # A write is how a client that left is noticed: a quiet job still
        # gets a comment every STREAM_HEARTBEAT seconds.
        next_beat = time.monotonic() + heartbeat
        conn = db.connect(app)
        try:
            while time.monotonic() < deadline:
                files = db.job_files(conn, job_id)
                for f in files:
                    state = (f["status"], f["progress"])
                    if seen.get(f["file_id"]) != state:
                        seen[f["file_id"]] = state
                        next_beat = time.monotonic() + heartbeat
                        yield sse_event(_file_view(f), event="progress")
                    if f["status"] == "failed":
                        # Sent, not raised: a stream that reports a failed
                        # file is working as documented (the failure itself
                        # was logged when the generation failed).
                        app.logger.info("Event stream of %s ends: %s failed", job_id, f["file_id"])
                        failed = ApiError("PROCESSING_ERROR", "Failed to generate model")
                        yield error_events(failed, file_id=f["file_id"])
                        return
                if all(f["status"] == "completed" for f in files):
                    yield sse_event({"job_id": job_id, "status": "completed"}, event="complete")
                    yield close_event("complete")
                    return
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + heartbeat
                    yield KEEP_ALIVE
                time.sleep(min(0.2, heartbeat))
            yield close_event("timeout")
        finally:
            conn.close()

    return stream_events(events())


@bp.get("/admin/stats")
@image_key_required(admin=True)
def stats() -> dict[str, t.Any]:
    """Storage use and file counts (admin key only)."""
    conn = db.get_db()
    with db.statement("select", "job_files"):
        rows = conn.execute("SELECT status, COUNT(*) FROM job_files GROUP BY status").fetchall()
    return {
        "storage_used": db.stored_bytes(conn),
        "storage_quota": current_app.config["STORAGE_QUOTA"],
        "files": {status: count for status, count in rows},
    }
