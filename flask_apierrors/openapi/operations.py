"""The errors each operation of an app can return, as OpenAPI responses.

:func:`operation_codes` finds the catalog codes of one route, from what the
app itself knows about it:

* ``not_found`` for a rule with URL variables (an unknown id, or a value
  its converter rejects);
* the errors of loading input for a view marked by
  :func:`~flask_apierrors.validation.use_schema` (``validation_error``; for
  a body, also ``unsupported_media_type``, ``invalid_json`` for JSON, and
  ``payload_too_large`` for forms, or where ``MAX_CONTENT_LENGTH`` is
  set) or by webargs' ``use_args``/``use_kwargs`` with an ``arg_name``
  (which webargs records on the view);
* the codes the view declares (:func:`documents`): authentication
  decorators, upstream calls, its own codes;
* ``rate_limit_exceeded`` when flask-limiter limits the route (a decorated,
  blueprint, default or application limit), ``concurrent_limit_exceeded``
  for a :class:`~flask_apierrors.ConcurrencyLimiter` limit on the view or
  an application limit;
* ``service_unavailable`` when :class:`~flask_apierrors.availability.Maintenance`
  is set up and the route is not exempt;
* ``internal_server_error``, on every operation.

:class:`ErrorResponses` turns codes into responses, one per status: a
reference to the code's response component, or, when several codes share
a status, to a component whose schema is any of theirs (``InvalidJson_ValidationError``).

.. versionadded:: 0.2
"""

from __future__ import annotations

import copy
import typing as t

from ..catalog import ErrorSpec
from ..catalog import reason_phrase
from ..declared import declare
from ..declared import declared_codes
from ..declared import declared_inputs
from ..docgen import Reference
from ..docgen import effective_status
from ..state import Scope
from .responses import _any_of
from .responses import _known_name
from .responses import _response_ref
from .responses import component_name
from .responses import scope_prefix

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The codes of loading and validating one request location.
INPUT_CODES: t.Final[t.Mapping[str, tuple[str, ...]]] = {
    "json": ("invalid_json", "unsupported_media_type", "validation_error"),
    "form": ("unsupported_media_type", "payload_too_large", "validation_error"),
    "files": ("unsupported_media_type", "payload_too_large", "validation_error"),
}
#: The codes of any other location (``query``, ``headers`` ...).
OTHER_INPUT_CODES: t.Final = ("validation_error",)
#: Locations that are the request body.
BODY_LOCATIONS: t.Final = frozenset({"json", "form", "files", "body", "data"})


def documents(*codes: str) -> t.Callable[[F], F]:
    """Declare the catalog codes a view can answer with, for
    :func:`document` and :class:`ApiErrorsPlugin`::

        @app.post("/payments")
        @openapi.documents("payment_declined", "bad_gateway")
        def pay(): ...

    Use it anywhere among the view's decorators that keep its attributes
    (:func:`functools.wraps` does), and in your own decorators
    (an authentication check declares ``unauthorized``). Codes are looked up
    in the app's catalog when the document is made.

    .. versionadded:: 0.2
    """

    def decorator(view: F) -> F:
        return declare(view, codes)

    return decorator


def operation_codes(app: Flask, rule: Rule) -> tuple[str, ...]:
    """The catalog codes a request to ``rule`` can be answered with (see the
    module's docs), in that order, each once."""
    view = app.view_functions.get(rule.endpoint)
    codes: list[str] = ["not_found"] if rule.arguments else []
    if view is not None:
        inputs = list(declared_inputs(view))
        if getattr(view, "__webargs_argnames__", None):
            inputs.append("webargs")
        for location in inputs:
            codes += INPUT_CODES.get(location, OTHER_INPUT_CODES)
            if location in BODY_LOCATIONS and app.config.get("MAX_CONTENT_LENGTH"):
                codes.append("payload_too_large")
        codes += declared_codes(view)
        from ..availability.maintenance import answers_during_maintenance
        from ..concurrency import application_limited

        if app.extensions.get("limiter"):
            from ..ratelimit.routes import route_limited

            if route_limited(app, rule.endpoint):
                codes.append("rate_limit_exceeded")
        if application_limited(app, view):
            codes.append("concurrent_limit_exceeded")
        if answers_during_maintenance(app, rule.rule, rule.endpoint) is False:
            codes.append("service_unavailable")
    codes.append("internal_server_error")
    seen: dict[str, str] = {}
    for code in codes:
        seen.setdefault(code.lower(), code)
    return tuple(seen.values())


