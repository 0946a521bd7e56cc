"""Slots released while the storage is down or slow are not lost: the release
is kept and made as soon as the storage answers, so the limit admits its
count again without waiting for the slot TTL. On memory storage that fails on
demand, then on a real Redis behind a cuttable link and a Redis that stalls."""

from __future__ import annotations

import time
import typing as t

import pytest
from flask import Flask
from flask import Response
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors.limits_storage import MemoryConcurrencyStorage
from tests.support.redis_server import RedisServer
from tests.support.redis_server import requires_redis
from tests.support.tcp_proxy import TcpProxy

RETRY = 0.1  # limits_retry_interval of the apps below


class Interrupted(BaseException):
    """What cuts a greenlet short (``gevent.Timeout``, ``GreenletExit``)."""


class FlakyStorage(MemoryConcurrencyStorage):
    """Memory storage that fails like an unreachable Redis while ``down``.
    With ``late``, a failing acquire still takes its slot, as a Redis that
    answers after the client's timeout does."""

    errors: tuple[type[BaseException], ...] = (ConnectionError,)

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location
        self.down = False
        self.late = False
        self.interrupt = False
        self.released: list[str] = []

    def acquire(self, key: str, slot: str, limit: int, ttl: float) -> tuple[bool, int]:
        if self.interrupt:
            super().acquire(key, slot, limit, ttl)
            raise Interrupted
        if self.down:
            if self.late:
                super().acquire(key, slot, limit, ttl)
            raise ConnectionError("timed out")
        return super().acquire(key, slot, limit, ttl)

    def release(self, key: str, slot: str) -> None:
        if self.down:
            raise ConnectionError("refused")
        self.released.append(slot)
        super().release(key, slot)


def _app(
    storage: t.Any = None, limit: int = 1, **options: t.Any
) -> tuple[Flask, ConcurrencyLimiter]:
    app = Flask("release")
    app.config["TESTING"] = True
    ApiErrors(app, format="error")
    limiter = ConcurrencyLimiter(
        app, key_func=lambda: "k", storage=storage, limits_retry_interval=RETRY, **options
    )

    @app.get("/hold")
    @limiter.limit(limit, scope="s")
    def hold() -> Response:
        return Response(iter(["held"]))

    return app, limiter


def _hold(client: FlaskClient) -> TestResponse:
    response = client.get("/hold")
    assert response.status_code == 200
    return response


def _admitted(client: FlaskClient, tries: int) -> tuple[list[int], list[TestResponse]]:
    """Statuses of ``tries`` requests held open together, and the open ones."""
    responses = [client.get("/hold") for _ in range(tries)]
    return [r.status_code for r in responses], responses


def _in_flight(app: Flask, limiter: ConcurrencyLimiter) -> int:
    with app.test_request_context():
        return limiter.in_flight("k", "s")


def _assert_admits_its_count_again(
    app: Flask, limiter: ConcurrencyLimiter, client: FlaskClient
) -> None:
    """Once the kept release is made, the limit of 1 admits one request."""
    time.sleep(RETRY + 0.02)
    statuses, responses = _admitted(client, 2)
    assert statuses == [200, 429]
    for response in responses:
        response.close()
    assert _in_flight(app, limiter) == 0


@pytest.fixture
def flaky(request: pytest.FixtureRequest) -> FlakyStorage:
    return FlakyStorage(f"flaky {request.node.nodeid}")


# -- memory storage failing on demand ---------------------------------------------------------


def test_a_release_that_fails_is_made_once_the_storage_answers(flaky: FlakyStorage) -> None:
    app, limiter = _app(flaky)
    client = app.test_client()
    held = _hold(client)
    flaky.down = True
    held.close()  # the release fails: kept
    assert _in_flight(app, limiter) == 0  # (skipped: the storage is down)
    flaky.down = False
    time.sleep(RETRY + 0.02)
    statuses, responses = _admitted(client, 2)
    assert statuses == [200, 429]  # the limit admits exactly its count
    assert len(flaky.released) == 1
    for response in responses:
        response.close()
    assert _in_flight(app, limiter) == 0


def test_a_release_skipped_during_an_outage_is_kept(flaky: FlakyStorage) -> None:
    app, limiter = _app(flaky, limit=2)
    client = app.test_client()
    held = [_hold(client), _hold(client)]
    flaky.down = True
    assert client.get("/hold", buffered=True).status_code == 200  # fails open: outage starts
    flaky.down = False  # the storage answers, but the guard waits for the retry interval
    for response in held:
        response.close()  # skipped, not tried: kept
    assert flaky.released == []
    time.sleep(RETRY + 0.02)
    statuses, responses = _admitted(client, 3)
    assert statuses == [200, 200, 429]
    # The two held slots, and the member of the acquire that failed (a no-op).
    assert len(flaky.released) == 3
    for response in responses:
        response.close()
    assert _in_flight(app, limiter) == 0


