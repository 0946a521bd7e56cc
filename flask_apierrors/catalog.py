"""The error catalog: every code an app can answer with, in one place.

The catalog is the single source of truth: handlers read status and default
message from it, and the docs generator reads it to write the error
reference. It holds no Flask objects.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from types import MappingProxyType

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions

from .statuses import code_for_status
from .statuses import reason_phrase as reason_phrase

#: Groups the error reference is ordered by.
GROUPS: t.Final = (
    "authentication",
    "validation",
    "resource",
    "rate_limiting",
    "processing",
    "upstream",
    "availability",
    "http",
    "custom",
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``MethodNotAllowed`` -> ``method_not_allowed``; ``HTTPVersionNotSupported``
    -> ``http_version_not_supported``."""
    return _CAMEL.sub("_", name).lower()


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One documented error code.

    :param code: The machine code, spelled as clients will see it.
    :param status: The HTTP status it answers with.
    :param message: The default sentence for the client.
    :param description: When this error happens (for the docs).
    :param group: One of :data:`GROUPS`, for the docs.
    :param example_details: ``details`` of the documented example.
    :param example_message: The documented example's message, when it
        differs from the default.
    :param format: The format this code always renders in (a legacy
        contract), or ``None`` to follow the blueprint or app.
    :param headers: Names of the headers this error carries (for the docs).
    """

    code: str
    status: int
    message: str
    description: str = ""
    group: str = "custom"
    example_details: t.Mapping[str, t.Any] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    example_message: str | None = None
    format: str | None = None
    headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.code or not isinstance(self.code, str):
            raise ValueError("An error code must be a non-empty string.")
        if not 400 <= self.status <= 599:
            raise ValueError(
                f"Error code {self.code!r}: status {self.status} is not an HTTP error"
                " status (400-599)."
            )
        if self.group not in GROUPS:
            raise ValueError(f"Error code {self.code!r}: group must be one of {GROUPS}.")
        # Freeze the example so a shared spec can't be changed through it.
        object.__setattr__(self, "example_details", MappingProxyType(dict(self.example_details)))

    @property
    def title(self) -> str:
        """The HTTP reason phrase of :attr:`status`."""
        return reason_phrase(self.status)


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


def code_for_exception_class(cls: type[HTTPException]) -> str:
    """The built-in code of a Werkzeug exception class."""
    if cls.code is not None and default_exceptions.get(cls.code) is cls:
        return code_for_status(cls.code)
    return snake_case(cls.__name__)


def _werkzeug_specs() -> list[ErrorSpec]:
    specs = []
    for status, cls in sorted(default_exceptions.items()):
        specs.append(
            ErrorSpec(
                code=code_for_exception_class(cls),
                status=status,
                message=_MESSAGES.get(status, reason_phrase(status)),
                description=_DESCRIPTIONS.get(status)
                or _plain(cls.description or reason_phrase(status)),
                group=_GROUP_BY_STATUS.get(status, "http"),
            )
        )
    return specs


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


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


def _builtin_specs() -> list[ErrorSpec]:
    specs = []
    for spec in _werkzeug_specs():
        example = _EXAMPLES.get(spec.code, {})
        spec = dataclasses.replace(
            spec,
            example_details=example.get("details", {}),
            example_message=example.get("message"),
            headers=_HEADERS.get(spec.code, ()),
        )
        specs.append(spec)
    specs.extend(_EXTRA_SPECS)
    return specs


class Catalog:
    """An ordered, case-insensitive collection of :class:`ErrorSpec`.

    ``Catalog()`` is empty; :meth:`Catalog.default` holds a code for every
    Werkzeug error plus ``invalid_json``, ``validation_error``,
    ``insufficient_storage`` (507) and ``concurrent_limit_exceeded``. Codes
    are looked up case-insensitively, so ``NOT_FOUND`` finds ``not_found``.
    """

    def __init__(self, specs: t.Iterable[ErrorSpec] = ()) -> None:
        self._specs: dict[str, ErrorSpec] = {}
        self._by_status: dict[int, ErrorSpec] = {}
        for spec in specs:
            self.register(spec)

    @classmethod
    def default(cls) -> Catalog:
        """A new catalog with the built-in codes."""
        return cls(_builtin_specs())

    def register(self, spec: ErrorSpec) -> ErrorSpec:
        """Add ``spec``, replacing a spec of the same code."""
        self._specs[spec.code.lower()] = spec
        current = self._by_status.get(spec.status)
        # The code Werkzeug's own exception of a status maps to stays the
        # status' default; a custom code never displaces it.
        if current is None or current.code.lower() == spec.code.lower():
            self._by_status[spec.status] = spec
        return spec

    def add(
        self,
        code: str,
        status: int,
        message: str,
        *,
        description: str = "",
        group: str = "custom",
        example_details: t.Mapping[str, t.Any] | None = None,
        example_message: str | None = None,
        format: str | None = None,
        headers: t.Sequence[str] = (),
    ) -> ErrorSpec:
        """Create and register an :class:`ErrorSpec`; returns it."""
        return self.register(
            ErrorSpec(
                code=code,
                status=status,
                message=message,
                description=description,
                group=group,
                example_details=example_details or {},
                example_message=example_message,
                format=format,
                headers=tuple(headers),
            )
        )

    def get(self, code: str) -> ErrorSpec | None:
        """The spec of ``code`` (any case), or ``None``."""
        return self._specs.get(code.lower())

    def __getitem__(self, code: str) -> ErrorSpec:
        spec = self.get(code)
        if spec is None:
            raise KeyError(code)
        return spec

    def for_status(self, status: int) -> ErrorSpec | None:
        """The default spec for an HTTP status, or ``None``."""
        return self._by_status.get(status)

    def copy(self) -> Catalog:
        """A shallow copy (specs are immutable)."""
        new = Catalog()
        new._specs = dict(self._specs)
        new._by_status = dict(self._by_status)
        return new

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.lower() in self._specs

    def __iter__(self) -> t.Iterator[ErrorSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"<Catalog of {len(self)} codes>"