class ErrorResponses:
    """The error responses of operations, by status, made of the response
    components of ``reference`` (``responses``: the document's
    ``components.responses``, as :func:`components` makes them).

    :param add: Adds a response for several codes to the document's
        components (``add(name, response)``), which operations then refer
        to; ``None``: such responses are written into the operations.
    """

    def __init__(
        self,
        reference: Reference,
        responses: t.Mapping[str, t.Any],
        add: t.Callable[[str, dict[str, t.Any]], object] | None = None,
    ) -> None:
        self.reference = reference
        self.responses = responses
        self.add = add

    def spec(self, code: str, where: str) -> ErrorSpec:
        spec = self.reference.catalog.get(code)
        if spec is None:
            raise ValueError(
                f"{where} can answer with {code!r}, which the app's catalog lacks: add it"
                " (Catalog.add) or correct the name."
            )
        return spec

    def for_codes(self, scope: Scope, codes: t.Iterable[str], where: str) -> dict[str, t.Any]:
        """``{"404": {"$ref": ...}, ...}`` for ``codes`` in ``scope``,
        statuses in order (``where`` names the route in errors)."""
        by_status: dict[int, list[ErrorSpec]] = {}
        for code in codes:
            spec = self.spec(code, where)
            bucket = by_status.setdefault(effective_status(spec, scope.settings), [])
            if spec not in bucket:
                bucket.append(spec)
        rv: dict[str, t.Any] = {}
        for status in sorted(by_status):
            specs = by_status[status]
            names = [_known_name(spec, scope, self.responses) for spec in specs]
            if len(names) == 1:
                rv[str(status)] = _response_ref(names[0])
            elif self.add is None:
                rv[str(status)] = self._combined(status, specs, names)
            else:
                name = scope_prefix(scope) + "_".join(component_name(s.code) for s in specs)
                if name not in self.responses:
                    self.add(name, self._combined(status, specs, names))
                rv[str(status)] = _response_ref(name)
        return rv

    def _combined(
        self, status: int, specs: t.Sequence[ErrorSpec], names: t.Sequence[str]
    ) -> dict[str, t.Any]:
        """One response for several codes of one status: any of their schemas,
        each example."""
        headers: dict[str, t.Any] = {}
        content: dict[str, dict[str, t.Any]] = {}
        for spec, name in zip(specs, names, strict=True):
            response = self.responses[name]
            for header, value in response.get("headers", {}).items():
                headers.setdefault(header, copy.deepcopy(value))
            for media_type, media in response.get("content", {}).items():
                entry = content.setdefault(media_type, {"schemas": [], "examples": {}})
                entry["schemas"].append(copy.deepcopy(media["schema"]))
                if "example" in media:
                    entry["examples"][spec.code] = {"value": copy.deepcopy(media["example"])}
        listed = "; ".join(
            f"{spec.code}: {' '.join((spec.description or spec.message).split())}" for spec in specs
        )
        rv: dict[str, t.Any] = {
            "description": f"{status} {reason_phrase(status)}, one of {listed}",
            "headers": headers,
            "content": {},
        }
        for media_type, entry in content.items():
            one: dict[str, t.Any] = {"schema": _any_of(entry["schemas"])}
            if entry["examples"]:
                one["examples"] = entry["examples"]
            rv["content"][media_type] = one
        return rv
