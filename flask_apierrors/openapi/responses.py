"""OpenAPI ``components`` of a :class:`~flask_apierrors.docgen.Reference`:
a schema per format used, a reusable response per catalog code (with its
example body), and a generic ``Error`` response per app or blueprint
override.

.. versionadded:: 0.1
"""

from __future__ import annotations

import re
import typing as t

from ..catalog import ErrorSpec
from ..catalog import reason_phrase
from ..docgen import HEADER_DESCRIPTIONS
from ..docgen import TEMPLATE_SPEC
from ..docgen import Reference
from ..docgen import example_problem
from ..docgen import format_for
from ..docgen import format_name
from ..docgen import path_of
from ..docgen import render
from ..formats import BUILTIN
from ..formats import PROBLEM_JSON
from ..formats import Format
from ..formats import build_format
from ..formats import format_options
from ..sse import spelled_code
from ..state import Scope
from .schemas import ERROR_DETAILS
from .schemas import FIELD_ERROR
from .schemas import SCHEMA_NAMES
from .schemas import _component_ref
from .schemas import body_schema
from .schemas import details_schema
from .schemas import field_error_schema

#: The generic error response of the app (blueprints: ``<blueprint>.Error``).
ERROR_RESPONSE: t.Final = "Error"


def _pin(path: tuple[str, ...], value: t.Any) -> dict[str, t.Any]:
    schema: dict[str, t.Any] = {"enum": [value]}
    for key in reversed(path):
        schema = {"properties": {key: schema}}
    return schema


def _any_of(schemas: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def _response_ref(name: str) -> dict[str, t.Any]:
    return {"$ref": f"#/components/responses/{name}"}


def component_name(text: str) -> str:
    """A component name from a code or blueprint: ``job_not_found`` ->
    ``JobNotFound``."""
    name = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text))
    return name or "Error"


def scope_prefix(scope: Scope) -> str:
    """The prefix of a blueprint scope's response names (``images.``; none
    for the app)."""
    if scope.name is None:
        return ""
    return re.sub(r"[^A-Za-z0-9._-]", "_", scope.name) + "."


def response_name(spec: ErrorSpec, scope: Scope | None = None) -> str:
    """The response component of ``spec`` (``NotFound``; ``images.JobNotFound``
    for a blueprint whose body differs from the app's)."""
    return (scope_prefix(scope) if scope is not None else "") + component_name(spec.code)


def _known_name(spec: ErrorSpec, scope: Scope, responses: t.Mapping[str, t.Any]) -> str:
    """The response of ``spec`` in ``scope`` if ``responses`` has one, else the app's."""
    name = response_name(spec, scope)
    return name if name in responses else response_name(spec)


