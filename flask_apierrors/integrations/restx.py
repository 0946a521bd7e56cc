"""flask-restx: the errors of its routes in the app's format.

flask-restx answers the errors of its own routes itself, as Flask-RESTful,
whose fork it is, does (see :mod:`flask_apierrors.integrations.restful`,
which finds the Apis and answers their errors for both): ``Api`` wraps the
app's ``handle_user_exception`` and ``handle_exception`` with its
``error_router``, which sends them to ``Api.handle_error`` (its
``{"message": ...}`` bodies, its 404 hints) before Flask's handlers are
asked. Its router falls back to Flask's handling when ``handle_error``
raises, so this integration registers, on the last namespace of every
``Api`` of the app, a :class:`RestxErrorHandler` for ``Exception``. Where
ApiErrors is on, it answers through ApiErrors and hands the answer to
Flask ready-made, so the app's status-code handlers (an HTML 404 or 500
page) answer the app's other routes, not restx's, as without ApiErrors.

- The app's own restx handlers (``@api.errorhandler(SomeError)``,
  ``@ns.errorhandler(...)``) are tried first and still answer; one
  registered for ``Exception`` itself keeps restx in charge of everything.
- With a default handler (``@api.errorhandler`` with no class), the
  integration's handler takes only ``HTTPException``: the default handler
  still answers the other exceptions, ApiErrors on or off.
- A 401 gets the Api's challenge (``serve_challenge_on_401``), as restx
  adds it.
- Flask's handlers for an exception's class (the app's, or the one
  :meth:`~flask_apierrors.ApiErrors.register_exception` registers) still
  answer it, and exceptions propagate where Flask propagates them.
- ``abort(404, "Pet not found", pet_id=1)`` keeps its message (its other
  keywords as details), and payload validation
  (``@api.expect(model, validate=True)``) becomes a ``validation_error``
  (:func:`~flask_apierrors.integrations.adoption.convert_abort`).
- Where ApiErrors is off (``enabled=False``, or an app without it sharing
  the ``Api``), restx answers as it does without ApiErrors.

``Api`` objects are found at ``init_app`` and again at the first request,
so ``Api(app)`` may come before or after ``ApiErrors(app)``.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import typing as t
from http import HTTPStatus

from flask import current_app
from flask import got_request_exception
from werkzeug.exceptions import HTTPException

from ..middleware import propagates
from ..state import find_state
from . import adoption
from . import restful

if t.TYPE_CHECKING:
    from flask import Flask

    from ..plugins import Plugin
    from ..state import AppState


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class RestxErrorHandler:
    """The handler this integration gives the restx ``api``: an error
    answered by ApiErrors, as restx would answer it (the app's handlers for
    a status code, such as an HTML 404 or 500 page, do not take the errors
    of restx routes); restx's own default answer where ApiErrors is off."""

    api: t.Any

    def __call__(self, e: Exception) -> t.Any:
        state = find_state()
        if not adoption.applies(state):
            return _restx_default(e)
        assert state is not None
        # restx falls back to Flask with what its handler raises (``e`` itself
        # where Flask answers it); an HTTPException that carries its response
        # is sent as it is.
        raise HTTPException(response=restful.answer(self.api, e, state)) from e


def _restx_default(e: Exception) -> t.Any:
    """What ``Api.handle_error`` answers with no handler for ``e``."""
    if isinstance(e, HTTPException):
        data = {}
        if current_app.config.get("ERROR_INCLUDE_MESSAGE", True):
            data["message"] = e.description or HTTPStatus(e.code or 500).phrase
        return data, e.code, e.get_response().headers
    if propagates(current_app):
        raise e
    got_request_exception.send(current_app._get_current_object(), exception=e)  # type: ignore[attr-defined]
    return {"message": HTTPStatus.INTERNAL_SERVER_ERROR.phrase}, 500


def apis(app: Flask) -> list[t.Any]:
    """The flask-restx ``Api`` objects set up on ``app``."""
    return restful.apis(app, "flask_restx")


def install(api: t.Any) -> None:
    """Give ``api`` a :class:`RestxErrorHandler`, last of its handlers
    (restx tries them in order: the Api's, then each namespace's), for
    ``Exception``, or for ``HTTPException`` where the Api has a default
    error handler (restx asks it only when no handler takes an exception);
    none where the app handles that class with restx itself. Running it
    again moves the handler where it now belongs."""
    spaces = list(api.namespaces)
    for handlers in (api.error_handlers, *(ns.error_handlers for ns in spaces)):
        for exc_type, handler in list(handlers.items()):
            if isinstance(handler, RestxErrorHandler):
                del handlers[exc_type]
    # restx keeps the handler of `@api.errorhandler` (no class) there, with no accessor.
    default = getattr(api, "_default_error_handler", None)
    key = HTTPException if default is not None else Exception
    theirs = [
        handler
        for handlers in (api.error_handlers, *(ns.error_handlers for ns in spaces))
        for exc_type, handler in handlers.items()
        if exc_type in (Exception, key)
    ]
    if not theirs and spaces:
        spaces[-1].errorhandler(key)(RestxErrorHandler(api))


def _install_all(state: AppState) -> None:
    for api in apis(state.app):
        install(api)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without flask-restx."""
    # Again at the first request: an Api set up after ApiErrors, or handlers added since.
    return adoption.framework_plugin("restx", "flask_restx", _install_all)
