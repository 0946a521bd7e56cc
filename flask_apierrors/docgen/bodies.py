"""Example bodies, rendered by the same
:class:`~flask_apierrors.formats.Format` objects the error handlers use, so
the reference shows exactly what clients receive. Examples keep the key
order of their format (they are documentation: an app's JSON provider may
sort the keys of real responses).

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import typing as t

from .. import sse
from ..catalog import Catalog
from ..catalog import ErrorSpec
from ..config import Settings
from ..formats import Format
from ..integrations.base import Context
from ..problem import FieldError
from ..problem import Problem
from ..rendering import dumps
from ..state import Scope
from .reference import format_for

#: The formats registered by name (:attr:`~flask_apierrors.docgen.Reference.formats`).
_Formats: t.TypeAlias = "t.Mapping[str, Format] | None"

#: The timestamp of every example body.
EXAMPLE_TIMESTAMP: t.Final = "2023-12-01T10:00:00Z"
#: The request path of every example body (the ``problem`` format's ``instance``).
EXAMPLE_INSTANCE: t.Final = "/v1/resource"
#: What follows the correlation id prefix in example bodies.
EXAMPLE_ID_SUFFIX: t.Final = "abc123"


def example_correlation_id(settings: Settings) -> str:
    """The correlation id shown in examples: the configured prefix plus
    ``abc123``."""
    return settings.request_id_prefix + EXAMPLE_ID_SUFFIX


def _context(spec: ErrorSpec, settings: Settings, instance: str | None = None) -> Context:
    """The Context of an example error: the handler's, with the example's
    correlation id and time."""
    return Context(
        catalog=Catalog((spec,)),
        settings=settings,
        correlation_id=example_correlation_id(settings),
        timestamp=EXAMPLE_TIMESTAMP,
        instance=instance,
    )


def effective_status(spec: ErrorSpec, settings: Settings) -> int:
    """The status ``spec`` answers with under ``settings``, as the handlers
    decide it: the catalog's, except for ``validation_error``, whose status
    is a setting."""
    return _context(spec, settings).problem(spec.code).status


def example_problem(spec: ErrorSpec, settings: Settings) -> Problem:
    """The :class:`Problem` of ``spec``'s documented example, made as the
    handlers make one, with the values the settings put into real bodies
    (status of validation errors, support message, expected content types,
    correlation id)."""
    details = dict(spec.example_details)
    if "support_message" in details:
        details["support_message"] = settings.support_message
    if "expected_types" in details:
        details["expected_types"] = list(settings.expected_content_types)
    path = details.get("path")
    ctx = _context(spec, settings, path if isinstance(path, str) else EXAMPLE_INSTANCE)
    return ctx.problem(spec.code, message=spec.example_message or spec.message, details=details)


def render(fmt: Format, problem: Problem) -> dict[str, t.Any]:
    """``fmt.render(problem)`` as plain JSON data (through the one encoder
    of :mod:`flask_apierrors.rendering`), keys in the format's order."""
    rendered: dict[str, t.Any] = json.loads(dumps(fmt.render(problem)))
    return rendered


def example_body(spec: ErrorSpec, scope: Scope, formats: _Formats = None) -> dict[str, t.Any]:
    """The body a client gets for ``spec``'s example in ``scope``."""
    return render(format_for(scope, spec, formats), example_problem(spec, scope.settings))


def examples(
    spec: ErrorSpec, scopes: t.Sequence[Scope], formats: _Formats = None
) -> list[tuple[list[Scope], dict[str, t.Any]]]:
    """The distinct example bodies of ``spec`` across ``scopes``, each with
    the scopes that answer with it (the first one holds the first scope)."""
    rv: list[tuple[list[Scope], dict[str, t.Any]]] = []
    for scope in scopes:
        body = example_body(spec, scope, formats)
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


def template_body(scope: Scope, formats: _Formats = None) -> dict[str, t.Any]:
    """The generic body of a scope's format, with placeholder values, for
    the "response format" section."""
    return example_body(TEMPLATE_SPEC, scope, formats)


def validation_body(
    scope: Scope, catalog: Catalog, formats: _Formats = None
) -> dict[str, t.Any] | None:
    """The body of a validation error with two field errors, or ``None``
    when the catalog has no ``validation_error`` code."""
    spec = catalog.get("validation_error")
    if spec is None:
        return None
    problem = example_problem(spec, scope.settings).replace(
        details={},
        errors=(
            FieldError("items", "At least one item is required", []),
            FieldError("kind", "Invalid kind", "invalid-kind"),
        ),
    )
    return render(format_for(scope, spec, formats), problem)


_SENTINEL: t.Final = "cid-8f14e45fceea167a"


def path_of(body: t.Any, value: t.Any) -> tuple[str, ...] | None:
    """The keys that lead to ``value`` in ``body`` (``("detail", "code")``),
    depth first, or ``None``."""
    if isinstance(body, dict):
        for key, item in body.items():
            if item == value:
                return (key,)
            found = path_of(item, value)
            if found is not None:
                return (key, *found)
    return None


def correlation_id_paths(scope: Scope, catalog: Catalog, formats: _Formats = None) -> list[str]:
    """Where the bodies of ``scope`` put the correlation id
    (``correlation_id``, ``detail.correlation_id`` ...), found by rendering
    every code; several paths when the format's shape depends on the code,
    none when bodies leave it out."""
    if not scope.settings.include_correlation_id:
        return []
    paths: dict[str, None] = {}
    for spec in (TEMPLATE_SPEC, *catalog):
        problem = example_problem(spec, scope.settings).replace(correlation_id=_SENTINEL)
        keys = path_of(render(format_for(scope, spec, formats), problem), _SENTINEL)
        if keys is not None:
            paths[".".join(keys)] = None
    return list(paths)


def display_code(spec: ErrorSpec, scope: Scope, formats: _Formats = None) -> str:
    """The code as the format of ``spec`` in ``scope`` spells it
    (``NOT_FOUND`` in the ``error_code`` format, ``not_found`` in ``error``)."""
    return sse.spelled_code(example_body(spec, scope, formats), spec.code)


def sse_frames(spec: ErrorSpec, scope: Scope, formats: _Formats = None) -> str:
    """The ``event: error`` / ``event: close`` pair a stream ends with when
    ``spec`` happens after the response has started (the data in its
    documented key order; a stream writes it as the app writes JSON)."""
    problem = example_problem(spec, scope.settings)
    body = render(format_for(scope, spec, formats), problem)
    data = dumps(sse.event_data(problem, body=body))
    return sse.sse_event(data, event="error") + sse.close_event("error")
