"""OpenAPI for error bodies: JSON Schemas, components, documents, and an
apispec plugin.

- :func:`json_schema` is a self-contained JSON Schema (2020-12) of one
  built-in format's body, for validating responses in tests.
- :func:`components` gives OpenAPI ``components``: a schema per format, and
  a reusable response per catalog code (with its example body) plus a
  generic ``Error`` response per app or blueprint override.
- :func:`document` is a whole OpenAPI 3.1 document for an app: its routes
  with ``4XX``/``5XX`` error responses, and the components.
- :class:`ApiErrorsPlugin` puts the same components into an
  :class:`apispec.APISpec` (flask-smorest, APIFlask ...), and points
  flask-smorest's default error responses at them.

Schemas avoid keywords that OpenAPI 3.0 lacks (no ``const``, no ``$defs``
in components), so the components also fit 3.0 documents.

.. versionadded:: 0.1
"""

from __future__ import annotations

import copy
import re
import typing as t
from http import HTTPStatus

from .catalog import ErrorSpec
from .catalog import reason_phrase
from .docgen import HEADER_DESCRIPTIONS
from .docgen import TEMPLATE_SPEC
from .docgen import Reference
from .docgen import Scope
from .docgen import effective_status
from .docgen import example_body
from .docgen import example_problem
from .docgen import reference_for_app
from .docgen import render
from .formats import BUILTIN
from .formats import PROBLEM_JSON
from .formats import Format
from .formats import build_format

if t.TYPE_CHECKING:
    from apispec import APISpec
    from flask import Flask
    from werkzeug.routing import Rule

try:
    from apispec import BasePlugin
except ImportError:  # pragma: no cover - apispec is an optional dependency
    BasePlugin = object  # type: ignore[misc,assignment]

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
#: The generic error response of the app (blueprints: ``<blueprint>.Error``).
ERROR_RESPONSE: t.Final = "Error"

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
    details = ref(ERROR_DETAILS)
    required: list[str]
    schema: dict[str, t.Any]
    if format_name == "error":
        required = ["error", "message", "timestamp"]
        schema = {
            "properties": {
                "error": {**_string("The error code."), "minLength": 1},
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
                "error_code": {**_string("The error code."), "minLength": 1},
                "message": message,
                "details": details,
                "correlation_id": cid,
            },
        }
    elif format_name == "detail":
        inner_required = ["code", "message"]
        if include_correlation_id:
            inner_required.append("correlation_id")
        return {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {
                    "type": "object",
                    "required": inner_required,
                    "properties": {
                        "code": {**_string("The error code."), "minLength": 1},
                        "message": message,
                        "details": details,
                        "correlation_id": cid,
                    },
                }
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
                "code": {**_string("The error code."), "minLength": 1},
                "details": details,
                "correlation_id": cid,
                "timestamp": timestamp,
            },
        }
    else:
        raise ValueError(f"No schema for format {format_name!r}: use one of {BUILTIN}.")
    if include_correlation_id:
        required.append("correlation_id")
    return {"type": "object", "required": required, **schema}


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


def _code_path(format_name: str | None) -> tuple[str, ...] | None:
    return {
        "error": ("error",),
        "error_code": ("error_code",),
        "detail": ("detail", "code"),
        "problem": ("code",),
    }.get(format_name or "")


def _pin(path: tuple[str, ...], value: t.Any) -> dict[str, t.Any]:
    schema: dict[str, t.Any] = {"enum": [value]}
    for key in reversed(path):
        schema = {"properties": {key: schema}}
    return schema


