"""The exceptions of failed calls to other services: 502, 503 and 504.

Each class renders the details its documented body asks for; the status
phrases shown as ``upstream_message`` are short and fixed, never the
upstream's own text.
"""

from __future__ import annotations

import functools
import typing as t
from types import MappingProxyType

from flask import has_app_context

from ..catalog import Catalog
from ..catalog import ErrorSpec
from ..catalog import reason_phrase
from ..errors import ApiError
from ..state import find_state

__all__ = [
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "upstream_phrase",
]

# Short, fixed phrases for an upstream's status: clients never see the
# upstream's own text, which may hold anything.
_STATUS_PHRASES: t.Final = MappingProxyType(
    {
        400: "Bad request",
        401: "Authentication failed",
        403: "Access denied",
        404: "Not found",
        408: "Request timeout",
        409: "Conflict",
        413: "Request too large",
        422: "Unprocessable request",
        429: "Rate limit exceeded",
        500: "Internal server error",
        501: "Not implemented",
        502: "Bad gateway",
        503: "Service temporarily unavailable",
        504: "Gateway timeout",
    }
)


def upstream_phrase(status: int) -> str:
    """The phrase shown as ``upstream_message`` for an upstream ``status``."""
    return _STATUS_PHRASES.get(status) or reason_phrase(status)


@functools.cache
def _builtin_catalog() -> Catalog:
    return Catalog.default()


def _spec(code: str) -> ErrorSpec | None:
    """The spec of ``code`` in the current app's catalog, else the built-ins."""
    state = find_state() if has_app_context() else None
    return (state.catalog if state is not None else _builtin_catalog()).get(code)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 3)


class UpstreamError(ApiError):
    """A call to another service failed (502 ``bad_gateway``).

    Details are ``{"service": service, **details, **fields}`` where the
    fields depend on the subclass; ``rename`` renames fields (or drops them,
    with ``None``) to fit a documented shape.

    :param service: The name clients see (``"payments"``, ``"search"``);
        never a URL or host.
    :param message: The sentence for the client; defaults to the catalog's
        message of ``error_code`` if given, else the class's.
    :param details: App context (``{"model": "model-1"}``).
    :param rename: ``{"upstream_message": "error", "service": None}``.
    :param error_code: Another code for this failure (``"PAYMENTS_API_ERROR"``);
        its catalog entry, if any, gives the status, message and format.
    :param headers: Extra response headers.
    :param attempts: How many attempts were made.

    .. versionadded:: 0.1
    """

    error_code = "bad_gateway"
    status = 502
    message = "External service error"
    #: Which of :data:`KINDS` this failure is.
    kind: str = "status"
    #: What the log line adds about the upstream response (URL without
    #: credentials or query, start of the body); never rendered.
    log_info: tuple[str, ...] = ()

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        details: t.Mapping[str, t.Any] | None = None,
        rename: t.Mapping[str, str | None] | None = None,
        error_code: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        attempts: int = 1,
    ) -> None:
        self.service = service
        self.attempts = attempts
        spec = _spec(error_code) if error_code else None
        body: dict[str, t.Any] = {"service": service, **(details or {}), **self.fields()}
        for old, new in (rename or {}).items():
            if old in body:
                value = body.pop(old)
                if new is not None:
                    body[new] = value
        # ApiError falls back to the class's code, message and status. The
        # message is never None: ApiError would take a lone code for it.
        super().__init__(
            error_code,
            message or (spec.message if spec is not None else ""),
            status=spec.status if spec is not None else None,
            details=body,
            headers={**self.extra_headers(), **(headers or {})},
        )

    def fields(self) -> dict[str, t.Any]:
        """The details this kind of failure adds."""
        return {}

    def extra_headers(self) -> dict[str, str]:
        """Headers this kind of failure adds."""
        return {}


class UpstreamConnectionError(UpstreamError):
    """The upstream could not be reached or broke the connection (502).

    :param upstream_error: A fixed phrase: ``"Connection refused"``,
        ``"Connection reset"``, ``"Connection timeout"`` ...
    :param retry_suggested: Tell the client a retry may work.
    """

    error_code = "bad_gateway"
    message = "External service unavailable"
    kind = "connection"

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        upstream_error: str = "Connection failed",
        retry_suggested: bool = True,
        **kwargs: t.Any,
    ) -> None:
        self.upstream_error = upstream_error
        self.retry_suggested = retry_suggested
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {"upstream_error": self.upstream_error, "retry_suggested": self.retry_suggested}


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status (502).

    :param upstream_status: The upstream's status code.
    :param upstream_message: A short phrase for it; defaults to a fixed
        phrase per status (``503`` -> ``"Service temporarily unavailable"``).
    """

    error_code = "bad_gateway"
    kind = "status"

    def __init__(
        self,
        service: str,
        upstream_status: int,
        message: str | None = None,
        *,
        upstream_message: str | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.upstream_status = upstream_status
        self.upstream_message = upstream_message or upstream_phrase(upstream_status)
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {"upstream_status": self.upstream_status, "upstream_message": self.upstream_message}


class UpstreamUnavailableError(UpstreamError):
    """The upstream is rate limiting us or is unavailable, and said when to
    come back (503 ``service_unavailable`` with ``retry_after`` and a
    ``Retry-After`` header).

    :param retry_after: Seconds until a retry may work.
    :param upstream_status: 429 (kind ``rate_limited``) or 503 (``unavailable``).
    :param from_upstream: ``retry_after`` is the upstream's own
        ``Retry-After`` (retries wait for it), not a default.
    """

    error_code = "service_unavailable"
    status = 503
    message = "External service temporarily unavailable"
    kind = "unavailable"

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        retry_after: int = 30,
        upstream_status: int = 503,
        from_upstream: bool = True,
        **kwargs: t.Any,
    ) -> None:
        self.retry_after = max(1, int(retry_after))
        self.from_upstream = from_upstream
        self.upstream_status = upstream_status
        if upstream_status == 429:
            self.kind = "rate_limited"
            message = message or "External service rate limit"
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {"retry_after": self.retry_after}

    def extra_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UpstreamTimeoutError(UpstreamError):
    """The upstream did not answer in time (504 ``gateway_timeout``).

    :param timeout_duration: The timeout, in seconds; left out if unknown.
    """

    error_code = "gateway_timeout"
    status = 504
    message = "External service timeout"
    kind = "timeout"

    def __init__(
        self,
        service: str,
        message: str | None = None,
        *,
        timeout_duration: float | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.timeout_duration = None if timeout_duration is None else _number(timeout_duration)
        super().__init__(service, message, **kwargs)

    def fields(self) -> dict[str, t.Any]:
        return {} if self.timeout_duration is None else {"timeout_duration": self.timeout_duration}
