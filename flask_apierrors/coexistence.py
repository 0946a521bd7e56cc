"""Living with the app's own error handlers.

Flask keeps one handler per exception class: registering ApiErrors on
``HTTPException`` replaces a handler the app registered there before, and a
handler the app registers after replaces ApiErrors'. Neither may happen
silently: the first is remembered (it answers where ``enabled`` is off) and
logged at setup; the second, a blueprint's ``HTTPException`` handler, and
an ``Exception`` or 500 handler that takes unhandled errors away from the
500 body, are logged when the app gets its first request, each with its
fix.
"""

from __future__ import annotations

import logging
import typing as t

from werkzeug.exceptions import HTTPException

if t.TYPE_CHECKING:
    from flask import Flask

    from .state import AppState

logger = logging.getLogger("flask_apierrors")

_OFF: t.Final = (
    " or leave its part of the app to it with errors.override(blueprint, enabled=False)."
)

#: What takes errors away from ApiErrors -> the warning and its fix. An
#: app-wide ``HTTPException`` handler registered before ApiErrors is
#: replaced; nothing else ever is, whichever comes first.
_TAKEN: t.Final[t.Mapping[t.Any, tuple[str, str]]] = {
    HTTPException: (
        "The HTTPException handler %s of %s answers HTTP errors in its own shape, not ApiErrors"
        " (and `flask apierrors docs` documents bodies it never sends).",
        " Register it before ApiErrors to have ApiErrors replace it, on a narrower class"
        " (NotFound ...) to keep it for those errors only," + _OFF,
    ),
    ("blueprint", HTTPException): (
        "The HTTPException handler %s of %s answers its HTTP errors in its own shape, not"
        " ApiErrors (and `flask apierrors docs` documents bodies it never sends).",
        " Remove it, register it on a narrower class (NotFound ...) to keep it for those"
        " errors only," + _OFF,
    ),
    Exception: (
        "The Exception handler %s of %s answers unhandled exceptions instead of ApiErrors' 500"
        " (with its error id).",
        " Register it on your own exception classes instead," + _OFF,
    ),
    500: (
        "The 500 handler %s of %s answers unhandled exceptions instead of ApiErrors' 500 (the"
        " error id its log line names never reaches the client), the API's included.",
        " Remove it, raise an ApiError with a code of yours where you answer 500 on purpose,"
        " or register it on the blueprint of your pages (blueprint.errorhandler(500)) to"
        " keep it for their errors only.",
    ),
    ("blueprint", Exception): (
        # Flask asks a blueprint's handlers before the app's, for every class.
        "The Exception handler %s of %s answers every error of its routes, HTTP errors"
        " included, in its own shape, not ApiErrors (and `flask apierrors docs` documents"
        " bodies it never sends).",
        " Register it on your own exception classes instead," + _OFF,
    ),
    ("blueprint", 500): (
        "The 500 handler %s of %s answers its unhandled exceptions instead of ApiErrors' 500"
        " (the error id its log line names never reaches the client).",
        " Remove it, raise an ApiError with a code of yours where you answer 500 on purpose,"
        + _OFF,
    ),
}


_HANDS_OVER: t.Final = "__apierrors_hands_over__"
_F = t.TypeVar("_F", bound=t.Callable[..., t.Any])


def hands_over(handler: _F) -> _F:
    """Mark an error handler of the app's as meant to answer before
    ApiErrors (an HTML page that hands the API's requests to
    :meth:`~flask_apierrors.ApiErrors.problem_for`): the first-request check
    names it in no warning. Returns ``handler`` itself."""
    setattr(getattr(handler, "__func__", handler), _HANDS_OVER, True)
    return handler


def handler_name(handler: t.Callable[..., t.Any]) -> str:
    """``module.qualname`` of a handler or callback, as warnings name it."""
    func = getattr(handler, "__func__", handler)
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def app_handlers(app: Flask) -> t.Mapping[type[Exception], t.Callable[..., t.Any]]:
    """The app-wide error handlers by exception class (of Flask's
    ``error_handler_spec``, read without adding to it)."""
    return app.error_handler_spec.get(None, {}).get(None, {})


def displace(app: Flask, ours: t.Callable[..., t.Any]) -> dict[type[BaseException], t.Any]:
    """The app-wide handlers ApiErrors is about to replace (logged at the
    first request, unless a plug-in took them over on purpose)."""
    handler = app_handlers(app).get(HTTPException)
    if handler is None or handler == ours:
        return {}
    return {HTTPException: handler}


def check(state: AppState) -> None:
    """Log the handlers registered after ApiErrors that take errors away
    from it, and a ``PROPAGATE_EXCEPTIONS`` that does (called once, at the
    first request)."""
    app = state.app
    ours = state.handler
    accepted = state.accepted
    if app.config.get("PROPAGATE_EXCEPTIONS") and not (app.testing or app.debug):
        logger.warning(
            "PROPAGATE_EXCEPTIONS is on in app %r: Flask raises unhandled exceptions to the"
            " server, which answers its own 500 (no JSON body, no error id) instead of"
            " ApiErrors. Leave it unset outside tests and debugging.",
            app.name,
        )
    for exc_type, handler in state.displaced.items():
        if handler not in accepted:
            logger.warning(
                "ApiErrors replaced the %s handler %s of app %r: it no longer answers HTTP"
                " errors, except where ApiErrors is turned off (enabled=False).",
                exc_type.__name__,
                handler_name(handler),
                app.name,
            )
    for scope, by_code in app.error_handler_spec.items():
        where = f"blueprint {scope!r}" if scope else f"app {app.name!r}"
        taken: list[tuple[t.Any, t.Any]] = list(by_code.get(None, {}).items())
        taken += [(500, handler) for handler in by_code.get(500, {}).values()]
        if scope and not state.scope_for((scope,), "").settings.enabled:
            continue  # left to its handlers on purpose
        for kind, handler in taken:
            if scope and kind in (HTTPException, Exception, 500):
                kind = ("blueprint", kind)
            found = _TAKEN.get(kind)
            if found is None or handler == ours or handler in accepted:
                continue
            if not getattr(handler, _HANDS_OVER, False):  # hands_over() marks it
                logger.warning(found[0] + found[1], handler_name(handler), where)
