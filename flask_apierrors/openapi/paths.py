"""OpenAPI ``paths`` of an app's routes with their error responses, and the
whole document.

.. versionadded:: 0.1
"""

from __future__ import annotations

import copy
import re
import typing as t

from ..docgen import Reference
from ..docgen import reference_for_app
from ..state import Scope
from ..state import find_state
from .responses import ERROR_RESPONSE
from .responses import components
from .responses import scope_prefix

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

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


def scope_of_rule(reference: Reference, rule: Rule, app: Flask | None = None) -> Scope:
    """The scope of ``reference`` whose settings answer the errors of
    ``rule``'s view: the one ``app``'s state picks for a request to it
    (innermost overridden blueprint, else the URL prefix), by name; the
    app's scope without ``app``."""
    state = find_state(app) if app is not None else None
    if state is None:
        return reference.app_scope
    # What request.blueprints is for the rule's endpoint, innermost first.
    parts = rule.endpoint.split(".")[:-1]
    blueprints = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    name = state.scope_for(blueprints, rule.rule).name
    return next((s for s in reference.scopes if s.name == name), reference.app_scope)


def _error_refs(scope: Scope) -> dict[str, t.Any]:
    ref = {"$ref": f"#/components/responses/{scope_prefix(scope)}{ERROR_RESPONSE}"}
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
        scope = scope_of_rule(reference, rule, app)
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
            scopes.setdefault(openapi_path(rule.rule)[0], scope_of_rule(reference, rule, app))
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
            return openapi.document(app, title="Example API", version="1.0")

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
