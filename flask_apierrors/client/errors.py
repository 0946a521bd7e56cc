"""The exceptions an error response is parsed into, and which class a status
or code gets.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import typing as t

#: Statuses worth retrying: the request was not processed, or a gateway failed.
RETRY_STATUSES: t.Final = frozenset({429, 502, 503, 504})


@dataclasses.dataclass(frozen=True, slots=True)
class FieldViolation:
    """One entry of ``details.validation_errors``.

    :param field: Path of the field (``messages[0].content``).
    :param message: What is wrong with it.
    :param invalid_value: The submitted value as the server echoed it
        (``None`` when missing or redacted to ``None``).
    :param location: ``json``, ``query`` ... when the server says.
    """

    field: str
    message: str
    invalid_value: t.Any = None
    location: str | None = None


class ApiClientError(Exception):
    """An error response, parsed.

    :param message: The server's sentence for the client.
    :param status: The HTTP status.
    :param code: The machine code as the server spelled it
        (``not_found``, ``JOB_NOT_FOUND``).
    :param details: The body's ``details`` (empty when none).
    :param correlation_id: From the body, else from the ``X-Request-ID``
        header; quote it when asking for support.
    :param validation_errors: Field-level errors.
    :param retry_after: Seconds to wait before retrying, when the response
        says (``Retry-After``, ``details.retry_after``, ``X-RateLimit-Reset``).
    :param headers: The response headers, names in lower case.
    :param body: The parsed JSON body (or the start of a non-JSON body).
    :param response: The response object itself.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: t.Mapping[str, t.Any] | None = None,
        correlation_id: str | None = None,
        validation_errors: t.Sequence[FieldViolation] = (),
        retry_after: float | None = None,
        timestamp: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        body: t.Any = None,
        response: t.Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, t.Any] = dict(details or {})
        self.correlation_id = correlation_id
        self.validation_errors = tuple(validation_errors)
        self.retry_after = retry_after
        self.timestamp = timestamp
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.response = response

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status`."""
        return self.status

    @property
    def error_code(self) -> str:
        """Alias of :attr:`code`."""
        return self.code

    @property
    def error_id(self) -> str | None:
        """``details.error_id`` of a 500: the id of the server's log entry."""
        value = self.details.get("error_id")
        return value if isinstance(value, str) else None

    @property
    def retryable(self) -> bool:
        """Whether retrying the same request later may succeed."""
        return self.status in RETRY_STATUSES

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.correlation_id:
            text += f" (correlation id {self.correlation_id})"
        return text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status} {self.code!r}>"


class ClientError(ApiClientError):
    """A 4xx: the request must change before it can succeed."""


class ValidationError(ClientError):
    """400 and 422: the request's data is invalid; see :attr:`validation_errors`."""


class AuthenticationError(ClientError):
    """401 (and authentication codes): missing or invalid credentials."""


class AuthorizationError(ClientError):
    """403: valid credentials without the permission."""


class NotFoundError(ClientError):
    """404: no such resource or endpoint."""


class RateLimitError(ClientError):
    """429: too many requests; wait :attr:`retry_after` seconds."""


class ServerError(ApiClientError):
    """5xx: the server failed; quote :attr:`error_id` and
    :attr:`correlation_id` to support."""


class UpstreamError(ServerError):
    """502 and 504: a service behind the API failed or timed out."""


class ServiceUnavailableError(ServerError):
    """503: maintenance or overload; wait :attr:`retry_after` seconds."""


_STATUS_CLASSES: t.Final[t.Mapping[int, type[ApiClientError]]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
    502: UpstreamError,
    503: ServiceUnavailableError,
    504: UpstreamError,
}

#: Codes whose class differs from their status's (lower case). The code
#: wins: some APIs answer ``AUTHENTICATION_REQUIRED`` with 500.
CODE_CLASSES: t.Final[t.Mapping[str, type[ApiClientError]]] = {
    "validation_error": ValidationError,
    "invalid_json": ValidationError,
    "unauthorized": AuthenticationError,
    "authentication_required": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "forbidden": AuthorizationError,
    "insufficient_permissions": AuthorizationError,
    "not_found": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "concurrent_limit_exceeded": RateLimitError,
    "bad_gateway": UpstreamError,
    "gateway_timeout": UpstreamError,
    "service_unavailable": ServiceUnavailableError,
}


def _class_for(
    status: int, code: str, classes: t.Mapping[str, type[ApiClientError]] | None
) -> type[ApiClientError]:
    key = code.lower()
    for name, cls in (classes or {}).items():
        if name.lower() == key:
            return cls
    found = CODE_CLASSES.get(key) or _STATUS_CLASSES.get(status)
    if found is not None:
        return found
    if 400 <= status < 500:
        return ClientError
    if status >= 500:
        return ServerError
    return ApiClientError
