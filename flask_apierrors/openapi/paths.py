"""OpenAPI ``paths`` of an app's routes with their error responses, and the
whole document.

.. versionadded:: 0.1
.. versionchanged:: 0.2
    Each operation lists the errors it can return, one response per status
    (:mod:`.operations`), instead of the same ``4XX``/``5XX`` everywhere.
"""

from __future__ import annotations

import copy
import re
import typing as t

from ..docgen import Reference
from ..docgen import reference_for_app
from ..state import Scope
from ..state import find_state
from .operations import ErrorResponses
from .operations import operation_codes
from .responses import ERROR_RESPONSE
from .responses import _response_ref
from .responses import components
from .responses import scope_prefix

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

_RULE_ARG: t.Final = re.compile(r"<(?:(?P<conv>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

# Any other converter's value (string, path ...) is a string.
_CONVERTER_SCHEMAS: t.Final[dict[str, dict[str, t.Any]]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
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


def scope_of_rule(reference: Reference, rule: Rule, app: Flask | None = None) -> Scope:
    """The scope of ``reference`` whose settings answer the errors of
    ``rule``'s view: the one ``app``'s state picks for a request to it
    (innermost overridden blueprint, else the URL prefix), by name; the
    app's scope without ``app``."""
    return _scope_for(reference, app, _blueprints(rule), rule.rule)


def rule_answered(app: Flask, rule: Rule) -> bool:
    """Whether ApiErrors answers the errors of ``rule``'s view: not where
    it is turned off (``enabled=False``), such as an app's HTML pages.

    .. versionadded:: 0.2
    """
    return _answered(app, _blueprints(rule), rule.rule)


def _blueprints(rule: Rule) -> list[str]:
    """What ``request.blueprints`` is for ``rule``'s endpoint, innermost first."""
    parts = rule.endpoint.split(".")[:-1]
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _answered(app: Flask | None, blueprints: t.Sequence[str], path: str) -> bool:
    state = find_state(app) if app is not None else None
    return state is None or state.scope_for(blueprints, path).settings.enabled


def _scope_for(
    reference: Reference, app: Flask | None, blueprints: t.Sequence[str], path: str
) -> Scope:
    """The scope ``app``'s state picks for a request (the app's without ``app``)."""
    state = find_state(app) if app is not None else None
    if state is None:
        return reference.app_scope
    name = state.scope_for(blueprints, path).name
    return next((s for s in reference.scopes if s.name == name), reference.app_scope)


def _generic_ref(scope: Scope) -> dict[str, t.Any]:
    return _response_ref(scope_prefix(scope) + ERROR_RESPONSE)


def _routes(app: Flask) -> t.Iterator[tuple[Rule, str, list[dict[str, t.Any]]]]:
    """Every route of ``app`` but static files, with its OpenAPI path and
    path parameters."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        yield rule, *openapi_path(rule.rule)


def rule_responses(
    app: Flask, rule: Rule, reference: Reference, errors: ErrorResponses, *, fallback: bool
) -> dict[str, t.Any]:
    """The error responses of ``rule``'s operations: one per status of
    :func:`~.operations.operation_codes`, and with ``fallback`` a
    ``default`` response (the generic error of the route's scope)."""
    scope = scope_of_rule(reference, rule, app)
    where = f"The view of {rule.rule!r} ({rule.endpoint})"
    rv = errors.for_codes(scope, operation_codes(app, rule), where)
    if fallback:
        rv["default"] = _generic_ref(scope)
    return rv


def paths_for_app(
    app: Flask,
    reference: Reference | None = None,
    *,
    responses: dict[str, t.Any] | None = None,
    fallback: bool = False,
) -> dict[str, t.Any]:
    """OpenAPI ``paths`` for every route of ``app`` (static files and the
    routes where ApiErrors is turned off aside, such as HTML pages): path
    parameters from the rule's converters, a ``2XX`` success, and one
    error response per status the route can answer with
    (:func:`~.operations.operation_codes`), referring to the code responses
    of the route's app or blueprint scope.

    :param responses: The document's ``components.responses``
        (:func:`components`); a response for several codes of one status is
        added to it. Without it, such responses are written into the
        operations.
    :param fallback: Also a ``default`` response: the generic error of the
        route's scope, for the errors no declaration names.

    .. versionchanged:: 0.2
        Per-operation error responses; ``responses`` and ``fallback``.
        Routes where ApiErrors is turned off are left out.
    """
    if reference is None:
        reference = reference_for_app(app)
    errors = _error_responses(reference, responses)
    paths: dict[str, dict[str, t.Any]] = {}
    for rule, path, params in _routes(app):
        if not rule_answered(app, rule):
            continue
        item = paths.setdefault(path, {})
        error_responses = rule_responses(app, rule, reference, errors, fallback=fallback)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, t.Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "responses": {
                    "2XX": {"description": "Success"},
                    **copy.deepcopy(error_responses),
                },
            }
            if params:
                operation["parameters"] = copy.deepcopy(params)
            item.setdefault(method.lower(), operation)
    return paths


def add_error_responses(
    paths: t.Mapping[str, t.Any],
    app: Flask | None = None,
    reference: Reference | None = None,
    *,
    responses: dict[str, t.Any] | None = None,
    fallback: bool = False,
) -> dict[str, t.Any]:
    """A copy of ``paths`` in which every operation gets error responses for
    the statuses it does not document yet: for an operation of one of
    ``app``'s routes, those the route can answer with (as
    :func:`paths_for_app` gives them); for any other, ``4XX``/``5XX``, the
    generic error response of the app (or of the blueprint whose URL prefix
    the path is under). Operations where ApiErrors is turned off
    (``enabled=False``) are left as they are.

    .. versionchanged:: 0.2
        Operations of ``app``'s routes get their own error responses;
        ``responses`` and ``fallback`` as for :func:`paths_for_app`; those
        where ApiErrors is turned off get none.
    """
    if reference is None:
        reference = reference_for_app(app) if app is not None else Reference.from_settings()
    errors = _error_responses(reference, responses)
    routes: dict[tuple[str, str], Rule] = {}
    if app is not None:
        for route, path, _ in _routes(app):
            for method in route.methods or ():
                routes.setdefault((path, method.lower()), route)
    rv = copy.deepcopy(dict(paths))
    for path, item in rv.items():
        for key, operation in item.items():
            if key.lower() not in _METHODS or not isinstance(operation, dict):
                continue
            rule = routes.get((path, key.lower()))
            if rule is not None and app is not None:
                if not rule_answered(app, rule):
                    continue
                wanted = rule_responses(app, rule, reference, errors, fallback=fallback)
            elif not _answered(app, (), path):
                continue
            else:
                generic = _generic_ref(_scope_for(reference, app, (), path))
                wanted = {"4XX": generic, "5XX": generic}
            current = operation.setdefault("responses", {})
            for status, ref in wanted.items():
                current.setdefault(status, copy.deepcopy(ref))
    return rv


def _error_responses(reference: Reference, responses: dict[str, t.Any] | None) -> ErrorResponses:
    if responses is None:
        return ErrorResponses(reference, components(reference)["responses"])
    return ErrorResponses(reference, responses, responses.setdefault)


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
    fallback: bool = False,
) -> dict[str, t.Any]:
    """A complete OpenAPI document of ``app``'s errors::

        @app.get("/openapi.json")
        def openapi_json():
            return openapi.document(app, title="Example API", version="1.0")

    :param app: An app set up with :class:`~flask_apierrors.ApiErrors`.
    :param title: ``info.title``; defaults to the app's name.
    :param version: ``info.version``.
    :param description: ``info.description``.
    :param paths: Your own ``paths``; their operations get error responses
        (:func:`add_error_responses`). Default: :func:`paths_for_app`.
    :param servers: ``servers``.
    :param openapi_version: ``openapi``.
    :param fallback: Also a ``default`` response on every operation, the
        generic error of its scope, for errors no declaration names.
    :raises ValueError: a view declares a code the app's catalog lacks.

    .. versionchanged:: 0.2
        Each operation lists the errors it can return (``fallback``).
    """
    reference = reference_for_app(app)
    info: dict[str, t.Any] = {"title": title or app.name, "version": version}
    if description:
        info["description"] = description
    doc: dict[str, t.Any] = {"openapi": openapi_version, "info": info}
    if servers:
        doc["servers"] = [dict(s) for s in servers]
    built = components(reference)
    responses = built["responses"]
    if paths is None:
        doc["paths"] = paths_for_app(app, reference, responses=responses, fallback=fallback)
    else:
        doc["paths"] = add_error_responses(
            paths, app, reference, responses=responses, fallback=fallback
        )
    doc["components"] = built
    return doc
