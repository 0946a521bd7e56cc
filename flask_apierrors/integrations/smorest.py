"""flask-smorest: the ``abort`` an app calls, in the app's format.

flask-smorest re-exports webargs' ``abort``, which keeps its keyword
arguments on the exception (``e.data``). Both ways apps call it keep their
status, message, headers and field errors::

    abort(422, messages={"json": {"name": ["Bad name."]}})  # by location
    abort(422, message="Invalid pet", errors={"name": ["Bad name."]})  # by field

(:func:`flask_apierrors.integrations.adoption.convert_abort`). The 422s
webargs' parser raises for a schema are the webargs integration's. Its
``HTTPException`` handler is replaced by ApiErrors' (and answers where
ApiErrors is turned off), whichever of ``Api(app)`` and ``ApiErrors(app)``
comes first: one registered after ApiErrors is taken back at the first
request. An ``Api`` subclass that overrides ``handle_http_exception`` is the
app's own handler, left to the core's rules: ApiErrors set up after it
replaces it, set up before it is overridden by it; a warning either way.

.. versionadded:: 0.2
"""

from __future__ import annotations

import sys
import typing as t

from werkzeug.exceptions import HTTPException

from . import adoption

if t.TYPE_CHECKING:
    from ..plugins import Plugin
    from ..state import AppState


def _take_back(state: AppState) -> None:
    """Answer HTTP errors again where ``Api(app)`` replaced ApiErrors' handler."""
    if "flask_smorest" not in sys.modules:
        return
    from flask_smorest import Api

    def smorests(handler: t.Any) -> bool:
        # Not an Api subclass's own handle_http_exception: that is the app's.
        return getattr(handler, "__func__", None) is Api.handle_http_exception

    if smorests(adoption.app_handler(state.app, HTTPException)):
        state.take_over(HTTPException)  # Api(app) set up after ApiErrors
    replaced = state.displaced.get(HTTPException)
    if replaced is not None and smorests(replaced) and replaced not in state.accepted:
        state.accepted.append(replaced)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without webargs (flask-smorest is built on it)."""
    return adoption.framework_plugin("smorest", "webargs", _take_back)
