"""flask-jwt-extended: its 401s, 422s and 400s in the app's format.

``JWTManager.init_app`` registers a handler on the app for each of its
exception classes and PyJWT's (``NoAuthorizationError``,
``ExpiredSignatureError``, ``InvalidTokenError`` ...), answering
``{"msg": ...}`` through the manager's loader callbacks. On an app where
the manager is set up, ApiErrors takes those handlers over (at ``init_app``
and again at the first request, so ``JWTManager(app)`` may come before or
after ``ApiErrors(app)``), keeping flask-jwt-extended's statuses and
messages:

- 401 ``unauthorized``: no token (``Missing Authorization Header`` ...),
  expired, revoked or not fresh, user lookup failed, CSRF check failed;
- 422 ``unprocessable_entity``: a token that cannot be read or verified
  (``Signature verification failed`` ...), or of the wrong type;
- 400 ``bad_request``: the claims verification callback failed.

A handler of the app's own for one of those classes
(``@app.errorhandler(NoAuthorizationError)``) is left to answer it.

The exception's text is ``Problem.description``. The manager's loader
callbacks (``@jwt.expired_token_loader`` ...) answer only where ApiErrors is
off, and a warning names the app's own at its first request; to give an
error your own code, register a converter for its class
(``errors.register_converter(ExpiredSignatureError, ...)``): the app's
converters are tried first.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from ..coexistence import app_handlers
from . import adoption

if t.TYPE_CHECKING:
    from ..plugins import Plugin
    from ..problem import Problem
    from ..state import AppState
    from .base import Context

#: Where ``JWTManager`` keeps itself in ``app.extensions``.
EXTENSION_KEY: t.Final = "flask-jwt-extended"


class JwtConverter:
    """flask-jwt-extended's and PyJWT's exceptions -> Problem, with the
    app's identity claim (``JWT_IDENTITY_CLAIM``) for user lookup errors."""

    __slots__ = ("identity_claim",)

    def __init__(self, identity_claim: str = "sub") -> None:
        self.identity_claim = identity_claim

    def __call__(self, e: BaseException, ctx: Context) -> Problem | None:
        from flask_jwt_extended import exceptions as jx
        from jwt import ExpiredSignatureError
        from jwt import PyJWTError

        if not isinstance(e, (jx.JWTExtendedException, PyJWTError)):
            return None
        status, message = 422, str(e)
        if isinstance(e, ExpiredSignatureError):
            status, message = 401, "Token has expired"
        elif isinstance(e, jx.FreshTokenRequired):
            status, message = 401, "Fresh token required"
        elif isinstance(e, jx.RevokedTokenError):
            status, message = 401, "Token has been revoked"
        elif isinstance(e, jx.UserLookupError):
            identity = (getattr(e, "jwt_data", None) or {}).get(self.identity_claim)
            status, message = 401, f"Error loading the user {identity}"
        elif isinstance(e, jx.UserClaimsVerificationError):
            status, message = 400, "User claims verification failed"
        elif isinstance(e, (jx.NoAuthorizationError, jx.CSRFError)):
            status = 401
        spec = ctx.catalog.for_status(status)
        return ctx.problem(
            spec.code if spec is not None else "unauthorized",
            status=status,
            message=message or None,
            description=str(e),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JwtConverter) and other.identity_claim == self.identity_claim

    def __hash__(self) -> int:
        return hash((JwtConverter, self.identity_claim))


def _take_over(state: AppState) -> None:
    app = state.app
    if EXTENSION_KEY not in app.extensions:
        return
    from flask_jwt_extended.exceptions import JWTExtendedException
    from jwt import PyJWTError

    convert = JwtConverter(str(app.config.get("JWT_IDENTITY_CLAIM", "sub")))
    for exc_type in list(app_handlers(app)):
        if issubclass(exc_type, (JWTExtendedException, PyJWTError)):
            adoption.take_over(state, exc_type, convert, framework="flask_jwt_extended")


#: The manager's error callbacks ApiErrors answers in place of, by the
#: decorator that sets them.
_LOADERS: t.Final = {
    "jwt.expired_token_loader": "_expired_token_callback",
    "jwt.invalid_token_loader": "_invalid_token_callback",
    "jwt.needs_fresh_token_loader": "_needs_fresh_token_callback",
    "jwt.revoked_token_loader": "_revoked_token_callback",
    "jwt.unauthorized_loader": "_unauthorized_callback",
    "jwt.user_lookup_error_loader": "_user_lookup_error_callback",
    "jwt.token_verification_failed_loader": "_token_verification_failed_callback",
}


def _name_loaders(state: AppState) -> None:
    """Name the app's own loader callbacks, which answer only where
    ApiErrors is off (a status they chose, 419 or 401, is not kept)."""
    manager = state.app.extensions.get(EXTENSION_KEY)
    if manager is None:
        return
    from flask_jwt_extended import default_callbacks

    custom = []
    for loader, attr in _LOADERS.items():
        callback = getattr(manager, attr, None)
        default = getattr(default_callbacks, f"default{attr}", callback)
        if callback is not None and callback is not default:
            custom.append((loader, callback))
    adoption.ignored_callbacks(state, "flask-jwt-extended", custom)


def plugin() -> Plugin | None:
    """The entry point: ``None`` without flask-jwt-extended."""
    return adoption.framework_plugin(
        "jwt_extended", "flask_jwt_extended", _take_over, check=_name_loaders
    )
