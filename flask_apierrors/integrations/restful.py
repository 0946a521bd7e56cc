"""Flask-RESTful, and what the Apis built like it share (flask-restx is its fork).

Both ``Api`` classes answer the errors of their own routes themselves: each
wraps the app's ``handle_user_exception`` and ``handle_exception`` with its
``error_router``, which sends the errors of its routes (and, with
``catch_all_404s=True``, every 404 of the app) to ``Api.handle_error``, their
``{"message": ...}`` bodies, before Flask's handlers are asked.
:func:`apis` finds those Apis on an app, and :func:`answer` is ApiErrors'
answer to one of their errors: ApiErrors' body; Flask's handler for an
exception class (the app's, or :meth:`~flask_apierrors.ApiErrors.register_exception`'s)
still answers it, exceptions propagate where Flask propagates them, and a
401 without a challenge of its own gets the Api's
(``serve_challenge_on_401``). The keywords of
the framework's ``abort`` beyond ``message`` and ``errors``, which its body
showed, become ``details``
(:func:`~flask_apierrors.integrations.adoption.convert_abort`, which
:func:`aborts_plugin` tries on every app: the ``abort`` of Flask-RESTful,
webargs, flask-smorest and flask-restx keeps its arguments in ``e.data``).

Flask-RESTful has no handler registry: this integration gives each of its
``Api`` objects a :class:`RestfulErrorHandler` as ``handle_error`` (what
Flask-RESTful's documentation has apps override), which answers through
ApiErrors where it is on and calls Flask-RESTful's own ``handle_error``
where it is off (``enabled=False``, or an app without ApiErrors sharing the
``Api``).

- ``flask_restful.abort(404, message="No such item", item_id=1)`` keeps its
  message, the other keywords as details.
- reqparse's errors (``{"rate": "..."}`` as ``message``, one field or all of
  them with ``bundle_errors``, ``help=`` texts included) become a
  ``validation_error`` with one entry per argument.
- The ``errors=`` of the ``Api`` (by exception class name) still apply:
  the entry's ``status`` (500 if none) gives the code, its ``message`` the
  message, its other keys the details; they win over Flask's handlers for
  the class, as in Flask-RESTful, and, being handled, answer in testing
  too (Flask-RESTful propagates first there).
- A 405 keeps ``Allow``, an exception's headers are kept.
- An ``Api`` subclass (or instance) with its own ``handle_error`` keeps it:
  a warning names it at the first request.

``Api`` objects are found at ``init_app`` and again at the first request,
so ``Api(app)`` may come before or after ``ApiErrors(app)``.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
import typing as t
from collections import abc
from http import HTTPStatus

from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..catalog import snake_case
from ..coexistence import handler_name
from ..errors import ApiError
from ..middleware import propagates
from ..plugins import Plugin
from ..state import find_state
from . import adoption
from .werkzeug import exception_headers

if t.TYPE_CHECKING:
    from flask import Flask

    from ..state import AppState

__all__ = ["RestfulErrorHandler", "aborts_plugin", "answer", "apis", "install", "plugin"]


# -- what Flask-RESTful-style Apis share --------------------------------------------------


def apis(app: Flask, module: str) -> list[t.Any]:
    """The ``Api`` objects of ``module`` (``flask_restful``, ``flask_restx``)
    set up on ``app``: each wraps the app's exception handling with its
    ``error_router``."""
    if module not in sys.modules:
        return []
    api_class = sys.modules[module].Api
    found: list[t.Any] = []
    for name in ("handle_user_exception", "handle_exception"):
        handler = vars(app).get(name)
        while isinstance(handler, functools.partial):
            api = getattr(handler.func, "__self__", None)
            if isinstance(api, api_class) and api not in found:
                found.append(api)
            handler = handler.args[0] if handler.args else None
    return found


def answer(api: t.Any, e: Exception, state: AppState) -> t.Any:
    """ApiErrors' answer to ``e``, an error of a route of ``api``, where
    ApiErrors is on; raises ``e`` where Flask answers it (its handler for
    the class, propagation, an ``HTTPException`` carrying its response):
    both routers then hand it to Flask's handling."""
    if not isinstance(e, HTTPException):
        if _flask_handles(e) or propagates(current_app):
            raise e
    # The framework's body showed every keyword of its abort.
    request.environ[adoption.ABORT_EXTRAS] = True
    response = state.handler(e)
    if response is e:
        raise e
    if (
        isinstance(response, Response)
        and response.status_code == HTTPStatus.UNAUTHORIZED
        and "WWW-Authenticate" not in response.headers
    ):
        # The error's own challenge (Flask-HTTPAuth's Digest nonce, a
        # Bearer realm) is kept: the Api's is a Basic one.
        response = api.unauthorized(response)
    return response