def test_an_acquire_that_fails_late_gives_its_slot_back(flaky: FlakyStorage) -> None:
    # A Redis that answers after the client gave up still runs the acquire:
    # the request went on without a slot, so nobody would release it.
    app, limiter = _app(flaky)
    client = app.test_client()
    flaky.down = flaky.late = True
    assert client.get("/hold", buffered=True).status_code == 200  # fail-open, slot taken late
    flaky.down = False
    key = limiter._storage_key(app.extensions["apierrors_concurrency"][limiter], "s", "k")
    assert flaky.count(key) == 1  # held by no request
    _assert_admits_its_count_again(app, limiter, client)


def test_an_acquire_cut_short_gives_its_slot_back(flaky: FlakyStorage) -> None:
    # gevent.Timeout and GreenletExit are BaseExceptions: Redis may still run
    # the acquire a greenlet's timeout interrupted.
    app, limiter = _app(flaky)
    client = app.test_client()
    flaky.interrupt = True
    with pytest.raises(Interrupted):
        client.get("/hold")
    flaky.interrupt = False
    _assert_admits_its_count_again(app, limiter, client)


def test_a_kept_release_frees_only_its_own_slot(flaky: FlakyStorage) -> None:
    app, limiter = _app(flaky)
    client = app.test_client()
    first = _hold(client)
    flaky.down = True
    first.close()  # fails: kept
    first.close()  # closing twice releases nothing more
    flaky.down = False
    time.sleep(RETRY + 0.02)
    second = _hold(client)  # the kept release runs first, then this takes the slot
    limits = app.extensions["apierrors_concurrency"][limiter]
    assert limits.guard.pending == 0
    assert len(flaky.released) == 1
    # Releasing the first request's member again (as when a release that
    # timed out had in fact reached Redis) leaves the second's slot alone.
    flaky.release(limiter._storage_key(limits, "s", "k"), flaky.released[0])
    assert _in_flight(app, limiter) == 1
    assert client.get("/hold", buffered=True).status_code == 429
    second.close()
    assert _in_flight(app, limiter) == 0


# -- real Redis ---------------------------------------------------------------------------------


def _redis_members(redis_port: int) -> int:
    import redis

    client = redis.Redis(port=redis_port)
    try:
        return sum(int(client.zcard(key)) for key in client.scan_iter("apierrors:concurrency*"))
    finally:
        client.close()


@pytest.mark.slow
@requires_redis
def test_slots_released_while_the_redis_link_is_cut_are_freed_when_it_is_back() -> None:
    with RedisServer() as server, TcpProxy(server.port) as proxy:
        app, limiter = _app(limit=2, storage_uri=f"{proxy.url}/0", concurrency_socket_timeout=0.3)
        client = app.test_client()
        held = [_hold(client), _hold(client)]
        proxy.cut()
        for response in held:
            response.close()  # one release fails, the other is skipped: both kept
        assert _redis_members(server.port) == 2
        proxy.restore()
        time.sleep(RETRY + 0.05)
        statuses, responses = _admitted(client, 3)
        assert statuses == [200, 200, 429]
        assert _redis_members(server.port) == 2
        for response in responses:
            response.close()
        assert _in_flight(app, limiter) == 0
        assert _redis_members(server.port) == 0


@pytest.mark.slow
@requires_redis
def test_slots_survive_a_redis_stall() -> None:
    # A stalled Redis (a slow script, a fork, SIGSTOP here) runs the commands
    # the client gave up on once it resumes: a late acquire takes a slot no
    # request holds; releases made while the guard skips Redis are kept.
    with RedisServer() as server:
        app, limiter = _app(limit=2, storage_uri=f"{server.url}/0", concurrency_socket_timeout=0.3)
        client = app.test_client()
        held = _hold(client)
        server.pause()
        try:
            late = client.get("/hold", buffered=True)  # times out: fails open
            assert late.status_code == 200
            held.close()  # the outage is on: skipped, kept
        finally:
            server.resume()
        time.sleep(0.2)  # Redis runs the late acquire
        assert _redis_members(server.port) == 2
        time.sleep(RETRY)
        statuses, responses = _admitted(client, 3)
        assert statuses == [200, 200, 429]
        for response in responses:
            response.close()
        assert _redis_members(server.port) == 0