class _Builder:
    """Builds components for a :class:`Reference`."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.schemas: dict[str, t.Any] = {
            FIELD_ERROR: field_error_schema(),
            ERROR_DETAILS: details_schema(),
        }
        self.responses: dict[str, t.Any] = {}
        self._shapes: dict[tuple[int, str | None], str | None] = {}

    def shape(self, scope: Scope, spec: ErrorSpec | None) -> str | None:
        """The built-in format whose shape the bodies of ``spec`` have in
        ``scope``: the configured one, or for a format of your own the
        built-in one that renders the same example body (``None`` if none)."""
        name = format_name(scope, spec)
        if name in BUILTIN:
            return name
        key = (id(scope), spec.code if spec is not None else None)
        if key not in self._shapes:
            problem = example_problem(spec or TEMPLATE_SPEC, scope.settings)
            body = render(self.format_for(scope, spec), problem)
            self._shapes[key] = next(
                (
                    candidate
                    for candidate in BUILTIN
                    for upper in (scope.settings.uppercase_codes, True, False)
                    if render(_builtin(candidate, scope, upper), problem) == body
                ),
                None,
            )
        return self._shapes[key]

    def format_for(self, scope: Scope, spec: ErrorSpec | None = None) -> Format:
        return format_for(scope, spec, self.reference.formats)

    def _body_ref(self, name: str, scope: Scope) -> dict[str, t.Any]:
        """A reference to the schema of built-in format ``name``'s body with
        ``scope``'s settings, added to the components on first use."""
        key = SCHEMA_NAMES[name]
        if not scope.settings.include_correlation_id:
            key += "NoCorrelationId"
        if key not in self.schemas:
            self.schemas[key] = body_schema(
                name, include_correlation_id=scope.settings.include_correlation_id
            )
        return _component_ref(key)

    def headers(self, spec: ErrorSpec | None, scope: Scope) -> dict[str, t.Any]:
        rv: dict[str, t.Any] = {
            scope.settings.response_id_header: {
                "description": "The request's correlation id.",
                "schema": {"type": "string"},
            }
        }
        for name in spec.headers if spec is not None else ():
            schema = {"type": "string"}
            if name.lower() == "retry-after":
                schema["pattern"] = "^[0-9]+$"
            rv[name] = {
                "description": HEADER_DESCRIPTIONS.get(name.lower(), name),
                "schema": schema,
            }
        return rv

    def code_response(self, spec: ErrorSpec, scope: Scope) -> dict[str, t.Any]:
        fmt = self.format_for(scope, spec)
        problem = example_problem(spec, scope.settings)
        body = render(fmt, problem)
        shape = self.shape(scope, spec)
        schema: dict[str, t.Any] = {"type": "object"}
        if shape is not None:
            ref = self._body_ref(shape, scope)
            code = spelled_code(body, spec.code)
            path = path_of(body, code)
            if path is not None:
                pins = [_pin(path, code)]
                if shape == "problem":
                    pins.append(_pin(("status",), problem.status))
                schema = {"allOf": [ref, *pins]}
        content = {fmt.media_type: {"example": body, "schema": schema}}
        if scope.settings.problem_on_accept and fmt.media_type != PROBLEM_JSON:
            problem_body = render(format_for(scope, name="problem"), problem)
            content[PROBLEM_JSON] = {
                "schema": {
                    "allOf": [
                        self._body_ref("problem", scope),
                        _pin(("code",), problem_body["code"]),
                        _pin(("status",), problem.status),
                    ]
                },
                "example": problem_body,
            }
        description = " ".join((spec.description or spec.message).split())
        return {
            "description": f"{problem.status} {reason_phrase(problem.status)}: {description}",
            "headers": self.headers(spec, scope),
            "content": content,
        }

    def generic_response(self, scope: Scope) -> dict[str, t.Any]:
        media_types: dict[str, list[dict[str, t.Any]]] = {}
        # Media types with a body of no known shape: any object.
        free: set[str] = set()
        for spec in (None, *self.reference.catalog):
            shape = self.shape(scope, spec)
            media_type = self.format_for(scope, spec).media_type
            bucket = media_types.setdefault(media_type, [])
            if shape is None:
                free.add(media_type)
            elif (ref := self._body_ref(shape, scope)) not in bucket:
                bucket.append(ref)
        if scope.settings.problem_on_accept:
            bucket = media_types.setdefault(PROBLEM_JSON, [])
            problem = self._body_ref("problem", scope)
            if problem not in bucket:
                bucket.append(problem)
        content: dict[str, t.Any] = {}
        for media_type, bucket in media_types.items():
            schema = {"type": "object"} if media_type in free else _any_of(bucket)
            content[media_type] = {"schema": schema}
        where = "this API" if scope.name is None else f"blueprint {scope.name}"
        return {
            "description": f"An error of {where}.",
            "headers": self.headers(None, scope),
            "content": content,
        }

    def build(self) -> dict[str, t.Any]:
        reference = self.reference
        app = reference.app_scope
        for scope in reference.scopes:
            self.responses[scope_prefix(scope) + ERROR_RESPONSE] = self.generic_response(scope)
        for spec in reference.specs():
            app_response = self.code_response(spec, app)
            self._add_response(response_name(spec), app_response)
            for scope in reference.scopes[1:]:
                response = self.code_response(spec, scope)
                if response != app_response:
                    self._add_response(response_name(spec, scope), response)
        return {"schemas": self.schemas, "responses": self.responses}

    def _add_response(self, name: str, response: dict[str, t.Any]) -> None:
        base, n = name, 2
        while name in self.responses:
            name = f"{base}{n}"
            n += 1
        self.responses[name] = response


def _builtin(name: str, scope: Scope, upper: bool | None) -> Format:
    return build_format(name, **{**format_options(scope.settings), "uppercase_codes": upper})


def components(reference: Reference | None = None) -> dict[str, t.Any]:
    """OpenAPI ``components`` for ``reference`` (default: the built-in codes
    with default settings): ``schemas`` (one per format used, plus
    ``FieldError`` and ``ErrorDetails``) and ``responses`` (``Error``, and one
    per code, such as ``NotFound``; blueprint scopes add ``<blueprint>.Error``
    and ``<blueprint>.<Code>`` where their bodies differ).
    """
    if reference is None:
        reference = Reference.from_settings()
    return _Builder(reference).build()
