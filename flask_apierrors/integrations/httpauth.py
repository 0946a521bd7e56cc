"""Flask-HTTPAuth: its 401 and 403 in the app's format.

Flask-HTTPAuth answers a failed login with its ``auth_error_callback``
(``Unauthorized Access`` as text by default), kept on the auth object the
app never sees. :func:`api_errors` gives an auth object a callback that
has Flask's handlers, ApiErrors' among them, answer the HTTP error as if
it were raised: ``unauthorized`` (401) or ``forbidden`` (403) with the
catalog's message, the ``WWW-Authenticate`` challenge Flask-HTTPAuth would
send, and its text as ``Problem.description``. Whichever handler answers
(an ``@app.errorhandler(401)`` of the app, a blueprint's), the response
keeps the challenge unless the handler sets its own, as Flask-HTTPAuth
does for its own callbacks::

    from flask_httpauth import HTTPBasicAuth
    from flask_apierrors.integrations.httpauth import api_errors

    auth = api_errors(HTTPBasicAuth())

Where ApiErrors is off (``enabled=False``), or the app has no ApiErrors,
the auth object's own callback answers, whether the app sets it
(``@auth.error_handler``) before or after :func:`api_errors`. APIFlask's ``HTTPBasicAuth``
and ``HTTPTokenAuth`` need nothing: the APIFlask integration answers
through ``app.error_callback``, which they call.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t
import weakref
from collections import abc

from flask import current_app
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import Unauthorized

from ..state import find_state
from . import adoption

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["AuthForbidden", "AuthRequired", "api_errors", "members", "own_callbacks", "route_auths"]

A = t.TypeVar("A")

#: What Flask-HTTPAuth answers by default, kept as the description.
HTTPAUTH_TEXT: t.Final = "Unauthorized Access"


class _Challenge(HTTPException):
    """Flask-HTTPAuth's text as the description, and its ``WWW-Authenticate``
    header as it sends it."""

    description = HTTPAUTH_TEXT

    def __init__(self, challenge: str | None = None) -> None:
        super().__init__()
        self.challenge = challenge

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> list[tuple[str, str]]:
        headers = super().get_headers(environ, scope)
        if self.challenge and not any(k.lower() == "www-authenticate" for k, _ in headers):
            headers.append(("WWW-Authenticate", self.challenge))
        return headers


class AuthRequired(_Challenge, Unauthorized):
    """A 401 of Flask-HTTPAuth, as :func:`api_errors` raises it."""


class AuthForbidden(_Challenge, Forbidden):
    """A 403 of Flask-HTTPAuth (a role missing), as :func:`api_errors` raises it."""


#: Auth objects :func:`api_errors` has set up.
_DONE: weakref.WeakSet[t.Any] = weakref.WeakSet()


class _Callback:
    __slots__ = ("auth", "previous")

    def __init__(self, auth: t.Any, previous: t.Callable[..., t.Any] | None) -> None:
        self.auth = auth
        self.previous = previous

    def __call__(self, status: int = 401) -> t.Any:
        if self.previous is not None and not adoption.applies(find_state()):
            return self.previous(status)
        challenge = self.auth.authenticate_header()
        try:
            raise AuthForbidden(challenge) if status == 403 else AuthRequired(challenge)
        except HTTPException as e:
            # Answered here, as Flask would answer it raised (the handler
            # still sees it as the exception being handled); the handler's
            # answer as it is, so that Flask-HTTPAuth's wrapper of this
            # callback makes the response as for its own callbacks: a 401
            # for a bare body, and the challenge unless the handler set one.
            return current_app.handle_user_exception(e)


def api_errors(auth: A) -> A:
    """Have ``auth`` (Flask-HTTPAuth's ``HTTPBasicAuth``, ``HTTPDigestAuth``,
    ``HTTPTokenAuth`` or ``MultiAuth`` of them, APIFairy's or APIFlask's
    alike) answer its 401 and 403 through the app's error handlers, in
    ApiErrors' format. Returns ``auth``; calling it again changes nothing.

    The app's own ``@auth.error_handler``, set before or after, answers
    where ApiErrors is off.

    .. versionadded:: 0.2
    """
    for member in members(auth):
        if member not in _DONE:
            callback = _Callback(member, getattr(member, "auth_error_callback", None))
            member.error_handler(callback)
            member.error_handler = _later_handler(member, callback)
            _DONE.add(member)
    return auth


def _later_handler(member: t.Any, callback: _Callback) -> t.Callable[[t.Any], t.Any]:
    """``member.error_handler`` from now on: the app's callback, wrapped by
    Flask-HTTPAuth as usual, becomes the one that answers where ApiErrors
    is off, and ApiErrors' stays in place."""
    ours = member.auth_error_callback
    set_handler = type(member).error_handler

    def error_handler(f: t.Any) -> t.Any:
        wrapped = set_handler(member, f)
        callback.previous = member.auth_error_callback
        member.auth_error_callback = ours
        return wrapped

    return error_handler


def members(auth: t.Any) -> tuple[t.Any, ...]:
    """The auth objects of a ``MultiAuth``, else ``(auth,)``."""
    if hasattr(auth, "main_auth"):
        # Flask-HTTPAuth 4.8.0 spells it additional_auth.
        others = getattr(auth, "additional_auths", getattr(auth, "additional_auth", ()))
        return (auth.main_auth, *others)
    return (auth,)


def own_callbacks(auths: abc.Iterable[t.Any]) -> list[tuple[str, t.Any]]:
    """The app's own ``@auth.error_handler`` callbacks of ``auths`` that
    :func:`api_errors` answers in place of (Flask-HTTPAuth's default left
    out), as :func:`~.adoption.ignored_callbacks` names them."""
    found: list[tuple[str, t.Any]] = []
    for member in (m for auth in auths for m in members(auth)):
        # Both are wrapped by Flask-HTTPAuth: ours, and the app's before it.
        ours = getattr(member.auth_error_callback, "__wrapped__", None)
        previous = ours.previous if isinstance(ours, _Callback) else None
        own = getattr(previous, "__wrapped__", previous)
        if own is not None and getattr(own, "__module__", None) != "flask_httpauth":
            if all(own is not f for _, f in found):
                found.append(("auth.error_handler", own))
    return found


def route_auths(app: t.Any) -> abc.Iterator[t.Any]:
    """The auth objects APIFlask's ``auth_required`` and APIFairy's
    ``authenticate`` keep in the ``_spec`` of the app's views, of a
    ``MethodView``'s methods and of ``before_request`` functions."""
    specs: list[t.Any] = []
    for view in app.view_functions.values():
        specs.append(getattr(view, "_spec", None))
        method_specs = getattr(view, "_method_spec", None)
        if isinstance(method_specs, abc.Mapping):
            specs.extend(method_specs.values())
    for funcs in app.before_request_funcs.values():
        specs.extend(getattr(f, "_spec", None) for f in funcs)
    for spec in specs:
        if isinstance(spec, abc.Mapping) and spec.get("auth") is not None:
            yield spec["auth"]
