"""Example bodies, rendered by the same
:class:`~flask_apierrors.formats.Format` objects the error handlers use, so
the reference shows exactly what clients receive.

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import typing as t
from types import MappingProxyType

from ..catalog import Catalog
from ..catalog import ErrorSpec
from ..catalog import reason_phrase
from ..config import Settings
from ..formats import Format
from ..problem import FieldError
from ..problem import Problem
from .reference import Scope

#: The timestamp of every example body.
EXAMPLE_TIMESTAMP: t.Final = "2023-12-01T10:00:00Z"
#: The request path of every example body (the ``problem`` format's ``instance``).
EXAMPLE_INSTANCE: t.Final = "/v1/resource"
#: What follows the correlation id prefix in example bodies.
EXAMPLE_ID_SUFFIX: t.Final = "abc123"

# Where each built-in format puts the correlation id.
_CORRELATION_PATHS: t.Final = MappingProxyType(
    {
        "error": "correlation_id",
        "error_code": "correlation_id",
        "detail": "detail.correlation_id",
        "problem": "correlation_id",
    }
)


def example_correlation_id(settings: Settings) -> str:
    """The correlation id shown in examples: the configured prefix plus
    ``abc123``."""
    return settings.request_id_prefix + EXAMPLE_ID_SUFFIX


def effective_status(spec: ErrorSpec, settings: Settings) -> int:
    """The status ``spec`` answers with under ``settings``: the catalog's,
    except for ``validation_error``, whose status is a setting."""
    if spec.code.lower() == "validation_error":
        return settings.validation_status
    return spec.status


def example_problem(spec: ErrorSpec, settings: Settings) -> Problem:
    """The :class:`Problem` of ``spec``'s documented example, with the
    values the settings put into real bodies (status of validation errors,
    support message, expected content types, correlation id)."""
    status = effective_status(spec, settings)
    details = dict(spec.example_details)
    if "support_message" in details:
        details["support_message"] = settings.support_message
    if "expected_types" in details:
        details["expected_types"] = list(settings.expected_content_types)
    return Problem(
        status=status,
        code=spec.code,
        message=spec.example_message or spec.message,
        title=reason_phrase(status),
        details=details,
        format=spec.format,
        correlation_id=example_correlation_id(settings)
        if settings.include_correlation_id
        else None,
        timestamp=EXAMPLE_TIMESTAMP,
        instance=path if isinstance(path := details.get("path"), str) else EXAMPLE_INSTANCE,
    )


def render(fmt: Format, problem: Problem) -> dict[str, t.Any]:
    """``fmt.render(problem)`` as a plain, JSON-ready ``dict``."""
    rendered: dict[str, t.Any] = json.loads(_dumps(fmt.render(problem)))
    return rendered


def example_body(spec: ErrorSpec, scope: Scope) -> dict[str, t.Any]:
    """The body a client gets for ``spec``'s example in ``scope``."""
    return render(scope.format_for(spec), example_problem(spec, scope.settings))


def examples(
    spec: ErrorSpec, scopes: t.Sequence[Scope]
) -> list[tuple[list[Scope], dict[str, t.Any]]]:
    """The distinct example bodies of ``spec`` across ``scopes``, each with
    the scopes that answer with it (the first one holds the first scope)."""
    rv: list[tuple[list[Scope], dict[str, t.Any]]] = []
    for scope in scopes:
        body = example_body(spec, scope)
        for seen, seen_body in rv:
            if seen_body == body:
                seen.append(scope)
                break
        else:
            rv.append(([scope], body))
    return rv


#: The placeholder error of the "response format" section.
TEMPLATE_SPEC: t.Final = ErrorSpec(
    "error_code",
    400,
    "Human-readable error message",
    example_details={"additional": "context-specific information"},
)


def template_body(scope: Scope) -> dict[str, t.Any]:
    """The generic body of a scope's format, with placeholder values, for
    the "response format" section."""
    return example_body(TEMPLATE_SPEC, scope)


def validation_body(scope: Scope, catalog: Catalog) -> dict[str, t.Any] | None:
    """The body of a validation error with two field errors, or ``None``
    when the catalog has no ``validation_error`` code."""
    spec = catalog.get("validation_error")
    if spec is None:
        return None
    problem = example_problem(spec, scope.settings).replace(
        details={},
        errors=(
            FieldError("messages", "At least one message is required", []),
            FieldError("model", "Invalid model type", "invalid-model"),
        ),
    )
    return render(scope.format_for(spec), problem)


_SENTINEL: t.Final = "cid-8f14e45fceea167a"


def _path_of(body: t.Any, value: str, prefix: str = "") -> str | None:
    if isinstance(body, dict):
        for key, item in body.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if item == value:
                return path
            found = _path_of(item, value, path)
            if found is not None:
                return found
    return None


def correlation_id_paths(scope: Scope, catalog: Catalog) -> list[str]:
    """Where the bodies of ``scope`` put the correlation id
    (``correlation_id``, ``detail.correlation_id`` ...), found by rendering
    every code; several paths when the format's shape depends on the code,
    none when bodies leave it out."""
    if not scope.settings.include_correlation_id:
        return []
    paths: list[str] = []
    for spec in (TEMPLATE_SPEC, *catalog):
        problem = example_problem(spec, scope.settings).replace(correlation_id=_SENTINEL)
        path = _path_of(render(scope.format_for(spec), problem), _SENTINEL)
        if path is not None and path not in paths:
            paths.append(path)
    return paths


def correlation_id_path(format_name: str | None) -> str | None:
    """Where a built-in format puts the correlation id (``detail.correlation_id``
    in the ``detail`` format), or ``None`` for other formats."""
    if format_name is None:
        return None
    return _CORRELATION_PATHS.get(format_name)


def display_code(spec: ErrorSpec, scope: Scope) -> str:
    """The code as the format of ``spec`` in ``scope`` spells it
    (``NOT_FOUND`` in the ``error_code`` format, ``not_found`` in ``error``)."""
    upper = getattr(scope.format_for(spec), "uppercase_codes", False)
    return spec.code.upper() if upper else spec.code


def sse_frames(spec: ErrorSpec, scope: Scope) -> str:
    """The ``event: error`` / ``event: close`` pair a stream ends with when
    ``spec`` happens after the response has started."""
    problem = example_problem(spec, scope.settings)
    data: dict[str, t.Any] = {"code": display_code(spec, scope), "message": problem.message}
    details = problem.public_details()
    if details:
        data["details"] = details
    if problem.correlation_id is not None:
        data["correlation_id"] = problem.correlation_id
    close = _dumps({"reason": "error"})
    return f"event: error\ndata: {_dumps(data)}\n\nevent: close\ndata: {close}\n\n"


def _dumps(value: t.Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=_json_default)


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, t.Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
