"""APIFlask: its ``abort``/``HTTPError``, input validation and auth errors in
the app's format.

APIFlask answers them through ``app.error_callback`` (what
``@app.error_processor`` sets), called by its ``HTTPError`` handler and by
the error handler of its ``HTTPBasicAuth``/``HTTPTokenAuth``. On an
``APIFlask`` app this integration

- renders ``HTTPError`` through ApiErrors (the handler APIFlask registered
  for it is replaced, and kept for where ApiErrors is off): status,
  headers, and the message when it is not the bare reason phrase;
  ``detail`` and ``extra_data`` become ``details``;
- turns validation errors (``detail`` keyed by location, then field) into a
  ``validation_error`` whose entries carry the field path, message,
  invalid value (redacted like any) and location; APIFlask's default 422
  follows the ``validation_status`` setting, another status is kept;
- sets ``app.error_callback`` so auth errors come out the same way, with
  their ``WWW-Authenticate``; where ApiErrors is off, the previous callback
  (APIFlask's, or the app's ``error_processor``, defined before or after
  ApiErrors) answers;
- gives the auth objects of the app's ``auth_required`` that have an error
  callback of the app's own (``@auth.error_processor``) the httpauth
  integration's (:func:`~flask_apierrors.integrations.httpauth.api_errors`),
  at the first request: theirs answers where ApiErrors is off. An auth
  object used only through Flask-HTTPAuth's ``@auth.login_required`` leaves
  no trace on the view but in the decorator's closure, which is not
  searched: the app gives it ``api_errors(auth)`` itself.

An ``HTTPError`` subclass's status Werkzeug does not know (499, or even
200) is kept, with a code named after the class (``ClientClosed`` ->
``client_closed``), as for a Werkzeug ``HTTPException`` of that status.

APIFlask's original text (``HTTPError.message``) is kept as
``Problem.description``.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import sys
import typing as t
from collections import abc

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from ..catalog import snake_case
from ..state import find_state
from ..statuses import code_for_status
from . import adoption

if t.TYPE_CHECKING:
    from ..plugins import Plugin
    from ..problem import FieldError
    from ..problem import Problem
    from ..state import AppState
    from .base import Context

#: The status of APIFlask's validation errors unless the app sets another
#: (``VALIDATION_ERROR_STATUS_CODE``); it follows the ``validation_status``.
APIFLASK_VALIDATION_STATUS: t.Final = 422

#: APIFlask's package: the handlers it registers are taken over.
_APIFLASK: t.Final = "apiflask"


def _is_http_error(e: BaseException) -> bool:
    if "apiflask" not in sys.modules:
        return False
    from apiflask.exceptions import HTTPError

    return isinstance(e, HTTPError)


def _is_pydantic_error(e: BaseException) -> bool:
    core = sys.modules.get("pydantic_core")
    return core is not None and isinstance(e, core.ValidationError)


def _headers(raw: t.Any) -> list[tuple[str, str]]:
    items = raw.items() if isinstance(raw, abc.Mapping) else (raw or ())
    return [(str(k), str(v)) for k, v in items if str(k).lower() != "content-type"]


def pydantic_errors(error: t.Any, location: str, ctx: Context) -> tuple[list[FieldError], int]:
    """The entries of a pydantic ``ValidationError`` (the pydantic
    integration's), each naming ``location``."""
    from .pydantic import field_errors

    errors, total = field_errors(error, ctx.settings)
    return [dataclasses.replace(entry, location=location) for entry in errors], total


def convert_http_error(e: BaseException, ctx: Context) -> Problem | None:
    """APIFlask's ``HTTPError`` (raised by its ``abort`` and its input
    validation)."""
    if not _is_http_error(e):
        return None
    error: t.Any = e
    status = int(error.status_code)
    headers = _headers(error.headers)
    detail = error.detail
    text = str(error.message)
    cause = (
        adoption.chained(e, _is_pydantic_error)
        if isinstance(detail, abc.Mapping) and detail
        else None
    )
    if cause is not None or adoption.by_location(detail):
        if cause is not None and len(detail) == 1:
            errors, total = pydantic_errors(cause, str(next(iter(detail))), ctx)
        else:
            errors, total = adoption.located_errors(detail, ctx, data=adoption.chained_data(e))
        given = None if status == APIFLASK_VALIDATION_STATUS else status
        problem = adoption.validation_problem(ctx, errors, total, status=given)
        return problem.replace(headers=tuple(headers), description=text)
    spec = ctx.catalog.for_status(status)
    if spec is not None:
        code = spec.code
    elif status in default_exceptions:
        code = code_for_status(status)
    else:
        # A subclass's own status (HTTPError() checks only the one it is
        # given): kept, with a code named after the class, as Werkzeug's.
        code = snake_case(type(e).__name__)
    details: dict[str, t.Any] = {}
    if isinstance(detail, abc.Mapping):
        details.update(detail)
    elif detail:
        details["detail"] = detail
    if isinstance(error.extra_data, abc.Mapping):
        details.update(error.extra_data)
    return ctx.problem(
        code,
        status=status,
        # APIFlask's default message is the reason phrase: the catalog's instead.
        message=None if text == HTTP_STATUS_CODES.get(status) else text,
        details=details,
        headers=headers,
        description=text,
    )


class ErrorCallback:
    """What this integration sets as ``app.error_callback``: APIFlask's
    errors rendered by ApiErrors, or by the ``previous`` callback where
    ApiErrors is off."""

    __slots__ = ("previous",)

    def __init__(self, previous: t.Callable[[t.Any], t.Any]) -> None:
        self.previous = previous

    def __call__(self, error: t.Any) -> t.Any:
        state = find_state()
        if state is None or not adoption.applies(state):
            return self.previous(error)
        return state.handler(error)


def _setup(state: AppState) -> None:
    if "apiflask" not in sys.modules:
        return  # no APIFlask app exists
    from apiflask import APIFlask
    from apiflask.exceptions import HTTPError

    app = state.app
    if not isinstance(app, APIFlask):
        return
    adoption.take_over(state, HTTPError, convert_http_error, framework=_APIFLASK)
    # An @app.error_processor defined after ApiErrors registered APIFlask's
    # HTTPException handler again: ApiErrors takes it back.
    adoption.take_over(state, HTTPException, None, framework=_APIFLASK)
    # APIFlask's own HTTPException handler, which ApiErrors replaced: its
    # error callback still answers where ApiErrors is off.
    replaced = state.displaced.get(HTTPException)
    if (
        replaced is not None
        and adoption.defined_by(replaced, _APIFLASK)
        and replaced not in state.accepted
    ):
        state.accepted.append(replaced)
    if not isinstance(app.error_callback, ErrorCallback):
        app.error_callback = ErrorCallback(app.error_callback)
    _adopt_auth_callbacks(app)


def _adopt_auth_callbacks(app: t.Any) -> None:
    """Auth objects with an error callback of the app's own
    (``@auth.error_processor``, ``@auth.error_handler``) would answer in
    their shape: they get the httpauth integration's, which leaves the
    app's to answer where ApiErrors is off. Those with APIFlask's default
    call ``app.error_callback`` and need nothing."""
    from apiflask.security import _AuthBase

    from .httpauth import api_errors
    from .httpauth import members
    from .httpauth import route_auths

    default = _AuthBase._auth_error_handler
    for auth in route_auths(app):
        for member in members(auth):
            callback = getattr(member, "auth_error_callback", None)
            if callback is not None and getattr(callback, "__wrapped__", None) is not default:
                api_errors(member)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without APIFlask."""
    # Again at the first request: an @app.error_processor defined since.
    return adoption.framework_plugin("apiflask", "apiflask", _setup)
