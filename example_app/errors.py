"""The example app's errors: the codes the two APIs add to the built-in
catalog, the image-to-model API's exception classes, and the format that
mixes ``detail`` and ``error_code`` bodies exactly as that API documents.
"""

from __future__ import annotations

import typing as t

from flask_apierrors import ApiError
from flask_apierrors import Catalog
from flask_apierrors import ErrorSpec
from flask_apierrors import Problem
from flask_apierrors.formats import JSON
from flask_apierrors.formats import DetailFormat
from flask_apierrors.formats import ErrorCodeFormat

_FAL: t.Final = {"service": "fal.ai", "error": "Model generation failed"}

#: Codes of the image-to-model API (first documented API), spelled as it does.
IMAGE_SPECS: t.Final = (
    ErrorSpec(
        "AUTHENTICATION_REQUIRED",
        500,
        "API key not configured",
        "Request requires authentication but the server has no API key configured yet"
        " (run `flask --app example_app create-keys`).",
        group="authentication",
    ),
    ErrorSpec(
        "INVALID_API_KEY",
        403,
        "Invalid API key",
        "The X-API-Key header is missing, or its key is unknown or deactivated.",
        group="authentication",
    ),
    ErrorSpec(
        "INSUFFICIENT_PERMISSIONS",
        403,
        "Invalid admin API key",
        "API key lacks required permissions (admin access).",
        group="authentication",
    ),
    ErrorSpec(
        "FILE_TOO_LARGE",
        413,
        "File size exceeds 10MB limit",
        "Uploaded file exceeds size limit.",
        group="validation",
        example_details={"file_size": 15728640, "max_size": 10485760},
    ),
    ErrorSpec(
        "TOO_MANY_FILES",
        400,
        "Maximum 25 files allowed per batch",
        "Batch upload exceeds file count limit.",
        group="validation",
        example_details={"provided": 30, "limit": 25},
    ),
    ErrorSpec(
        "INVALID_JOB_ID",
        400,
        "Invalid job ID format",
        "Job ID format is invalid.",
        group="validation",
        example_details={"job_id": "invalid@id", "pattern": "^[a-zA-Z0-9_-]+$"},
    ),
    ErrorSpec(
        "JOB_NOT_FOUND",
        404,
        "Job not found",
        "Requested job does not exist.",
        group="resource",
        example_details={"job_id": "batch_20240315_123456_abc123"},
    ),
    ErrorSpec(
        "FILE_NOT_FOUND",
        404,
        "File not found in job",
        "Requested file does not exist in job.",
        group="resource",
        example_details={"job_id": "batch_20240315_123456_abc123", "file_id": "file_999"},
    ),
    ErrorSpec(
        "MODEL_NOT_READY",
        404,
        "Model generation still in progress",
        "3D model not yet generated.",
        group="resource",
        example_details={"status": "processing", "progress": 75},
    ),
    ErrorSpec(
        "PROCESSING_ERROR",
        500,
        "Failed to process image",
        "General processing error; ``details.correlation_id`` finds the log entry.",
        group="processing",
        example_details={"error": "Internal processing error", "correlation_id": "req_abc123"},
    ),
    ErrorSpec(
        "FAL_API_ERROR",
        502,
        "External service error",
        "The model-generation service failed, also after 3 automatic retries.",
        group="upstream",
        example_details=_FAL,
    ),
    ErrorSpec(
        "FAL_RATE_LIMIT",
        503,
        "External service rate limit",
        "The model-generation service's rate limit was reached, also after 3 retries.",
        group="upstream",
        example_details={"retry_after": 60, "service": "fal.ai"},
        headers=("Retry-After",),
    ),
    ErrorSpec(
        "STORAGE_ERROR",
        507,
        "Insufficient storage space",
        "The upload would take the stored uploads past EXAMPLE_APP_STORAGE_QUOTA.",
        group="availability",
        example_details={"required": 1048576, "available": 524288},
    ),
)

#: Codes of the chat API (second documented API) the built-in catalog lacks.
CHAT_SPECS: t.Final = (
    ErrorSpec(
        "database_error",
        500,
        "Database operation failed",
        "A database statement failed; ``details.error_id`` is also in the log line.",
        group="processing",
        example_details={"operation": "insert", "table": "api_keys", "error_id": "db_err_456"},
    ),
)


class APIException(ApiError):
    """General API-related errors (500); the base of the image API's
    exception classes. Unexpected exceptions in its views become this."""

    status = 500
    message = "API operation failed"


class FALAPIException(APIException):
    """The model-generation service answered, but not with a model (502)."""

    status = 502
    message = "External FAL.AI service error"


class DatabaseException(APIException):
    """A database operation failed (500)."""

    status = 500
    message = "Database operation failed"


class ProcessingException(APIException):
    """An uploaded image could not be read as the image it claims to be (500)."""

    status = 500
    message = "Failed to process image"


class NetworkException(APIException):
    """The model-generation service could not be reached (503)."""

    status = 503
    message = "Network connectivity issue"


class ModelException(APIException):
    """A generated model could not be read from storage (500)."""

    status = 500
    message = "Model operation failed"


class ConfigurationException(APIException):
    """The server's configuration does not allow the operation (500)."""

    status = 500
    message = "Invalid configuration"


EXCEPTIONS: t.Final = (
    APIException,
    FALAPIException,
    DatabaseException,
    ProcessingException,
    NetworkException,
    ModelException,
    ConfigurationException,
)

_EXCEPTION_DETAILS: t.Final[dict[type[ApiError], t.Mapping[str, t.Any]]] = {FALAPIException: _FAL}


def catalog() -> Catalog:
    """The built-in catalog plus both APIs' codes and the exception classes."""
    rv = Catalog.default()
    for spec in (*IMAGE_SPECS, *CHAT_SPECS):
        rv.register(spec)
    for cls in EXCEPTIONS:
        assert cls.error_code is not None and cls.status is not None
        rv.add(
            cls.error_code,
            cls.status,
            cls.message or "",
            description=(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip(),
            example_details=_EXCEPTION_DETAILS.get(cls),
        )
    return rv


#: Codes the image API renders as ``{"detail": {...}}``; all others use
#: ``{"error": true, "error_code": ...}``, as that API documents.
DETAIL_CODES: t.Final = frozenset(
    {
        "TOO_MANY_FILES",
        "INVALID_JOB_ID",
        "JOB_NOT_FOUND",
        "FILE_NOT_FOUND",
        "MODEL_NOT_READY",
        "RATE_LIMIT_EXCEEDED",
        "PROCESSING_ERROR",
        "FAL_API_ERROR",
        "FAL_RATE_LIMIT",
    }
)


class ImageApiFormat:
    """The image API's format: a per-code choice between the ``detail`` and
    ``error_code`` bodies."""

    media_type = JSON
    #: Both bodies spell codes upper case; stream error events follow this.
    uppercase_codes = True

    def __init__(self) -> None:
        self._detail = DetailFormat()
        self._error_code = ErrorCodeFormat()

    def render(self, problem: Problem) -> dict[str, t.Any]:
        if problem.code.upper() in DETAIL_CODES:
            return self._detail.render(problem)
        return self._error_code.render(problem)
