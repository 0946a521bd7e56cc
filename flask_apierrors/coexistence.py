"""Living with the app's own error handlers.

Flask keeps one handler per exception class: registering ApiErrors on
``HTTPException`` replaces a handler the app registered there before, and a
handler the app registers after replaces ApiErrors'. Neither may happen
silently: the first is remembered (it answers where ``enabled`` is off) and
logged at setup; the second, and an app-wide ``Exception`` handler that
takes unhandled errors away from the 500 body, are logged when the app gets
its first request, with the fix.
"""

from __future__ import annotations

import logging
import typing as t

from werkzeug.exceptions import HTTPException

if t.TYPE_CHECKING:
    from flask import Flask

    from .state import AppState

logger = logging.getLogger("flask_apierrors")

_FIX: t.Final = (
    " Register it before ApiErrors to have ApiErrors replace it, on a narrower class"
    " (NotFound ...) to keep it for those errors only, or leave its part of the app to it"
    " with errors.override(blueprint, enabled=False)."
)

#: The handler classes that take errors away from ApiErrors -> the warning.
_TAKEN: t.Final[t.Mapping[type[BaseException], str]] = {
    HTTPException: (
        "The HTTPException handler %s of %s answers HTTP errors in its own shape, not ApiErrors"
        " (and `flask apierrors docs` documents bodies it never sends).%s"
    ),
    Exception: (
        "The Exception handler %s of %s answers unhandled exceptions instead of ApiErrors' 500"
        " (with its error id).%s"
    ),
}


def _name(handler: t.Callable[..., t.Any]) -> str:
    func = getattr(handler, "__func__", handler)
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def displace(app: Flask, ours: t.Callable[..., t.Any]) -> dict[type[BaseException], t.Any]:
    """The app-wide handlers ApiErrors is about to replace (logged at the
    first request, unless a plug-in took them over on purpose)."""
    handlers = app.error_handler_spec.get(None, {}).get(None, {})
    handler = handlers.get(HTTPException)
    if handler is None or handler == ours:
        return {}
    return {HTTPException: handler}


def check(state: AppState) -> None:
    """Log the handlers registered after ApiErrors that take errors away
    from it (called once, at the first request)."""
    app = state.app
    ours = state.handler
    accepted = state.accepted
    for exc_type, handler in state.displaced.items():
        if handler not in accepted:
            logger.warning(
                "ApiErrors replaced the %s handler %s of app %r: it no longer answers HTTP"
                " errors, except where ApiErrors is turned off (enabled=False).",
                exc_type.__name__,
                _name(handler),
                app.name,
            )
    for scope, by_code in app.error_handler_spec.items():
        where = f"blueprint {scope!r}" if scope else f"app {app.name!r}"
        for handler_type, handler in by_code.get(None, {}).items():
            if handler == ours or handler in accepted:
                continue
            message = _TAKEN.get(handler_type)
            if message is not None:
                logger.warning(message, _name(handler), where, _FIX)
