"""An app with rate and concurrency limits kept in Redis, served by gunicorn
in tests (``tests.apps.limits_app:create_app()``).

Environment: ``LIMITS_REDIS_URL`` (required), ``LIMITS_FAIL_OPEN`` (``1``
default, or ``0``), ``LIMITS_SOCKET_TIMEOUT`` (seconds, default 0.25),
``LIMITS_SLOT_TTL`` (seconds, default 300). Requests are counted per
``X-Client`` header, so each test uses its own key.

``GET /limited``
    100 requests per minute; answers the worker's PID.
``GET /slow?sleep=S``
    at most 5 in flight; the view counts itself in Redis (``/stats`` reports
    the most ever seen in it at once), sleeping ``S`` seconds (default 0.2).
``GET /both``
    both limits, generous (for outage tests).
``GET /small``
    3 requests per minute.
``GET /stream``
    one stream per client at a time, 400 chunks 50 ms apart.
``GET /hold?sleep=S``
    one per client at a time; records the worker's PID in Redis, then sleeps.
``GET /stats?client=C&scope=S``
    ``max_in_flight`` and ``in_flight`` seen by ``/slow``, ``slots`` held in
    scope ``S`` (``slow``, ``stream``, ``hold``), and ``hold_pid``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import typing as t

import redis
from flask import Flask
from flask import Response
from flask import request
from flask_limiter import Limiter

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter

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
    limits_logger = logging.getLogger("flask_apierrors.limits")
    limits_logger.addHandler(handler)
    limits_logger.setLevel(logging.INFO)


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
        concurrency_slot_ttl=float(os.environ.get("LIMITS_SLOT_TTL", "300")),
    )
    # Bounded waits on Redis for flask-limiter too (redis-py's default is 5s).
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
    }
    limiter = Limiter(client_key, app=app, storage_uri=url, headers_enabled=True)
    concurrency = ConcurrencyLimiter(app, key_func=client_key)
    probe = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    enter = probe.register_script(_ENTER)

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
        enter(keys=[f"test:inflight:{key}", f"test:max:{key}"])
        try:
            time.sleep(float(request.args.get("sleep", "0.2")))
        finally:
            probe.decr(f"test:inflight:{key}")
        return {"ok": True}

    @app.get("/stream")
    @concurrency.limit(1, scope="stream")
    def stream() -> Response:
        def chunks() -> t.Iterator[str]:
            for i in range(400):
                yield f"data: {i}\n\n"
                time.sleep(0.05)

        return Response(chunks(), mimetype="text/event-stream")

    @app.get("/hold")
    @concurrency.limit(1, scope="hold")
    def hold() -> dict[str, bool]:
        probe.set(f"test:hold_pid:{client_key()}", os.getpid())
        time.sleep(float(request.args.get("sleep", "0")))
        return {"ok": True}

    @app.get("/stats")
    def stats() -> dict[str, t.Any]:
        key = request.args["client"]
        return {
            "max_in_flight": int(probe.get(f"test:max:{key}") or 0),
            "in_flight": int(probe.get(f"test:inflight:{key}") or 0),
            "slots": concurrency.in_flight(key, request.args.get("scope", "slow")),
            "hold_pid": int(probe.get(f"test:hold_pid:{key}") or 0),
        }

    return app
