"""The concurrency storages (memory, and from a URI: Redis clients are only
constructed, never connected) and how StorageGuard's warning names a Redis error
reply (the one test that needs a real Redis)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import typing as t

import pytest
import redis
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors.limits_storage import MemoryConcurrencyStorage
from flask_apierrors.limits_storage import RedisConcurrencyStorage
from flask_apierrors.limits_storage import StorageGuard
from flask_apierrors.limits_storage import check_storage_uri
from flask_apierrors.limits_storage import concurrency_storage_from_uri
from flask_apierrors.limits_storage import redis_location
from tests.support.servers import RedisServer
from tests.support.servers import requires_redis


@pytest.mark.parametrize(
    ("reply", "named"),
    [
        ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable", "MISCONF"),
        ("BUSY Redis is busy running a script. You can only call SCRIPT KILL", "BUSY"),
        ("READONLY You can't write against a read only replica.", "READONLY"),
        ("WRONGPASS invalid username-password pair or user is disabled.", "WRONGPASS"),
    ],
)
def test_the_warning_names_a_redis_reply_by_its_code(
    caplog: pytest.LogCaptureFixture, reply: str, named: str
) -> None:
    from redis._parsers.base import BaseParser

    # The exception redis-py raises for that reply (its parser is untyped).
    error: BaseException = t.cast(t.Any, BaseParser).parse_error(reply)

    def op() -> str:
        raise error

    with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
        StorageGuard("s").run(
            op, (), lambda: "fallback", fail_open=True, errors=(redis.RedisError,)
        )
    message = caplog.records[0].getMessage()
    assert message.startswith(f"Limit storage s replies {named}: requests pass unchecked")
    assert reply.split(" ", 1)[1][:12] not in message  # nothing else of the reply


@pytest.mark.slow
@requires_redis
def test_a_real_redis_reply_is_named_by_its_code(caplog: pytest.LogCaptureFixture) -> None:
    with RedisServer() as server:
        admin, spinning = redis.Redis.from_url(server.url), redis.Redis.from_url(server.url)
        app = Flask("busy")
        ApiErrors(app, concurrency_storage_uri=server.url)
        concurrency = ConcurrencyLimiter(app)

        @app.get("/")
        @concurrency.limit(2)
        def view() -> str:
            return "ok"

        # A script that runs too long: Redis answers BUSY (a plain ResponseError).
        admin.config_set("busy-reply-threshold", 10)

        def spin() -> None:
            with contextlib.suppress(redis.ResponseError):  # SCRIPT KILL ends it
                spinning.eval("while true do end", 0)

        script = threading.Thread(target=spin)
        script.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until Redis answers BUSY
                try:
                    admin.ping()
                except redis.ResponseError:
                    break
                time.sleep(0.01)
            with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
                assert app.test_client().get("/").status_code == 200  # fail-open
        finally:
            admin.script_kill()
            script.join(5)
            admin.close()
            spinning.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert f"Limit storage Redis 127.0.0.1:{server.port}/0 replies BUSY:" in warnings[0]


def test_a_reply_class_without_its_code_is_still_a_reply(caplog: pytest.LogCaptureFixture) -> None:
    # redis-py before 7.2 keeps no status_code on its reply classes.
    class ReadOnlyError(redis.exceptions.ResponseError):
        status_code = None

    def op() -> str:
        raise ReadOnlyError("You can't write against a read only replica.")

    with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
        StorageGuard("s").run(op, (), lambda: "", fail_open=True, errors=(redis.RedisError,))
    assert (
        caplog.records[0]
        .getMessage()
        .startswith("Limit storage s replies an error (ReadOnlyError): requests pass unchecked")
    )


# -- memory storage -------------------------------------------------------------------------


def test_memory_storage_counts_releases_and_expires() -> None:
    storage = MemoryConcurrencyStorage()
    assert [storage.acquire("k", f"s{i}", 2, 10) for i in range(3)] == [
        (True, 1),
        (True, 2),
        (False, 2),
    ]
    assert storage.count("k") == 2
    storage.release("k", "s0")
    storage.release("k", "s0")  # twice is harmless
    assert storage.acquire("k", "s3", 2, 0.05) == (True, 2)
    storage.refresh("k", "s1", 0.05)
    storage.refresh("k", "gone", 10)  # refreshing a released slot does not add it
    time.sleep(0.06)
    assert storage.count("k") == 0
    assert storage.count("other") == 0
    assert storage._slots == {}


def test_memory_storage_keys_are_independent() -> None:
    storage = MemoryConcurrencyStorage()
    assert storage.acquire("a", "x", 1, 10) == (True, 1)
    assert storage.acquire("b", "x", 1, 10) == (True, 1)
    assert storage.acquire("a", "y", 1, 10) == (False, 1)


# -- storage from a URI ---------------------------------------------------------------------


def test_memory_uri() -> None:
    assert isinstance(concurrency_storage_from_uri("memory://"), MemoryConcurrencyStorage)


@pytest.mark.parametrize(
    ("uri", "location"),
    [
        ("redis://127.0.0.1:6390/2", "Redis 127.0.0.1:6390/2"),
        ("rediss://cache.internal:6380", "Redis cache.internal:6380/0"),
        ("redis+unix:///run/redis.sock?db=3", "Redis /run/redis.sock/3"),
    ],
)
def test_redis_uris_get_bounded_clients(uri: str, location: str) -> None:
    storage = concurrency_storage_from_uri(uri, socket_timeout=0.25)
    assert isinstance(storage, RedisConcurrencyStorage)
    assert storage.location == location
    kwargs = storage.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.25
    assert kwargs["retry"] is None
    storage.client.close()


@pytest.mark.parametrize("uri", ["memcached://127.0.0.1:11211", "valkey+sentinel://h:1/m", "x"])
def test_unsupported_uris(uri: str) -> None:
    with pytest.raises(ValueError, match="memory://"):
        concurrency_storage_from_uri(uri)
    with pytest.raises(ValueError, match="memory://"):
        check_storage_uri(uri)


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [("memory://", "memory"), ("redis://h:1/0", "redis"), ("unix:///run/r.sock", "unix")],
)
def test_supported_uris_are_checked_without_a_client(uri: str, scheme: str) -> None:
    assert check_storage_uri(uri) == scheme


def test_location_of_other_clients() -> None:
    client = object()
    assert redis_location(client) == f"object {id(client):#x}"
