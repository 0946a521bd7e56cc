"""The error catalog: every code an app can answer with, in one place.

The catalog is the single source of truth: handlers read status and default
message from it, and the docs generator reads it to write the error
reference. It holds no Flask objects.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from http import HTTPStatus
from types import MappingProxyType

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions

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


def reason_phrase(status: int) -> str:
    """The HTTP reason phrase for ``status`` (``"Unknown Error"`` if none)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"


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


# Werkzeug classes whose code the chat API documentation spells differently from the
# class name.
_RENAMED: t.Final = {
    413: "payload_too_large",
    414: "uri_too_long",
    416: "range_not_satisfiable",
    429: "rate_limit_exceeded",
}

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
    if cls.code in _RENAMED and default_exceptions.get(cls.code) is cls:
        return _RENAMED[cls.code]
    return snake_case(cls.__name__)


def _werkzeug_specs() -> list[ErrorSpec]:
    specs = []
    for status, cls in sorted(default_exceptions.items()):
        specs.append(
            ErrorSpec(
                code=code_for_exception_class(cls),
                status=status,
                message=_MESSAGES.get(status, reason_phrase(status)),
                description=_plain(cls.description or reason_phrase(status)),
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
            "service": "perplexity_search",
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
        "message": "AI model response timeout",
        "details": {"model": "Melanie-3", "timeout_duration": 60},
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
