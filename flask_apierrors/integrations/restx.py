"""flask-restx: the errors of its routes in the app's format.

flask-restx answers the errors of its own routes itself: ``Api`` wraps the
app's ``handle_user_exception`` and ``handle_exception`` with its
``error_router``, which sends them to ``Api.handle_error`` (its
``{"message": ...}`` bodies, its 404 hints) before Flask's handlers are
asked. Its router falls back to Flask's handling when ``handle_error``
raises, so this integration registers, on the last namespace of every
``Api`` of the app, an ``Exception`` handler. Where ApiErrors is on, it
answers HTTP errors through ApiErrors and hands them to Flask ready-made
(so an app's ``@app.errorhandler(404)`` HTML page answers the app's other
routes, not restx's, as without ApiErrors), and raises anything else
again, for Flask's handling and ApiErrors' 500.

- The app's own restx handlers (``@api.errorhandler(SomeError)``,
  ``@ns.errorhandler(...)``) are tried first and still answer; one
  registered for ``Exception`` itself keeps restx in charge of everything.
- ``abort(404, "Pet not found")`` keeps its message, and payload validation
  (``@api.expect(model, validate=True)``) becomes a ``validation_error``
  (:func:`~flask_apierrors.integrations.adoption.convert_abort`).
- Where ApiErrors is off (``enabled=False``, or an app without it sharing
  the ``Api``), restx answers as it does without ApiErrors.

``Api`` objects are found at ``init_app`` and again at the first request,
so ``Api(app)`` may come before or after ``ApiErrors(app)``.

.. versionadded:: 0.2
"""

from __future__ import annotations

import functools
import sys
import typing as t
from http import HTTPStatus

from flask import current_app
from flask import got_request_exception
from werkzeug.exceptions import HTTPException

from ..state import find_state
from . import adoption

if t.TYPE_CHECKING:
    from flask import Flask

    from ..plugins import Plugin
    from ..state import AppState


def handle_restx_error(e: Exception) -> t.Any:
    """The ``Exception`` handler this integration gives restx: an HTTP error
    answered by ApiErrors, as restx would answer it (the app's handlers for
    a status code, such as an HTML 404 page, do not take the errors of restx
    routes); anything else raised again for Flask (and ApiErrors' 500) to
    answer; restx's own default answer where ApiErrors is off."""
    state = find_state()
    if adoption.applies(state):
        assert state is not None
        if isinstance(e, HTTPException):
            answer = state.handler(e)
            if answer is not e:
                # restx falls back to Flask with what its handler raises; an
                # HTTPException that carries its response is sent as it is.
                raise HTTPException(response=answer) from e
        raise e
    if isinstance(e, HTTPException):
        # What Api.handle_error answers with no handler for the error.
        data = {}
        if current_app.config.get("ERROR_INCLUDE_MESSAGE", True):
            data["message"] = e.description or HTTPStatus(e.code or 500).phrase
        return data, e.code, e.get_response().headers
    propagate = current_app.config.get("PROPAGATE_EXCEPTIONS")
    if propagate or (propagate is None and (current_app.testing or current_app.debug)):
        raise e
    got_request_exception.send(current_app._get_current_object(), exception=e)  # type: ignore[attr-defined]
    return {"message": HTTPStatus.INTERNAL_SERVER_ERROR.phrase}, 500


def apis(app: Flask) -> list[t.Any]:
    """The flask-restx ``Api`` objects set up on ``app`` (each wraps the
    app's exception handling with its ``error_router``)."""
    if "flask_restx" not in sys.modules:
        return []
    from flask_restx import Api

    found: list[t.Any] = []
    for name in ("handle_user_exception", "handle_exception"):
        handler = vars(app).get(name)
        while isinstance(handler, functools.partial):
            api = getattr(handler.func, "__self__", None)
            if isinstance(api, Api) and api not in found:
                found.append(api)
            handler = handler.args[0] if handler.args else None
    return found


def install(api: t.Any) -> None:
    """Give ``api`` the handler that hands its errors to ApiErrors, last of
    its handlers (restx tries them in order: the Api's, then each
    namespace's), unless the app handles ``Exception`` with restx itself."""
    spaces = list(api.namespaces)
    theirs = [
        handler
        for handlers in (api.error_handlers, *(ns.error_handlers for ns in spaces))
        for exc_type, handler in handlers.items()
        if exc_type is Exception and handler is not handle_restx_error
    ]
    for ns in spaces:
        if ns.error_handlers.get(Exception) is handle_restx_error:
            del ns.error_handlers[Exception]
    if not theirs and spaces:
        spaces[-1].errorhandler(Exception)(handle_restx_error)


def _install_all(state: AppState) -> None:
    for api in apis(state.app):
        install(api)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without flask-restx."""
    # Again at the first request: an Api set up after ApiErrors, or handlers added since.
    return adoption.framework_plugin("restx", "flask_restx", _install_all, aborts=True)
