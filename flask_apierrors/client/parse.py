"""Error responses as exceptions: every body shape the documented APIs use,
parsed into an :class:`~flask_apierrors.client.ApiClientError`.

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t

from ..statuses import code_for_status
from ..statuses import reason_phrase
from .errors import ApiClientError
from .errors import FieldViolation
from .errors import _class_for
from .transport import _content_of
from .transport import _json_body
from .transport import _status_of
from .transport import header
from .transport import retry_after

R = t.TypeVar("R")

#: Headers a correlation id is read from when the body has none.
CORRELATION_HEADERS: t.Final = ("X-Request-ID", "X-Correlation-ID")


@dataclasses.dataclass
class _Fields:
    code: str | None = None
    message: str | None = None
    details: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    correlation_id: str | None = None
    timestamp: str | None = None
    violations: list[FieldViolation] = dataclasses.field(default_factory=list)


def _str(value: t.Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: t.Any) -> dict[str, t.Any]:
    return dict(value) if isinstance(value, dict) else {}


def _fields_in(obj: dict[str, t.Any], code: str | None) -> _Fields:
    return _Fields(
        code=code,
        message=_str(obj.get("message")),
        details=_mapping(obj.get("details")),
        correlation_id=_str(obj.get("correlation_id")),
    )


def _fields_of(body: t.Any) -> _Fields:
    """The code, message, details ... of any known body shape."""
    if not isinstance(body, dict):
        return _Fields()
    detail = body.get("detail")
    error = body.get("error")
    if isinstance(detail, dict) and ("code" in detail or "message" in detail):
        # {"detail": {"code": CODE, "message", "details", "correlation_id"}}
        f = _fields_in(detail, _str(detail.get("code")))
    elif error is True or "error_code" in body:
        # {"error": true, "error_code": CODE, "message", "details"}
        f = _fields_in(body, _str(body.get("error_code")))
    elif isinstance(error, str):
        # {"error": code, "message", "details", "timestamp"}
        f = _fields_in(body, error)
    elif isinstance(error, dict):
        # {"error": {"code", "message", "details"}}, common elsewhere.
        f = _fields_in(error, _str(error.get("code")) or _str(error.get("type")))
    elif "title" in body and ("type" in body or "status" in body):
        # RFC 9457 problem details.
        f = _Fields(
            code=_str(body.get("code")) or _code_from_type(body.get("type")),
            message=_str(body.get("detail")) or _str(body.get("title")),
            details=_mapping(body.get("details")),
        )
    elif isinstance(detail, str):
        f = _Fields(message=detail)
    elif isinstance(detail, list):
        # A list of {"loc": [...], "msg": ...} validation errors.
        f = _Fields(
            code="validation_error",
            message="Request validation failed",
            violations=[_violation_from_loc(item) for item in detail if isinstance(item, dict)],
        )
    else:
        f = _fields_in(body, None)
    f.correlation_id = (
        f.correlation_id
        or _str(body.get("correlation_id"))
        or _str(f.details.get("correlation_id"))
    )
    f.timestamp = _str(body.get("timestamp"))
    if not f.violations:
        items = f.details.get("validation_errors")
        if isinstance(items, list):
            f.violations = [_violation(item) for item in items if isinstance(item, dict)]
    return f


def _peek_details(response: t.Any) -> dict[str, t.Any] | None:
    """The ``details`` of a JSON error body; ``None`` when empty or not JSON
    (a body that is not JSON has no fields)."""
    return _fields_of(_json_body(_content_of(response))[0]).details or None


def _code_from_type(value: t.Any) -> str | None:
    text = _str(value)
    if text is None or text == "about:blank":
        return None
    return text.rstrip("/").rpartition("/")[2].rpartition("#")[2] or None


def _violation(item: dict[str, t.Any]) -> FieldViolation:
    return FieldViolation(
        field=str(item.get("field", "")),
        message=str(item.get("message", "")),
        invalid_value=item.get("invalid_value"),
        location=_str(item.get("location")),
    )


def _violation_from_loc(item: dict[str, t.Any]) -> FieldViolation:
    loc = item.get("loc")
    parts = [str(p) for p in loc] if isinstance(loc, list) else []
    location = parts.pop(0) if parts and parts[0] in ("body", "query", "path", "header") else None
    field = ""
    for part in parts:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    return FieldViolation(
        field=field,
        message=str(item.get("msg", "")),
        invalid_value=item.get("input"),
        location=location,
    )


def parse_error(
    response: t.Any,
    *,
    classes: t.Mapping[str, type[ApiClientError]] | None = None,
    body: t.Any = dataclasses.MISSING,
) -> ApiClientError:
    """The exception for an error response (which must be >= 400).

    :param response: A requests, httpx or Werkzeug response.
    :param classes: Extra ``code -> exception class`` entries (any case);
        they win over :data:`CODE_CLASSES` and the status.
    :param body: The parsed body, if already read.
    """
    status = _status_of(response)
    if body is dataclasses.MISSING:
        body, _ = _json_body(_content_of(response))
    f = _fields_of(body)
    code = f.code or code_for_status(status)
    message = f.message or f"HTTP {status} {reason_phrase(status, 'Error')}"
    correlation_id = f.correlation_id
    if correlation_id is None:
        for name in CORRELATION_HEADERS:
            correlation_id = header(response, name)
            if correlation_id:
                break
    try:
        headers = {str(k): str(v) for k, v in response.headers.items()}
    except Exception:  # no headers, or an exotic headers object
        headers = {}
    return _class_for(status, code, classes)(
        message,
        status=status,
        code=code,
        details=f.details,
        correlation_id=correlation_id,
        validation_errors=f.violations,
        retry_after=retry_after(response, f.details),
        timestamp=f.timestamp,
        headers=headers,
        body=body,
        response=response,
    )


def error_from_response(
    response: t.Any, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> ApiClientError | None:
    """``None`` for a success (status below 400), else the parsed
    :class:`ApiClientError` (not raised)."""
    if _status_of(response) < 400:
        return None
    return parse_error(response, classes=classes)


def raise_for_error(
    response: R, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> R:
    """Raise the parsed :class:`ApiClientError` of an error response; return
    the response otherwise, so calls chain::

        data = raise_for_error(client.get("/jobs/42")).json()
    """
    error = error_from_response(response, classes=classes)
    if error is not None:
        raise error
    return response


async def aerror_from_response(
    response: t.Any, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> ApiClientError | None:
    """:func:`error_from_response` for an httpx ``AsyncClient`` response,
    reading a streamed body first."""
    if _status_of(response) < 400:
        return None
    aread = getattr(response, "aread", None)
    if callable(aread):
        with contextlib.suppress(Exception):  # closed or already consumed: parse what is there
            await aread()
    return parse_error(response, classes=classes)


async def araise_for_error(
    response: R, *, classes: t.Mapping[str, type[ApiClientError]] | None = None
) -> R:
    """:func:`raise_for_error` for an httpx ``AsyncClient`` response."""
    error = await aerror_from_response(response, classes=classes)
    if error is not None:
        raise error
    return response
