"""An apispec plugin (flask-smorest, APIFlask ...) that adds the error
components to a spec.

.. versionadded:: 0.1
"""

from __future__ import annotations

import typing as t
from http import HTTPStatus

from ..docgen import Reference
from ..docgen import reference_for_app
from ..state import find_state
from .operations import ErrorResponses
from .operations import operation_codes
from .paths import rule_answered
from .paths import scope_of_rule
from .responses import ERROR_RESPONSE
from .responses import _known_name
from .responses import components
from .responses import scope_prefix

if t.TYPE_CHECKING:
    from apispec import APISpec
    from flask import Flask
    from werkzeug.routing import Rule

    from ..state import Scope

try:
    from apispec import BasePlugin
except ImportError:  # pragma: no cover - apispec is an optional dependency
    BasePlugin = object  # type: ignore[misc,assignment]


class ApiErrorsPlugin(BasePlugin):
    """An apispec plugin that adds the error components to a spec, gives
    each operation of a route of ``app`` the error responses that route can
    return (:func:`~flask_apierrors.openapi.operation_codes`; flask-smorest's
    ``arguments`` count as input), and (for flask-smorest) points
    operations' ``default`` and status error responses at them::

        errors = ApiErrors(app)
        api = Api(app, spec_kwargs={"extra_plugins": [ApiErrorsPlugin(app)]})

    :param app: An app set up with :class:`~flask_apierrors.ApiErrors`
        (before the plugin's spec is created); ``None`` documents the
        built-in codes with default settings.
    :param reference: What to document, instead of ``app``'s.
    :param rewrite_responses: Replace flask-smorest's ``DEFAULT_ERROR`` and
        status responses (``UNPROCESSABLE_ENTITY`` ...) in operations with
        ours, which describe the bodies clients really get.
    :param operation_responses: Add to the operations of ``app``'s routes
        the responses of the errors they can return.

    .. versionchanged:: 0.2
        Per-operation error responses (``operation_responses``).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        reference: Reference | None = None,
        rewrite_responses: bool = True,
        operation_responses: bool = True,
    ) -> None:
        if BasePlugin is object:  # pragma: no cover - apispec missing
            raise RuntimeError("ApiErrorsPlugin needs apispec: pip install apispec.")
        self.app = app
        self._reference = reference
        self.rewrite_responses = rewrite_responses
        self.operation_responses = operation_responses
        self.spec: APISpec | None = None
        self._registered = False

    @property
    def reference(self) -> Reference:
        """What the plugin documents."""
        if self._reference is None:
            app = self.app
            self._reference = Reference.from_settings() if app is None else reference_for_app(app)
        return self._reference

    def init_spec(self, spec: APISpec) -> None:
        """Register the schemas and responses on ``spec``; if ``ApiErrors``
        is not set up on the app yet (it comes after flask-smorest's
        ``Api``, whose error handler it replaces), on the first path."""
        self.spec = spec
        self._registered = False
        if self._reference is not None or self.app is None or find_state(self.app) is not None:
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
        """Point flask-smorest's error responses at ours, and add those of
        the errors the route can return."""
        if self.spec is not None and not self._registered:
            self._register(self.spec)
        if not operations:
            return
        reference = self.reference
        rule = kwargs.get("rule")
        if rule is not None and self.app is not None and not rule_answered(self.app, rule):
            return  # ApiErrors is off there: the errors are not its own
        scope = (
            scope_of_rule(reference, rule, self.app) if rule is not None else reference.app_scope
        )
        if self.operation_responses and rule is not None and self.app is not None:
            self._add_operation_responses(rule, scope, operations)
        if not self.rewrite_responses:
            return
        prefix = scope_prefix(scope)
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
                code = _status(status)
                if code is None or response != code.name:
                    continue
                spec = reference.catalog.for_status(code.value)
                if code == scope.settings.validation_status:
                    spec = reference.catalog.get("validation_error") or spec
                if spec is None:
                    continue
                name = _known_name(spec, scope, responses_known)
                if name in responses_known:
                    responses[status] = name

    def _add_operation_responses(
        self, rule: Rule, scope: Scope, operations: dict[str, t.Any]
    ) -> None:
        assert self.app is not None
        spec = self.spec
        known: t.Mapping[str, t.Any] = spec.components.responses if spec is not None else {}
        add = None if spec is None else spec.components.response
        errors = ErrorResponses(self.reference, known, add)
        codes = list(operation_codes(self.app, rule))
        validation = str(scope.settings.validation_status)
        where = f"The view of {rule.rule!r} ({rule.endpoint})"
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not isinstance(responses, dict):
                continue
            mine = list(codes)
            smorest = _smorest_validation(responses)
            if smorest is not None:
                # flask-smorest documents its arguments' 422; webargs'
                # errors answer with the validation_status setting.
                mine.insert(0, "validation_error")
                if str(smorest) != validation:
                    del responses[smorest]
            for status, ref in errors.for_codes(scope, mine, where).items():
                # for_codes' keys are numbers: flask-smorest's may be ints.
                if status not in responses and int(status) not in responses:
                    responses[status] = ref


def _smorest_validation(responses: t.Mapping[t.Any, t.Any]) -> t.Any:
    """The key under which flask-smorest documented its arguments'
    validation error (``422: "UNPROCESSABLE_ENTITY"``), or ``None``."""
    for status, response in responses.items():
        if _status(status) == 422 and response == HTTPStatus(422).name:
            return status
    return None


def _status(status: t.Any) -> HTTPStatus | None:
    """The error status a response key stands for, or ``None``."""
    try:
        code = HTTPStatus(int(status))
    except (TypeError, ValueError):
        return None
    return code if 400 <= code <= 599 else None
