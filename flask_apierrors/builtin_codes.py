"""The built-in codes: every Werkzeug HTTP exception, described for API
clients, and the codes the extension adds (``invalid_json``,
``validation_error`` ...), with their documented examples.
"""

from __future__ import annotations

import re
import typing as t

from werkzeug.exceptions import default_exceptions

from .errorspec import ErrorSpec
from .errorspec import code_for_exception_class
from .statuses import reason_phrase

# The messages of the Werkzeug codes, written for API clients.
_MESSAGES: t.Final = {
    400: "Bad request",
    401: "Authentication required",
    403: "Permission denied",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Unprocessable entity",
    429: "Rate limit exceeded",
    500: "An unexpected error occurred",
    502: "Upstream service error",
    503: "Service temporarily unavailable",
    504: "Upstream service timeout",
}

# What each Werkzeug error means, written for an API's clients: Werkzeug's own
# descriptions address a person at a browser ("If you entered the URL
# manually ..."). A status missing here falls back to Werkzeug's text.
_DESCRIPTIONS: t.Final = {
    400: "The request could not be understood: its syntax, framing or parameters are malformed.",
    401: (
        "The request carries no credentials, or credentials that are wrong, expired or revoked;"
        " the WWW-Authenticate header names the scheme to use."
    ),
    403: "The credentials are valid but do not allow this operation on this resource.",
    404: "Nothing exists at the requested path: an unknown endpoint, or an unknown id in it.",
    405: (
        "The endpoint does not accept the request's HTTP method; the Allow header lists the"
        " methods it accepts."
    ),
    406: "The endpoint cannot answer in any of the media types the Accept header lists.",
    408: "The client did not send the complete request within the time the server waits.",
    409: (
        "The request conflicts with the current state of the resource, for example a concurrent"
        " change; read the resource again before retrying."
    ),
    410: "The resource existed but has been removed for good; do not repeat the request.",
    411: "A request with this method must give its body size in a Content-Length header.",
    412: (
        "A precondition of the request (If-Match, If-Unmodified-Since ...) does not hold for"
        " the resource's current state."
    ),
    413: "The request body is larger than the endpoint accepts.",
    414: "The request URL is longer than the server accepts.",
    415: "The request body's Content-Type is not one the endpoint accepts.",
    416: "The Range header asks for a part of the resource that does not exist.",
    417: "The server cannot meet the expectation given in the request's Expect header.",
    418: "The server is a teapot and will not brew coffee (RFC 2324).",
    421: "The request reached a server that does not answer for its scheme and host.",
    422: (
        "The request is well-formed, but its content cannot be processed, for example values"
        " that contradict each other."
    ),
    423: "The resource is locked and cannot be changed now.",
    424: "The operation depended on another operation, which failed.",
    428: "The request must be conditional: send it with If-Match or If-Unmodified-Since.",
    429: (
        "The client sent more requests than its rate limit allows; retry after the seconds"
        " Retry-After gives."
    ),
    431: "The request's header fields, one of them or all together, are larger than allowed.",
    451: "The resource cannot be served for legal reasons.",
    500: (
        "The server failed unexpectedly while handling the request; the error id in the body"
        " finds the failure in the server's log."
    ),
    501: "The server does not implement the operation the request asks for.",
    502: "A service the server depends on answered with an error or an invalid response.",
    503: (
        "The service cannot handle requests for now (maintenance or overload); retry later,"
        " after Retry-After when it is given."
    ),
    504: "A service the server depends on did not answer in time.",
    505: "The server does not support the HTTP version the request uses.",
}

_GROUP_BY_STATUS: t.Final = {
    401: "authentication",
    403: "authentication",
    404: "resource",
    410: "resource",
    413: "validation",
    415: "validation",
    422: "validation",
    429: "rate_limiting",
    500: "processing",
    502: "upstream",
    504: "upstream",
    503: "availability",
}


_EXTRA_SPECS: t.Final = (
    ErrorSpec(
        "invalid_json",
        400,
        "Request body contains invalid JSON",
        "The body is declared as JSON but does not parse (or is not UTF-8).",
        group="validation",
        example_details={"json_error": "Expecting ',' delimiter: line 3 column 5 (char 45)"},
    ),
    ErrorSpec(
        "validation_error",
        400,
        "Request validation failed",
        "One or more fields of the request failed validation.",
        group="validation",
        example_details={
            "validation_errors": [
                {"field": "model", "message": "Field required", "invalid_value": None}
            ]
        },
    ),
    ErrorSpec(
        "insufficient_storage",
        507,
        "Insufficient storage space",
        "There is not enough storage space left to keep what the request sends.",
        group="processing",
        example_details={"required": 1048576, "available": 524288},
    ),
    ErrorSpec(
        "concurrent_limit_exceeded",
        429,
        "Too many concurrent requests",
        "More requests of this client are in flight than the concurrency limit allows.",
        group="rate_limiting",
        example_details={"concurrent_limit": 5, "current_concurrent": 6, "retry_after": 10},
        headers=("Retry-After",),
    ),
)

# Richer documentation for some Werkzeug codes.
_EXAMPLES: t.Final[dict[str, dict[str, t.Any]]] = {
    "not_found": {
        "message": "Endpoint not found",
        "details": {"path": "/invalid/endpoint", "method": "GET"},
    },
    "method_not_allowed": {"details": {"method": "DELETE", "allowed_methods": ["GET", "POST"]}},
    "payload_too_large": {
        "details": {"body_size": 1048576, "max_size": 1000000, "size_limit": "1MB"},
    },
    "unsupported_media_type": {
        "details": {"provided_type": "text/plain", "expected_types": ["application/json"]},
    },
    "internal_server_error": {
        "details": {
            "error_id": "err_abc123",
            "support_message": "Please contact support with this error ID",
        },
    },
    "bad_gateway": {
        "message": "External service error",
        "details": {
            "service": "search",
            "upstream_status": 503,
            "upstream_message": "Service temporarily unavailable",
        },
    },
    "service_unavailable": {
        "message": "Service temporarily unavailable for maintenance",
        "details": {
            "maintenance_window": "2023-12-01T10:00:00Z to 2023-12-01T11:00:00Z",
            "estimated_completion": "2023-12-01T11:00:00Z",
        },
    },
    "gateway_timeout": {
        "message": "Model response timeout",
        "details": {"model": "model-1", "timeout_duration": 60},
    },
    "rate_limit_exceeded": {
        "details": {
            "limit": 100,
            "remaining": 0,
            "reset_at": "2023-12-01T10:05:00Z",
            "retry_after": 45,
        },
    },
}

_HEADERS: t.Final = {
    "method_not_allowed": ("Allow",),
    "unauthorized": ("WWW-Authenticate",),
    "rate_limit_exceeded": (
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ),
    "service_unavailable": ("Retry-After",),
}


def builtin_specs() -> list[ErrorSpec]:
    specs = []
    for status, cls in sorted(default_exceptions.items()):
        code = code_for_exception_class(cls)
        example = _EXAMPLES.get(code, {})
        specs.append(
            ErrorSpec(
                code=code,
                status=status,
                message=_MESSAGES.get(status, reason_phrase(status)),
                description=_DESCRIPTIONS.get(status)
                or re.sub(r"<[^>]+>", "", cls.description or reason_phrase(status)),
                group=_GROUP_BY_STATUS.get(status, "http"),
                example_details=example.get("details", {}),
                example_message=example.get("message"),
                headers=_HEADERS.get(code, ()),
            )
        )
    return [*specs, *_EXTRA_SPECS]
