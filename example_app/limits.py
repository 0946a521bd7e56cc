"""Rate limits (flask-limiter) and concurrency limits of both APIs, per API
key, kept in memory (one process) or in Redis (``RATELIMIT_STORAGE_URI``,
shared by every gunicorn worker and host): one server (``redis://``), a
Sentinel-managed master (``redis+sentinel://host:port/service_name``) or a
Cluster (``redis+cluster://host:port,host:port``). Every Redis wait is
bounded by :data:`REDIS_SOCKET_TIMEOUT`."""

from __future__ import annotations

import typing as t

import limits
from flask import current_app
from flask import g
from flask import request
from flask_limiter import Limiter

from flask_apierrors.concurrency import ConcurrencyLimiter
from flask_apierrors.limits_storage import redis_storage_options

from .auth import rate_limit_key

if t.TYPE_CHECKING:
    from flask import Blueprint
    from flask import Flask


def _caller() -> str:
    identity = g.get("identity")
    return "key:" + identity.key_id if identity is not None else rate_limit_key()


#: Seconds a request may wait for Redis to connect or answer (both limiters,
#: every node and sentinel); past it the limits outage policy applies.
REDIS_SOCKET_TIMEOUT: t.Final = 0.5

#: At most ``CONCURRENT_LIMIT`` requests of one key in flight on the chat
#: API's slow routes.
concurrency = ConcurrencyLimiter(key_func=_caller, concurrency_socket_timeout=REDIS_SOCKET_TIMEOUT)


def rate_limit_amount(limit: str) -> int:
    """``"100 per minute"`` -> ``100``."""
    return int(limits.parse(limit).amount)


def init_limits(app: Flask, chat: Blueprint, images: Blueprint, *, exempt: t.Any) -> Limiter:
    """One limit per API, shared by all its routes, per key.

    :param exempt: A view no limit applies to, and that never waits on the
        limits storage (the health check).
    """
    uri = app.config["RATELIMIT_STORAGE_URI"]
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=uri,
        # Socket timeouts and no retries ({} for memory://).
        storage_options=redis_storage_options(uri, socket_timeout=REDIS_SOCKET_TIMEOUT),
        # flask-limiter would put its Retry-After on every response (503s included);
        # flask_apierrors adds the X-RateLimit-* headers to 429s itself.
        headers_enabled=False,
    )
    limiter.shared_limit(app.config["CHAT_RATE_LIMIT"], scope="chat")(chat)
    limiter.shared_limit(app.config["IMAGE_RATE_LIMIT"], scope="images")(images)
    # Not limited at all, nor waiting on the limits storage: limiter.exempt
    # keeps the blueprint's shared limit on a view.
    limiter.request_filter(lambda: current_app.view_functions.get(request.endpoint or "") is exempt)
    concurrency.init_app(app)
    return limiter
