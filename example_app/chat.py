"""The chat API (the chat API): keys, chat completions, files,
research, and a little administration. Errors use the ``error`` format:
``{"error": "not_found", "message": ..., "details": ..., "timestamp": ...}``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import time
import typing as t

from flask import Blueprint
from flask import current_app
from flask import g
from flask import request
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from flask_apierrors import ApiError
from flask_apierrors import use_schema
from flask_apierrors.availability import Maintenance
from flask_apierrors.openapi import documents
from flask_apierrors.sse import sse_event
from flask_apierrors.sse import stream_events
from flask_apierrors.upstream import UpstreamTimeoutError

from . import chat_model
from . import db
from . import services
from . import storage
from .auth import chat_key_required
from .auth import create_key
from .limits import concurrency
from .limits import rate_limit_amount
from .settings import DEFAULTS
from .settings import service_url

bp = Blueprint("chat", __name__)

_REQUIRED: t.Final[dict[str, t.Any]] = {"required": "Field required"}
_MODEL_CHOICES: t.Final = ", ".join(chat_model.MODELS)


class MessageSchema(Schema):
    role = fields.String(
        load_default="user", validate=validate.OneOf(["system", "user", "assistant", "tool"])
    )
    content = fields.String(
        required=True,
        error_messages=_REQUIRED,
        validate=validate.Length(min=1, error="Message content cannot be empty"),
    )


class ChatCompletionSchema(Schema):
    model = fields.String(
        required=True,
        error_messages=_REQUIRED,
        validate=validate.OneOf(
            chat_model.MODELS, error=f"Invalid model type. Must be one of: {_MODEL_CHOICES}"
        ),
    )
    messages = fields.List(
        fields.Nested(MessageSchema),
        required=True,
        error_messages=_REQUIRED,
        validate=validate.Length(min=1, error="At least one message is required"),
    )
    max_tokens = fields.Integer(validate=validate.Range(min=1, max=4096))
    temperature = fields.Float(validate=validate.Range(min=0, max=2))
    tools = fields.List(fields.Dict())
    web_search = fields.Boolean()
    stream = fields.Boolean(load_default=False)


class ResearchSchema(Schema):
    query = fields.String(
        required=True, error_messages=_REQUIRED, validate=validate.Length(min=1, max=2000)
    )
    depth = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))


class FileUploadSchema(Schema):
    file = fields.Raw(required=True, error_messages=_REQUIRED)


class MaintenanceSchema(Schema):
    minutes = fields.Float(validate=validate.Range(min=0.01, max=7 * 24 * 60))
    message = fields.String(validate=validate.Length(min=1, max=500))


def _concurrent_limit() -> int:
    return int(current_app.config["CONCURRENT_LIMIT"])


# -- health -------------------------------------------------------------------


@bp.get("/health")
def health() -> dict[str, t.Any]:
    """Always answers, in maintenance too."""
    state = Maintenance().status()
    return {"status": "ok", "maintenance": state is not None, "timestamp": db.utcnow()}


# -- API keys -----------------------------------------------------------------


def _key_view(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {
        "key_id": record["key_id"],
        "is_admin": bool(record["is_admin"]),
        "active": record["deactivated_at"] is None,
        "created_at": record["created_at"],
        "deactivated_at": record["deactivated_at"],
        "rate_limit": record["rate_limit"],
    }


def _own_key(key_id: str, action: str) -> dict[str, t.Any]:
    """A key the caller may see: its own (any key for an admin)."""
    if key_id != g.identity.key_id and not g.identity.is_admin:
        raise ApiError(
            "forbidden",
            f"You can only {action} your own API key",
            details={"requested_key": key_id, "your_key": g.identity.key_id},
        )
    record = db.key_by_id(db.get_db(), key_id)
    if record is None:
        raise ApiError("not_found", "API key not found", details={"key_id": key_id})
    return record


@bp.post("/api-keys")
@chat_key_required(admin=True)
def create_api_key() -> tuple[dict[str, t.Any], int]:
    """A new user key (admin key only); the key is shown once."""
    rate_limit = rate_limit_amount(current_app.config["CHAT_RATE_LIMIT"])
    key, key_id = create_key(db.get_db(), is_admin=False, rate_limit=rate_limit)
    return {
        "api_key": key,
        "key_id": key_id,
        "message": "API key created successfully",
        "rate_limit": rate_limit,
    }, 201


@bp.get("/api-keys/<key_id>")
@chat_key_required()
@documents("forbidden")
def get_api_key(key_id: str) -> dict[str, t.Any]:
    return _key_view(_own_key(key_id, "view information about"))


@bp.delete("/api-keys/<key_id>")
@chat_key_required()
@documents("forbidden")
def delete_api_key(key_id: str) -> dict[str, t.Any]:
    """Deactivate a key: it answers 401 "API key is deactivated" from now on."""
    record = _own_key(key_id, "deactivate")
    record["deactivated_at"] = db.deactivate_key(db.get_db(), key_id)
    return _key_view(record)


# -- chat completions ---------------------------------------------------------


def _check_conflicts(body: t.Mapping[str, t.Any]) -> None:
    if body["model"] == "Melanie-3-code" and body.get("tools") and body.get("web_search") is False:
        raise ApiError(
            "unprocessable_entity",
            "Conflicting parameters provided",
            details={
                "conflict": "Cannot use both 'tools' and 'web_search=false' with"
                " Melanie-3-code model",
                "suggestion": "Either enable web_search or remove tools parameter",
            },
        )


@bp.post("/chat/completions")
@chat_key_required()
@concurrency.limit(_concurrent_limit, scope="chat")
@use_schema(ChatCompletionSchema)
@documents("unprocessable_entity", "bad_gateway", "service_unavailable", "gateway_timeout")
def chat_completions(body: dict[str, t.Any]) -> t.Any:
    """A ``chat.completion`` (or, with ``stream: true``, SSE chunks ending
    with ``data: [DONE]``) from the local model or ``MODEL_SERVICE_URL``."""
    _check_conflicts(body)
    sources = []
    if body.get("web_search"):
        sources = [r["title"] for r in services.web_search(body["messages"][-1]["content"])]
    if service_url(current_app.config, "MODEL_SERVICE_URL") is not None:
        completion = services.remote_completion(
            {**body, "messages": [*body["messages"]], "stream": False}
        )
    else:
        completion = chat_model.completion(body, sources)
    if not body["stream"]:
        return completion

    def events() -> t.Iterator[str]:
        for chunk in chat_model.chunks(completion):
            yield sse_event(chunk)
        yield sse_event("[DONE]")

    return stream_events(events())


# -- files --------------------------------------------------------------------


def _file_view(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {
        "id": record["file_id"],
        "object": "file",
        "filename": record["filename"],
        "bytes": record["size"],
        "content_type": record["content_type"],
        "created_at": record["created_at"],
        "status": "processing" if time.time() < record["ready_at"] else "idle",
    }


def _own_file(file_id: str) -> dict[str, t.Any]:
    record = db.get_file(db.get_db(), file_id)
    # Someone else's file is "not found": its existence is not revealed.
    if record is None or (record["owner"] != g.identity.key_id and not g.identity.is_admin):
        raise ApiError("not_found", "File not found", details={"file_id": file_id})
    return record


@bp.post("/files")
@chat_key_required()
@concurrency.limit(_concurrent_limit, scope="chat")
@storage.upload_limit
@use_schema(FileUploadSchema, "files", unknown="exclude")
@documents("insufficient_storage")
def upload_file(form: dict[str, t.Any]) -> tuple[dict[str, t.Any], int]:
    """Upload a file (multipart field ``file``); it is ``processing`` for
    ``FILE_PROCESSING_SECONDS``, then ``idle``."""
    upload = form["file"]
    content_type = upload.mimetype
    if content_type in ("", "application/octet-stream"):
        content_type = mimetypes.guess_type(upload.filename or "")[0] or content_type
    if content_type not in storage.SUPPORTED_TYPES:
        raise ApiError(
            "unsupported_media_type",
            "Unsupported file type",
            details={
                "file_type": content_type or None,
                "supported_types": list(storage.SUPPORTED_TYPES),
            },
        )
    data = upload.stream.read()
    max_size = int(current_app.config["MAX_FILE_BYTES"])
    if len(data) > max_size:
        raise ApiError(
            "payload_too_large",
            "File size exceeds maximum limit",
            details={
                "file_size": len(data),
                "max_size": max_size,
                "size_limit": f"{max_size / 1_000_000:g}MB",
            },
        )
    conn = db.get_db()
    db.check_quota(conn, len(data), "insufficient_storage")
    record = {
        "file_id": "file-" + secrets.token_hex(12),
        "owner": g.identity.key_id,
        "filename": os.path.basename(upload.filename or "upload"),
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": db.utcnow(),
        "ready_at": time.time() + float(current_app.config["FILE_PROCESSING_SECONDS"]),
    }
    # A full disk is a 507, like the quota; no bytes stay without a record.
    with storage.removed_on_failure(storage.chat_file_path(record["file_id"])) as path:
        storage.write_chat_file(path, data)
        db.insert_file(conn, record)
    return _file_view(record), 201


@bp.get("/files/<file_id>")
@chat_key_required()
def get_file(file_id: str) -> dict[str, t.Any]:
    return _file_view(_own_file(file_id))


@bp.delete("/files/<file_id>")
@chat_key_required()
@documents("unprocessable_entity")
def delete_file(file_id: str) -> dict[str, t.Any]:
    """Delete an ``idle`` file; 422 while it is ``processing``."""
    record = _own_file(file_id)
    state = _file_view(record)["status"]
    if state != "idle":
        raise ApiError(
            "unprocessable_entity",
            "Cannot perform operation in current state",
            details={"current_state": state, "required_state": "idle", "operation": "delete_file"},
        )
    db.delete_file(db.get_db(), file_id)
    storage.remove(storage.chat_file_path(file_id))
    return {"id": file_id, "object": "file", "deleted": True}


# -- research -----------------------------------------------------------------


@bp.post("/research")
@chat_key_required()
@concurrency.limit(_concurrent_limit, scope="chat")
@use_schema(ResearchSchema)
@documents("bad_gateway", "service_unavailable", "gateway_timeout")
def research(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """Deep research: ``depth`` searches, all within ``RESEARCH_TIMEOUT``
    seconds, else a 504 saying whether partial results were found."""
    budget = float(current_app.config["RESEARCH_TIMEOUT"])
    deadline = time.monotonic() + budget
    results: list[dict[str, str]] = []
    for step in range(body["depth"]):
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            results += services.web_search(f"{body['query']} (part {step + 1})", timeout=remaining)
        except (TimeoutError, UpstreamTimeoutError) as e:
            if isinstance(e, UpstreamTimeoutError) and time.monotonic() < deadline:
                raise  # the search service itself was too slow
            raise ApiError(
                "gateway_timeout",
                "Research operation timeout",
                details={
                    "operation": "deep_research",
                    # 300, as documented, not 300.0.
                    "timeout_duration": int(budget) if budget.is_integer() else budget,
                    "partial_results_available": bool(results),
                },
            ) from e
    return {"query": body["query"], "depth": body["depth"], "results": results}


# -- administration -----------------------------------------------------------


@bp.get("/system/config")
@chat_key_required(admin=True)
def system_config() -> dict[str, t.Any]:
    """The settings that are safe to show (admin key only)."""
    config = current_app.config
    hidden = {"ADMIN_KEY", "RATELIMIT_STORAGE_URI"}
    return {name: config[name] for name in DEFAULTS if name not in hidden and "URL" not in name}


@bp.route("/system/config", methods=["PUT", "PATCH", "DELETE"])
@chat_key_required()
@documents("forbidden")
def system_config_change() -> t.NoReturn:
    """The configuration is read-only at run time, for every key."""
    raise ApiError(
        "forbidden",
        "Operation not allowed for this resource",
        details={"operation": request.method, "resource": request.path},
    )


@bp.get("/system/maintenance")
@chat_key_required(admin=True)
def maintenance_status() -> dict[str, t.Any]:
    state = Maintenance().status()
    return state.to_json() if state is not None else {"enabled": False}


@bp.put("/system/maintenance")
@chat_key_required(admin=True)
@use_schema(MaintenanceSchema)
def maintenance_on(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """Switch maintenance on for every worker (``minutes``: expected length)."""
    minutes = body.get("minutes")
    state = Maintenance().enable(
        duration=None if minutes is None else minutes * 60, message=body.get("message")
    )
    return state.to_json()


@bp.delete("/system/maintenance")
@chat_key_required(admin=True)
def maintenance_off() -> dict[str, t.Any]:
    Maintenance().disable()
    return {"enabled": Maintenance().is_active()}
