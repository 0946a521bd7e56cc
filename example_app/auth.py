"""API keys: creating them, and the decorators that check them on each API.

One set of keys serves both APIs: the chat API reads
``Authorization: Bearer mel_...``, the image API ``X-API-Key: mel_...``.
Keys are ``mel_`` plus 32 letters and digits; their public id is the first
12 characters (``mel_abcdef12``). Only a SHA-256 digest is stored.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import secrets
import sqlite3
import string
import typing as t

from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException

from flask_apierrors import ApiError
from flask_apierrors.openapi import documents

from . import db
from .errors import APIException
from .errors import DatabaseException
from .settings import KEY_PATTERN

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_ALPHABET: t.Final = string.ascii_letters + string.digits
_BEARER: t.Final = "Authorization: Bearer mel_your_api_key"


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who is calling: the key's public id and whether it is an admin key."""

    key_id: str
    is_admin: bool


def key_id_of(key: str) -> str:
    """The public id of a key: its first 12 characters."""
    return key[:12]


def generate_key() -> str:
    """A new random key, ``mel_`` + 32 letters and digits."""
    return "mel_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def create_key(conn: sqlite3.Connection, *, is_admin: bool, rate_limit: int) -> tuple[str, str]:
    """Store a new key; returns ``(key, key_id)``. The key is shown once."""
    while True:
        key = generate_key()
        if db.key_by_id(conn, key_id_of(key)) is None:
            db.insert_key(conn, key_id_of(key), key, is_admin=is_admin, rate_limit=rate_limit)
            return key, key_id_of(key)


def _admin_key() -> str | None:
    value: str | None = current_app.config["ADMIN_KEY"]
    return value


def _is_admin_key(key: str) -> bool:
    admin = _admin_key()
    return admin is not None and hmac.compare_digest(admin.encode(), key.encode())


def maybe_fault() -> None:
    """With ``EXAMPLE_APP_FAULTS`` on, ``X-Fault: crash`` makes the view fail
    the way a bug would: with an exception nobody handles."""
    if current_app.config["FAULTS"] and request.headers.get("X-Fault") == "crash":
        raise RuntimeError("fault injected by the X-Fault request header")


def rate_limit_key() -> str:
    """flask-limiter's key: a digest of the presented key (limits run before
    the key is checked), else the client address."""
    header = request.headers.get("Authorization", "")
    key = header[7:].strip() if header[:7].lower() == "bearer " else ""
    key = key or request.headers.get("X-API-Key", "").strip()
    if key:
        return "key:" + db.hash_key(key)[:32]
    return "ip:" + (request.remote_addr or "-")


# -- chat API: Authorization: Bearer -----------------------------------------


def _unauthorized(message: str, **details: t.Any) -> ApiError:
    return ApiError(
        "unauthorized",
        message,
        details=details,
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def chat_identity() -> Identity:
    """The caller of the chat API, or the chat API's 401s."""
    header = request.headers.get("Authorization")
    if header is None or header[:7].lower() != "bearer ":
        raise _unauthorized("Authorization header required", required_format=_BEARER)
    key = header[7:].strip()
    if not KEY_PATTERN.fullmatch(key):
        # Describe what was sent, never echo it: it may be someone's secret.
        raise _unauthorized(
            "Invalid API key format",
            expected_format="mel_[32-character-string]",
            provided_format="invalid_key",
        )
    if _is_admin_key(key):
        return Identity(key_id_of(key), True)
    record = db.key_by_secret(db.get_db(), key)
    if record is None:
        raise _unauthorized("Invalid API key", key_id=key_id_of(key))
    if record["deactivated_at"] is not None:
        raise _unauthorized(
            "API key is deactivated",
            key_id=record["key_id"],
            deactivated_at=record["deactivated_at"],
        )
    return Identity(record["key_id"], bool(record["is_admin"]))


def chat_key_required(*, admin: bool = False) -> t.Callable[[F], F]:
    """Require a valid chat API key (an admin key with ``admin=True``)."""
    # What the OpenAPI document lists for every view behind the check.
    codes = ("unauthorized", "database_error", *(("forbidden",) if admin else ()))

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            identity = g.identity = chat_identity()
            if admin and not identity.is_admin:
                raise ApiError(
                    "forbidden",
                    "Admin API key required",
                    details={"operation": request.method, "resource": request.path},
                )
            maybe_fault()
            return view(*args, **kwargs)

        return documents(*codes)(t.cast(F, wrapper))

    return decorator


# -- image API: X-API-Key -----------------------------------------------------


def image_identity() -> Identity:
    """The caller of the image API, or the image-to-model API's errors."""
    key = request.headers.get("X-API-Key", "").strip()
    conn = db.get_db()
    if _admin_key() is None and not db.any_key(conn):
        raise ApiError("AUTHENTICATION_REQUIRED")
    if not key:
        raise ApiError("INVALID_API_KEY", "API key required", details={"header": "X-API-Key"})
    if _is_admin_key(key):
        return Identity(key_id_of(key), True)
    record = db.key_by_secret(conn, key) if KEY_PATTERN.fullmatch(key) else None
    if record is None or record["deactivated_at"] is not None:
        raise ApiError("INVALID_API_KEY")
    return Identity(record["key_id"], bool(record["is_admin"]))


def image_key_required(*, admin: bool = False) -> t.Callable[[F], F]:
    """Require a valid image API key (an admin key with ``admin=True``).

    Like the documented API, its views fail only with its own error classes:
    a database error becomes :class:`~example_app.errors.DatabaseException`
    and anything unexpected :class:`~example_app.errors.APIException` (the
    traceback goes to the log, never to the client).
    """
    codes = [
        "INVALID_API_KEY",
        "AUTHENTICATION_REQUIRED",
        *(["INSUFFICIENT_PERMISSIONS"] if admin else []),
        str(DatabaseException.error_code),
        str(APIException.error_code),
    ]

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            try:
                identity = g.identity = image_identity()
                if admin and not identity.is_admin:
                    raise ApiError("INSUFFICIENT_PERMISSIONS")
                maybe_fault()
                return view(*args, **kwargs)
            except db.StoreError as e:
                raise DatabaseException() from e
            except HTTPException:
                raise
            except Exception as e:
                current_app.logger.exception("Unexpected error in %s", request.endpoint)
                raise APIException() from e

        return documents(*codes)(t.cast(F, wrapper))

    return decorator
