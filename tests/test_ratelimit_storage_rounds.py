"""The flask-limiter 429 with Redis storage makes no more storage round
trips than flask-limiter alone makes for the same limit and headers: the
window of the breached limit is read through flask-limiter's own
``RequestLimit`` (cached there), never asked again.

Counted with Redis' ``INFO commandstats`` on a real redis-server, the same
requests against the same app with and without ApiErrors.
"""

from __future__ import annotations

import typing as t

import pytest
import redis
from flask import Flask
from flask_limiter import Limiter

from flask_apierrors import ApiErrors
from tests.support.servers import RedisServer
from tests.support.servers import requires_redis

pytestmark = [pytest.mark.slow, requires_redis]

REQUESTS: t.Final = 20


def _app(url: str, *, apierrors: bool, headers: bool, prefix: str) -> Flask:
    app = Flask(f"rounds-{prefix}")
    app.config["RATELIMIT_HEADERS_ENABLED"] = headers
    Limiter(
        lambda: "client",
        app=app,
        storage_uri=url,
        key_prefix=prefix,
        default_limits=["2 per minute"],
    )
    if apierrors:
        ApiErrors(app, format="error")

    @app.get("/limited")
    def limited() -> str:
        return "ok"

    return app


def _commands(client: redis.Redis) -> int:
    stats = t.cast(dict[str, dict[str, int]], client.info("commandstats"))
    # Everything but the INFO asking for them.
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def _rounds(server: RedisServer, *, apierrors: bool, headers: bool) -> tuple[int, list[int]]:
    prefix = f"{'ours' if apierrors else 'bare'}-{'h' if headers else 'n'}"
    app = _app(server.url, apierrors=apierrors, headers=headers, prefix=prefix)
    client = app.test_client()
    statuses = [client.get("/limited").status_code for _ in range(2)]  # the quota
    with redis.Redis.from_url(server.url) as counter:
        before = _commands(counter)
        statuses += [client.get("/limited").status_code for _ in range(REQUESTS)]
        return _commands(counter) - before - 1, statuses  # less the INFO of `before`


def test_a_429_costs_no_storage_round_more_than_flask_limiter_alone() -> None:
    with RedisServer() as server:
        counts = {}
        for apierrors in (False, True):
            for headers in (True, False):
                commands, statuses = _rounds(server, apierrors=apierrors, headers=headers)
                assert statuses == [200, 200] + [429] * REQUESTS
                counts[apierrors, headers] = commands
    alone_with_headers = counts[False, True]
    assert counts[False, False] < alone_with_headers  # its headers cost a window read
    # The same headers: the same commands.
    assert counts[True, True] <= alone_with_headers, counts
    # flask-limiter's headers off: the documented 429 still has X-RateLimit-*
    # and Retry-After, read with the one window read flask-limiter's own
    # headers make, no more.
    assert counts[True, False] <= alone_with_headers, counts
    print(f"\nRedis commands for {REQUESTS} 429s (with, without flask-limiter's headers):")
    print(f"  flask-limiter alone: {counts[False, True]}, {counts[False, False]}")
    print(f"  with ApiErrors:      {counts[True, True]}, {counts[True, False]}")
