"""Rate limits (flask-limiter) and concurrency limits of both APIs, per API
key, kept in memory (one process) or in Redis (``RATELIMIT_STORAGE_URI``,
shared by every gunicorn worker and host)."""

from __future__ import annotations

import typing as t

import limits
from flask import g
from flask_limiter import Limiter

from flask_apierrors.concurrency import ConcurrencyLimiter

from .auth import rate_limit_key

if t.TYPE_CHECKING:
    from flask import Blueprint
    from flask import Flask


def _caller() -> str:
    identity = g.get("identity")
    return "key:" + identity.key_id if identity is not None else rate_limit_key()


#: At most ``CONCURRENT_LIMIT`` requests of one key in flight on the chat
#: API's slow routes.
concurrency = ConcurrencyLimiter(key_func=_caller)


def rate_limit_amount(limit: str) -> int:
    """``"100 per minute"`` -> ``100``."""
    return int(limits.parse(limit).amount)


def init_limits(app: Flask, chat: Blueprint, images: Blueprint, *, exempt: t.Any) -> Limiter:
    """One limit per API, shared by all its routes, per key.

    :param exempt: A view no limit applies to (the health check).
    """
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        # flask-limiter would put its Retry-After on every response (503s included);
        # flask_apierrors adds the X-RateLimit-* headers to 429s itself.
        headers_enabled=False,
    )
    limiter.shared_limit(app.config["CHAT_RATE_LIMIT"], scope="chat")(chat)
    limiter.shared_limit(app.config["IMAGE_RATE_LIMIT"], scope="images")(images)
    limiter.exempt(exempt)
    concurrency.init_app(app)
    return limiter
