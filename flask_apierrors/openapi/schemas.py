"""JSON Schemas of the built-in formats' bodies, for OpenAPI components and
for validating responses.

.. versionadded:: 0.1
"""

from __future__ import annotations

import typing as t

from ..formats import BUILTIN

#: Names of the schema components, by format.
SCHEMA_NAMES: t.Final[t.Mapping[str, str]] = {
    "error": "ErrorBody",
    "error_code": "ErrorCodeBody",
    "detail": "DetailBody",
    "problem": "ProblemBody",
}
#: The schema component of one field-level validation error.
FIELD_ERROR: t.Final = "FieldError"
#: The schema component of ``details``.
ERROR_DETAILS: t.Final = "ErrorDetails"

JSON_SCHEMA_DIALECT: t.Final = "https://json-schema.org/draft/2020-12/schema"

_Ref = t.Callable[[str], dict[str, t.Any]]


def _component_ref(name: str) -> dict[str, t.Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _defs_ref(name: str) -> dict[str, t.Any]:
    return {"$ref": f"#/$defs/{name}"}


def field_error_schema() -> dict[str, t.Any]:
    """One entry of ``details.validation_errors``."""
    return {
        "type": "object",
        "description": "A field that failed validation.",
        "required": ["field", "message", "invalid_value"],
        "properties": {
            "field": {
                "type": "string",
                "description": "Path of the field: dots between nested names, brackets"
                " around list indexes (messages[0].content).",
            },
            "message": {"type": "string"},
            "invalid_value": {
                "description": "The submitted value (redacted for credentials, truncated"
                " when long); null when the field was missing."
            },
            "location": {
                "type": "string",
                "description": "Where the value came from (json, query, form, files ...).",
            },
        },
    }


def details_schema(ref: _Ref = _component_ref) -> dict[str, t.Any]:
    """``details``: context for the client, free-form except for the keys
    the library itself writes."""
    return {
        "type": "object",
        "description": "Context for the client; its keys depend on the error code.",
        "properties": {
            "validation_errors": {"type": "array", "items": ref(FIELD_ERROR)},
            "error_id": {
                "type": "string",
                "description": "Id of a 500's log entry, for support requests.",
            },
        },
        "additionalProperties": True,
    }


def _string(description: str) -> dict[str, t.Any]:
    return {"type": "string", "description": description}


def body_schema(
    format_name: str, *, include_correlation_id: bool = True, ref: _Ref = _component_ref
) -> dict[str, t.Any]:
    """The schema of a built-in format's body (OpenAPI 3.0 and 3.1 alike).

    :param format_name: One of :data:`~flask_apierrors.formats.BUILTIN`.
    :param include_correlation_id: Require ``correlation_id`` (the
        ``include_correlation_id`` setting).
    :param ref: Makes a reference to another schema by name.
    :raises ValueError: Not a built-in format.
    """
    cid = _string("The request's correlation id (also in the X-Request-ID header).")
    timestamp = {"type": "string", "format": "date-time", "description": "When (UTC)."}
    message = _string("A sentence for the client.")
    code = {**_string("The error code."), "minLength": 1}
    details = ref(ERROR_DETAILS)
    required: list[str]
    schema: dict[str, t.Any]
    if format_name == "error":
        required = ["error", "message", "timestamp"]
        schema = {
            "properties": {
                "error": code,
                "message": message,
                "details": details,
                "timestamp": timestamp,
                "correlation_id": cid,
            },
        }
    elif format_name == "error_code":
        required = ["error", "error_code", "message"]
        schema = {
            "properties": {
                "error": {"type": "boolean", "enum": [True]},
                "error_code": code,
                "message": message,
                "details": details,
                "correlation_id": cid,
            },
        }
    elif format_name == "detail":
        required = ["code", "message"]
        schema = {
            "properties": {
                "code": code,
                "message": message,
                "details": details,
                "correlation_id": cid,
            },
        }
    elif format_name == "problem":
        required = ["type", "title", "status", "detail", "code"]
        schema = {
            "description": "RFC 9457 problem details.",
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": _string("The HTTP reason phrase."),
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": message,
                "instance": _string("The request path."),
                "code": code,
                "details": details,
                "errors": {
                    "type": "array",
                    "description": "The fields that failed validation (RFC 9457 section 3).",
                    "items": {
                        "type": "object",
                        "required": ["detail"],
                        "properties": {
                            "detail": _string("What is wrong with the field."),
                            "pointer": _string(
                                "RFC 6901 JSON Pointer to the field in the JSON body"
                                " (/messages/0/content); empty for the whole body."
                            ),
                            "parameter": _string("The query, form or path parameter."),
                            "header": _string("The request header."),
                            "code": _string(
                                "The failure's machine code (field_error_codes setting)."
                            ),
                        },
                    },
                },
                "violated-policies": {
                    "type": "array",
                    "description": "The quota policies the request exceeded (the"
                    " RateLimit-Policy field's names; type quota-exceeded).",
                    "items": {"type": "string"},
                },
                "correlation_id": cid,
                "timestamp": timestamp,
            },
        }
    else:
        raise ValueError(f"No schema for format {format_name!r}: use one of {BUILTIN}.")
    if include_correlation_id:
        required.append("correlation_id")
    body = {"type": "object", "required": required, **schema}
    if format_name == "detail":
        return {"type": "object", "required": ["detail"], "properties": {"detail": body}}
    return body


def json_schema(format_name: str, *, include_correlation_id: bool = True) -> dict[str, t.Any]:
    """A self-contained JSON Schema (2020-12) of a built-in format's body::

        jsonschema.validate(response.get_json(), json_schema("error"))

    :param format_name: One of :data:`~flask_apierrors.formats.BUILTIN`.
    :param include_correlation_id: Require ``correlation_id``.
    """
    schema = body_schema(format_name, include_correlation_id=include_correlation_id, ref=_defs_ref)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **schema,
        "$defs": {
            FIELD_ERROR: field_error_schema(),
            ERROR_DETAILS: details_schema(_defs_ref),
        },
    }
