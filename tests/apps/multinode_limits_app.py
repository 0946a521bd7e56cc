"""An app with rate and concurrency limits on any Redis URI the limits
accept (one server, ``redis+sentinel://``, ``redis+cluster://``), served by
gunicorn in tests (``tests.apps.multinode_limits_app:create_app()``).

Environment: ``LIMITS_REDIS_URL`` (required), ``LIMITS_FAIL_OPEN`` (``1``
default, or ``0``), ``LIMITS_SOCKET_TIMEOUT`` (seconds, default 0.25),
``LIMITS_MAINTENANCE_REDIS`` (``1``: the maintenance state is kept in
Redis at the same URL, one server only). Requests are counted per
``X-Client`` header, so each test uses its own key. Both limiters get their
bounded Redis options from the package
(:func:`~flask_apierrors.limits_storage.redis_storage_options`).

``GET /health``
    the worker's PID; no limit.
``GET /limited``
    100 requests per minute; answers the worker's PID.
``GET /small``
    3 requests per minute.
``GET /both``
    both limits, generous (for outage tests).
``GET /slow?sleep=S``
    at most 5 in flight; the view counts itself in Redis (``/stats``
    reports the most ever seen in it at once), sleeping ``S`` seconds
    (default 0.2). Its two keys share a hash tag: one slot on a cluster.
``GET /stats?client=C``
    ``max_in_flight`` and ``in_flight`` seen by ``/slow`` and the ``slots``
    the limiter holds for C there.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import typing as t

from flask import Flask
from flask import request
from flask_limiter import Limiter

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors.availability import Maintenance
from flask_apierrors.availability import RedisStore
from flask_apierrors.limits_storage import LazyRedisCluster
from flask_apierrors.limits_storage import redis_storage_options
from flask_apierrors.limits_storage.redis_clients import redis_client

# Atomically count a request in, and remember the most ever in at once.
_ENTER = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
"""


def client_key() -> str:
    return request.headers.get("X-Client") or request.remote_addr or "-"


def _logging() -> None:
    # The WARNING/INFO lines of the outage policy, tagged with the worker PID.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s [%(process)d] %(message)s"))
    for name in ("flask_apierrors.limits", "flask_apierrors.availability"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _Probe:
    """The app's own view of Redis, made at first use in each worker."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self._client: t.Any = None
        self._enter: t.Any = None
        self._lock = threading.Lock()

    def client(self) -> t.Any:
        with self._lock:
            if self._client is None:
                made = redis_client(self.url, socket_timeout=self.timeout)
                self._client = made.get() if isinstance(made, LazyRedisCluster) else made
                self._enter = self._client.register_script(_ENTER)
        return self._client

    def enter(self, key: str) -> None:
        self.client()
        self._enter(keys=[f"test:{{{key}}}:inflight", f"test:{{{key}}}:max"])

    def leave(self, key: str) -> None:
        self.client().decr(f"test:{{{key}}}:inflight")

    def number(self, key: str) -> int:
        return int(self.client().get(key) or 0)


def create_app() -> Flask:
    url = os.environ["LIMITS_REDIS_URL"]
    timeout = float(os.environ.get("LIMITS_SOCKET_TIMEOUT", "0.25"))
    _logging()
    app = Flask(__name__)
    ApiErrors(
        app,
        format="error",
        limits_fail_open=os.environ.get("LIMITS_FAIL_OPEN", "1") == "1",
        limits_retry_interval=0.5,
        concurrency_storage_uri=url,
        concurrency_socket_timeout=timeout,
        maintenance_check_interval=0.5,
    )
    app.config["RATELIMIT_STORAGE_OPTIONS"] = redis_storage_options(url, socket_timeout=timeout)
    limiter = Limiter(client_key, app=app, storage_uri=url, headers_enabled=True)
    concurrency = ConcurrencyLimiter(app, key_func=client_key)
    if os.environ.get("LIMITS_MAINTENANCE_REDIS") == "1":
        Maintenance(app, store=RedisStore(url, socket_timeout=timeout))
    probe = _Probe(url, timeout)

    @app.get("/health")
    def health() -> dict[str, t.Any]:
        return {"ok": True, "pid": os.getpid()}

    @app.get("/limited")
    @limiter.limit("100/minute")
    def limited() -> dict[str, t.Any]:
        return {"ok": True, "pid": os.getpid()}

    @app.get("/small")
    @limiter.limit("3/minute")
    def small() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/both")
    @limiter.limit("100000/minute")
    @concurrency.limit(1000)
    def both() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/slow")
    @concurrency.limit(5, scope="slow")
    def slow() -> dict[str, bool]:
        key = client_key()
        probe.enter(key)
        try:
            time.sleep(float(request.args.get("sleep", "0.2")))
        finally:
            probe.leave(key)
        return {"ok": True}

    @app.get("/stats")
    def stats() -> dict[str, t.Any]:
        key = request.args["client"]
        return {
            "max_in_flight": probe.number(f"test:{{{key}}}:max"),
            "in_flight": probe.number(f"test:{{{key}}}:inflight"),
            "slots": concurrency.in_flight(key, "slow"),
        }

    return app
