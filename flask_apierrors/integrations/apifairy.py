"""APIFairy: its validation errors in the app's format.

APIFairy's ``@arguments`` and ``@body`` parse with webargs and raise
``apifairy.exceptions.ValidationError(status_code, messages)``, answered by
a handler ``APIFairy.init_app`` registers on the app (``{"messages": ...}``,
or the app's ``@apifairy.error_handler``). On an app where APIFairy is set
up, ApiErrors answers them instead (a warning names the app's own
``@apifairy.error_handler`` at its first request), as a ``validation_error`` whose entries
carry the field path, message, invalid value and location. APIFairy's
default status (400) follows the ``validation_status`` setting; a status
given with ``error_status_code=`` is kept. APIFairy's handler answers where
ApiErrors is off; a handler of the app's own for the class
(``@app.errorhandler(ValidationError)``) is left to answer everywhere.

``APIFairy(app)`` may come before or after ``ApiErrors(app)``: the handler
is looked for at ``init_app`` and again at the first request.

APIFairy's ``@authenticate(auth)`` is Flask-HTTPAuth's ``login_required``;
the auth objects it names on the app's views get
:func:`~flask_apierrors.integrations.httpauth.api_errors` (at ``init_app``
and at the first request), so their 401 and 403 are ApiErrors' too, not
Flask-HTTPAuth's text; their own callbacks answer where ApiErrors is off.

.. versionadded:: 0.2
"""

from __future__ import annotations

import sys
import typing as t

from . import adoption
from .httpauth import api_errors
from .httpauth import own_callbacks
from .httpauth import route_auths

if t.TYPE_CHECKING:
    from ..plugins import Plugin
    from ..problem import Problem
    from ..state import AppState
    from .base import Context

#: The status APIFairy's parser fails with unless told otherwise.
APIFAIRY_STATUS: t.Final = 400


def _error_class() -> type[Exception] | None:
    module = sys.modules.get("apifairy.exceptions")
    return t.cast("type[Exception] | None", getattr(module, "ValidationError", None))


def convert_validation_error(e: BaseException, ctx: Context) -> Problem | None:
    """APIFairy's ``ValidationError``."""
    cls = _error_class()
    if cls is None or not isinstance(e, cls):
        return None
    error: t.Any = e
    messages = error.messages
    data = adoption.chained_data(e)
    if adoption.by_location(messages):
        errors, total = adoption.located_errors(messages, ctx, data=data)
    else:
        errors, total = adoption.flat_errors(messages, ctx.settings, data=data)
    status = getattr(error, "status_code", None)
    given = None if status in (None, APIFAIRY_STATUS) else int(status)
    return adoption.validation_problem(ctx, errors, total, status=given)


def _take_over(state: AppState) -> None:
    cls = _error_class()
    if cls is not None and adoption.app_handler(state.app, cls) is not None:
        # APIFairy is set up on this app (its init_app registers the handler).
        adoption.take_over(state, cls, convert_validation_error, framework="apifairy")
        for auth in route_auths(state.app):
            api_errors(auth)


def _name_callback(state: AppState) -> None:
    """Name the app's ``@apifairy.error_handler``, which answers only where
    ApiErrors is off: APIFairy's handler, replaced, holds the ``APIFairy``."""
    cls = _error_class()
    replaced = state.displaced.get(cls) if cls is not None else None
    for cell in getattr(replaced, "__closure__", None) or ():
        try:
            fairy = cell.cell_contents
        except ValueError:  # pragma: no cover - an empty cell
            continue
        callback = getattr(fairy, "error_handler_callback", None)
        if callback is not None and callback != getattr(fairy, "default_error_handler", callback):
            adoption.ignored_callbacks(state, "APIFairy", [("apifairy.error_handler", callback)])
    # The auth objects of @authenticate, taken over: a challenge of their
    # own (microblog-api's "Form", no browser dialog) is no longer sent.
    adoption.ignored_callbacks(state, "Flask-HTTPAuth", own_callbacks(route_auths(state.app)))


def plugin() -> Plugin | None:
    """The entry point: ``None`` without APIFairy."""
    return adoption.framework_plugin("apifairy", "apifairy", _take_over, check=_name_callback)