def _flask_handles(e: Exception) -> bool:
    """Flask has a handler for the class of ``e`` (not an HTTP error) or one
    of its bases, on the request's blueprints or the app: its lookup, read
    from the public ``error_handler_spec``."""
    spec = current_app.error_handler_spec
    for scope in (*request.blueprints, None):
        handlers = spec.get(scope, {}).get(None, {})
        if any(cls in handlers for cls in type(e).__mro__):
            return True
    return False


# -- Flask-RESTful ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class RestfulErrorHandler:
    """The ``handle_error`` this integration gives a Flask-RESTful ``api``:
    ApiErrors' answer where it is on, Flask-RESTful's own where it is off."""

    api: t.Any

    def __call__(self, e: Exception) -> t.Any:
        state = find_state()
        if not adoption.applies(state):
            return type(self.api).handle_error(self.api, e)
        assert state is not None
        return answer(self.api, _as_configured(self.api, e, state), state)


def _as_configured(api: t.Any, e: Exception, state: AppState) -> Exception:
    """``e`` as the ``errors=`` entry of ``api`` for its class name makes it
    (``{"UserExists": {"status": 409, "message": ...}}``): an
    :class:`~flask_apierrors.ApiError` of that status (500 if none) and
    message, the entry's other keys as details; else ``e``."""
    entry = (getattr(api, "errors", None) or {}).get(type(e).__name__)
    if not isinstance(entry, abc.Mapping):
        return e
    status = entry.get("status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        return e  # not an error status: answered as without the entry
    spec = state.catalog.for_status(status)
    message = entry.get("message")
    mapped = ApiError(
        spec.code if spec is not None else snake_case(type(e).__name__),
        message if isinstance(message, str) and message else None,
        status=status,
        details={str(k): v for k, v in entry.items() if k not in ("status", "message")},
        headers=dict(exception_headers(e)) if isinstance(e, HTTPException) else None,
    )
    mapped.__cause__ = e
    return mapped


def _own_handler(api: t.Any) -> t.Any:
    """The app's own ``handle_error`` of ``api`` (its class's or its own),
    else ``None``."""
    found = vars(api).get("handle_error")
    if found is not None:
        return None if isinstance(found, RestfulErrorHandler) else found
    method = type(api).handle_error
    return None if method is sys.modules["flask_restful"].Api.handle_error else method


def install(api: t.Any) -> None:
    """Give ``api`` a :class:`RestfulErrorHandler`, unless it has one or a
    ``handle_error`` of the app's own."""
    if "handle_error" not in vars(api) and _own_handler(api) is None:
        api.handle_error = RestfulErrorHandler(api)


def _install_all(state: AppState) -> None:
    for api in apis(state.app, "flask_restful"):
        install(api)


def _name_own_handlers(state: AppState) -> None:
    for api in apis(state.app, "flask_restful"):
        own = _own_handler(api)
        if own is not None:
            logging.getLogger("flask_apierrors").warning(
                "The Flask-RESTful Api of app %r has its own handle_error (%s): it answers"
                " the errors of its routes, not ApiErrors. Have it raise the errors it does"
                " not answer (Flask-RESTful then hands them to Flask, so to ApiErrors)"
                " instead of calling Api.handle_error.",
                state.app.name,
                handler_name(own),
            )


def aborts_plugin() -> Plugin:
    """The entry point of :func:`~flask_apierrors.integrations.adoption.convert_abort`,
    for every app whatever is installed, so that an ``HTTPException`` with
    ``e.data`` answers the same with or without an unused framework: the
    convention of Flask-RESTful's ``abort``, which webargs, flask-smorest
    and flask-restx follow, and any app may."""

    def setup(state: AppState) -> None:
        state.register_converter(HTTPException, adoption.convert_abort, plugin=True)

    return Plugin("aborts", setup=setup, order=20)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without Flask-RESTful."""
    return adoption.framework_plugin(
        "restful", "flask_restful", _install_all, check=_name_own_handlers
    )