def component_name(text: str) -> str:
    """A component name from a code or blueprint: ``job_not_found`` ->
    ``JobNotFound``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", text) if p]
    name = "".join(p[:1].upper() + p[1:].lower() for p in parts)
    return name or "Error"


def _scope_prefix(scope: Scope) -> str:
    if scope.blueprint is None:
        return ""
    return re.sub(r"[^A-Za-z0-9._-]", "_", scope.blueprint) + "."


def response_name(spec: ErrorSpec, scope: Scope | None = None) -> str:
    """The response component of ``spec`` (``NotFound``; ``images.JobNotFound``
    for a blueprint whose body differs from the app's)."""
    return (_scope_prefix(scope) if scope is not None else "") + component_name(spec.code)


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
        name = scope.format_name(spec)
        if name in BUILTIN:
            return name
        key = (id(scope), spec.code if spec is not None else None)
        if key not in self._shapes:
            problem = example_problem(spec or TEMPLATE_SPEC, scope.settings)
            body = render(scope.format_for(spec), problem)
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

    def _schema_ref(self, scope: Scope, spec: ErrorSpec | None) -> dict[str, t.Any] | None:
        name = self.shape(scope, spec)
        if name is None:
            return None
        key = SCHEMA_NAMES[name]
        if not scope.settings.include_correlation_id:
            key += "NoCorrelationId"
        if key not in self.schemas:
            self.schemas[key] = body_schema(
                name, include_correlation_id=scope.settings.include_correlation_id
            )
        return _component_ref(key)

    def _problem_ref(self, scope: Scope) -> dict[str, t.Any]:
        key = SCHEMA_NAMES["problem"]
        if not scope.settings.include_correlation_id:
            key += "NoCorrelationId"
        if key not in self.schemas:
            self.schemas[key] = body_schema(
                "problem", include_correlation_id=scope.settings.include_correlation_id
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
            schema: dict[str, t.Any] = {"type": "string"}
            if name.lower() == "retry-after":
                schema = {"type": "string", "pattern": "^[0-9]+$"}
            rv[name] = {"description": _header_description(name), "schema": schema}
        return rv

    def code_response(self, spec: ErrorSpec, scope: Scope) -> dict[str, t.Any]:
        fmt = scope.format_for(spec)
        status = effective_status(spec, scope.settings)
        description = spec.description or spec.message
        content: dict[str, t.Any] = {}
        body = example_body(spec, scope)
        media: dict[str, t.Any] = {"example": body}
        ref = self._schema_ref(scope, spec)
        name = self.shape(scope, spec)
        path = _code_path(name)
        if ref is not None and path is not None:
            pins = [_pin(path, _at(body, path))]
            if name == "problem":
                pins.append(_pin(("status",), status))
            media["schema"] = {"allOf": [ref, *pins]}
        else:
            media["schema"] = {"type": "object"}
        content[fmt.media_type] = media
        if scope.settings.problem_on_accept and fmt.media_type != PROBLEM_JSON:
            problem_body = render(scope.problem_format(), example_problem(spec, scope.settings))
            content[PROBLEM_JSON] = {
                "schema": {
                    "allOf": [
                        self._problem_ref(scope),
                        _pin(("code",), problem_body["code"]),
                        _pin(("status",), status),
                    ]
                },
                "example": problem_body,
            }
        return {
            "description": f"{status} {reason_phrase(status)}: {_one_line(description)}",
            "headers": self.headers(spec, scope),
            "content": content,
        }

    def generic_response(self, scope: Scope) -> dict[str, t.Any]:
        media_types: dict[str, list[dict[str, t.Any]]] = {}
        # Media types with a body of no known shape: any object.
        free: set[str] = set()
        specs: list[ErrorSpec | None] = [None, *self.reference.catalog]
        for spec in specs:
            ref = self._schema_ref(scope, spec)
            media_type = scope.format_for(spec).media_type
            bucket = media_types.setdefault(media_type, [])
            if ref is None:
                free.add(media_type)
            elif ref not in bucket:
                bucket.append(ref)
        if scope.settings.problem_on_accept:
            bucket = media_types.setdefault(PROBLEM_JSON, [])
            problem = self._problem_ref(scope)
            if problem not in bucket:
                bucket.append(problem)
        content: dict[str, t.Any] = {}
        for media_type, bucket in media_types.items():
            if media_type in free or not bucket:
                schema: dict[str, t.Any] = {"type": "object"}
            elif len(bucket) == 1:
                schema = bucket[0]
            else:
                schema = {"anyOf": bucket}
            content[media_type] = {"schema": schema}
        where = "this API" if scope.blueprint is None else f"blueprint {scope.blueprint}"
        return {
            "description": f"An error of {where}.",
            "headers": self.headers(None, scope),
            "content": content,
        }

    def build(self) -> dict[str, t.Any]:
        reference = self.reference
        app = reference.app_scope
        for scope in reference.scopes:
            self.responses[_scope_prefix(scope) + ERROR_RESPONSE] = self.generic_response(scope)
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
    return build_format(
        name, uppercase_codes=upper, problem_type_base=scope.settings.problem_type_base
    )


def _at(body: t.Any, path: tuple[str, ...]) -> t.Any:
    for key in path:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def _header_description(name: str) -> str:
    return HEADER_DESCRIPTIONS.get(name.lower(), name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


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


# -- documents -----------------------------------------------------------------

_RULE_ARG: t.Final = re.compile(r"<(?:(?P<conv>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

_CONVERTER_SCHEMAS: t.Final[dict[str, dict[str, t.Any]]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string"},
    "default": {"type": "string"},
}


def openapi_path(rule: str) -> tuple[str, list[dict[str, t.Any]]]:
    """A Werkzeug rule as an OpenAPI path and its path parameters:
    ``/jobs/<int:job_id>`` -> ``/jobs/{job_id}``."""
    params: list[dict[str, t.Any]] = []

    def replace(match: re.Match[str]) -> str:
        conv = match.group("conv") or "default"
        name = match.group("name")
        schema = dict(_CONVERTER_SCHEMAS.get(conv, {"type": "string"}))
        if conv == "any" and match.group("args"):
            values = [v.strip().strip("'\"") for v in match.group("args").split(",")]
            schema = {"type": "string", "enum": [v for v in values if v]}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _RULE_ARG.sub(replace, rule), params


def _scope_for_rule(reference: Reference, rule: Rule) -> Scope:
    by_name = {s.blueprint: s for s in reference.scopes[1:]}
    parts = rule.endpoint.split(".")[:-1]
    # Innermost blueprint first, as the error handlers choose.
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        scope = by_name.get(name) or by_name.get(parts[n - 1])
        if scope is not None:
            return scope
    return reference.app_scope


def _error_refs(scope: Scope) -> dict[str, t.Any]:
    ref = {"$ref": f"#/components/responses/{_scope_prefix(scope)}{ERROR_RESPONSE}"}
    return {"4XX": ref, "5XX": dict(ref)}


def paths_for_app(app: Flask, reference: Reference | None = None) -> dict[str, t.Any]:
    """OpenAPI ``paths`` for every route of ``app`` (static files aside):
    path parameters from the rule's converters, a ``2XX`` success, and
    ``4XX``/``5XX`` pointing at the generic error response of the route's
    app or blueprint scope."""
    if reference is None:
        reference = reference_for_app(app)
    paths: dict[str, dict[str, t.Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path, params = openapi_path(rule.rule)
        item = paths.setdefault(path, {})
        scope = _scope_for_rule(reference, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, t.Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "responses": {"2XX": {"description": "Success"}, **_error_refs(scope)},
            }
            if params:
                operation["parameters"] = copy.deepcopy(params)
            item.setdefault(method.lower(), operation)
    return paths


def add_error_responses(
    paths: t.Mapping[str, t.Any], app: Flask | None = None, reference: Reference | None = None
) -> dict[str, t.Any]:
    """A copy of ``paths`` in which every operation without ``4XX``/``5XX``
    responses gets them (the generic error response of the app, or of the
    route's blueprint when ``app`` is given)."""
    if reference is None:
        reference = reference_for_app(app) if app is not None else Reference.from_settings()
    scopes: dict[str, Scope] = {}
    if app is not None:
        for rule in app.url_map.iter_rules():
            scopes.setdefault(openapi_path(rule.rule)[0], _scope_for_rule(reference, rule))
    rv = copy.deepcopy(dict(paths))
    for path, item in rv.items():
        scope = scopes.get(path, reference.app_scope)
        for key, operation in item.items():
            if key.lower() not in _METHODS or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status, ref in _error_refs(scope).items():
                responses.setdefault(status, ref)
    return rv


_METHODS: t.Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def document(
    app: Flask,
    *,
    title: str | None = None,
    version: str = "1.0.0",
    description: str | None = None,
    paths: t.Mapping[str, t.Any] | None = None,
    servers: t.Sequence[t.Mapping[str, t.Any]] | None = None,
    openapi_version: str = "3.1.0",
) -> dict[str, t.Any]:
    """A complete OpenAPI document of ``app``'s errors::

        @app.get("/openapi.json")
        def openapi_json():
            return openapi.document(app, title="Jobs API", version="1.0")

    :param app: An app set up with :class:`~flask_apierrors.ApiErrors`.
    :param title: ``info.title``; defaults to the app's name.
    :param version: ``info.version``.
    :param description: ``info.description``.
    :param paths: Your own ``paths``; every operation without ``4XX``/``5XX``
        responses gets them. Default: :func:`paths_for_app`.
    :param servers: ``servers``.
    :param openapi_version: ``openapi``.
    """
    reference = reference_for_app(app)
    info: dict[str, t.Any] = {"title": title or app.name, "version": version}
    if description:
        info["description"] = description
    doc: dict[str, t.Any] = {"openapi": openapi_version, "info": info}
    if servers:
        doc["servers"] = [dict(s) for s in servers]
    if paths is None:
        doc["paths"] = paths_for_app(app, reference)
    else:
        doc["paths"] = add_error_responses(paths, app, reference)
    doc["components"] = components(reference)
    return doc


# -- apispec ---------------------------------------------------------------------


class ApiErrorsPlugin(BasePlugin):
    """An apispec plugin that adds the error components to a spec, and (for
    flask-smorest) points operations' ``default`` and status error responses
    at them::

        errors = ApiErrors(app)
        api = Api(app, spec_kwargs={"extra_plugins": [ApiErrorsPlugin(app)]})

    :param app: An app set up with :class:`~flask_apierrors.ApiErrors`
        (before the plugin's spec is created); ``None`` documents the
        built-in codes with default settings.
    :param reference: What to document, instead of ``app``'s.
    :param rewrite_responses: Replace flask-smorest's ``DEFAULT_ERROR`` and
        status responses (``UNPROCESSABLE_ENTITY`` ...) in operations with
        ours, which describe the bodies clients really get.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        reference: Reference | None = None,
        rewrite_responses: bool = True,
    ) -> None:
        if BasePlugin is object:  # pragma: no cover - apispec missing
            raise RuntimeError("ApiErrorsPlugin needs apispec: pip install apispec.")
        self.app = app
        self._reference = reference
        self.rewrite_responses = rewrite_responses
        self.spec: APISpec | None = None
        self._registered = False

    @property
    def reference(self) -> Reference:
        """What the plugin documents."""
        if self._reference is None:
            if self.app is None:
                self._reference = Reference.from_settings()
            else:
                self._reference = reference_for_app(self.app)
        return self._reference

    def _ready(self) -> bool:
        return self._reference is not None or self.app is None or "apierrors" in self.app.extensions

    def init_spec(self, spec: APISpec) -> None:
        """Register the schemas and responses on ``spec``; if ``ApiErrors``
        is not set up on the app yet (it comes after flask-smorest's
        ``Api``, whose error handler it replaces), on the first path."""
        self.spec = spec
        self._registered = False
        if self._ready():
            self._register(spec)

    def _register(self, spec: APISpec) -> None:
        self._registered = True
        built = components(self.reference)
        for name, schema in built["schemas"].items():
            if name not in spec.components.schemas:
                spec.components.schema(name, schema)
        for name, response in built["responses"].items():
            if name not in spec.components.responses:
                spec.components.response(name, response)

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, t.Any] | None = None,
        **kwargs: t.Any,
    ) -> None:
        """Point flask-smorest's error responses at ours."""
        if self.spec is not None and not self._registered:
            self._register(self.spec)
        if not self.rewrite_responses or not operations:
            return
        reference = self.reference
        rule = kwargs.get("rule")
        scope = _scope_for_rule(reference, rule) if rule is not None else reference.app_scope
        prefix = _scope_prefix(scope)
        responses_known = self.spec.components.responses if self.spec is not None else {}
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.get("responses")
            if not isinstance(responses, dict):
                continue
            for status, response in list(responses.items()):
                if not isinstance(response, str):
                    continue
                if response == "DEFAULT_ERROR" and str(status) == "default":
                    responses[status] = prefix + ERROR_RESPONSE
                    continue
                code = _status_code(status)
                if code is None or response != HTTPStatus(code).name:
                    continue
                spec = reference.catalog.for_status(code)
                if code == scope.settings.validation_status:
                    spec = reference.catalog.get("validation_error") or spec
                if spec is None:
                    continue
                name = response_name(spec, scope)
                if name not in responses_known:
                    name = response_name(spec)
                if name in responses_known:
                    responses[status] = name


def _status_code(status: t.Any) -> int | None:
    try:
        code = int(status)
    except (TypeError, ValueError):
        return None
    if code < 400 or code > 599:
        return None
    try:
        HTTPStatus(code)
    except ValueError:
        return None
    return code
