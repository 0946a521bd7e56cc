"""StorageGuard (the outage policy) and the concurrency storages, without a
server (but for the error replies of a real Redis): Redis clients are only
constructed here, never connected."""

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
from flask_apierrors.limits_storage import StorageUnavailable
from flask_apierrors.limits_storage import check_storage_uri
from flask_apierrors.limits_storage import concurrency_storage_from_uri
from flask_apierrors.limits_storage import guard_for
from flask_apierrors.limits_storage import redis_location
from tests.support.servers import RedisServer
from tests.support.servers import requires_redis

ERRORS = (ConnectionError, TimeoutError)


class Backend:
    """An operation that fails while ``down`` and counts its calls."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def op(self) -> str:
        self.calls += 1
        if self.down:
            raise ConnectionError("refused")
        return "stored"


def _call(guard: StorageGuard, backend: Backend, **kwargs: t.Any) -> str:
    options: dict[str, t.Any] = {"fail_open": True, "errors": ERRORS, **kwargs}
    return guard.run(backend.op, (), lambda: "fallback", **options)


# -- StorageGuard -----------------------------------------------------------------------------


def test_passes_results_through() -> None:
    guard, backend = StorageGuard("s", retry_interval=0.05), Backend()
    assert [_call(guard, backend) for _ in range(3)] == ["stored"] * 3
    assert not guard.down


def test_one_warning_skips_and_one_info_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    guard, backend = StorageGuard("s", retry_interval=0.2), Backend()
    with caplog.at_level(logging.INFO, logger="flask_apierrors.limits"):
        backend.down = True
        assert [_call(guard, backend) for _ in range(50)] == ["fallback"] * 50
        assert backend.calls == 1  # the others skipped the storage
        assert guard.down
        time.sleep(0.21)
        assert _call(guard, backend) == "fallback"  # one probe, still down
        assert backend.calls == 2
        backend.down = False
        assert _call(guard, backend) == "fallback"  # not yet time to probe
        time.sleep(0.21)
        assert _call(guard, backend) == "stored"
    assert not guard.down
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in levels] == [logging.WARNING, logging.INFO]
    assert "(ConnectionError)" in levels[0][1]
    assert "answers again" in levels[1][1]
    assert "skipped it meanwhile" in levels[1][1]


def test_apps_of_both_policies_on_one_storage_are_each_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One WARNING per outage named only the policy of the app that met the
    # outage first: "requests pass unchecked" while another app's got 503s.
    guard, backend = StorageGuard("shared", retry_interval=60), Backend()
    backend.down = True
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
        for _ in range(3):
            assert _call(guard, backend, fail_open=True) == "fallback"
            with pytest.raises(StorageUnavailable):
                _call(guard, backend, fail_open=False)
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 2
    assert "pass unchecked (fail-open)" in told[0] and "get 503 (fail-closed)" in told[1]
    assert all("(ConnectionError)" in line for line in told)


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


@pytest.mark.parametrize(
    ("retry_interval", "retry_after"),
    [(0.05, 1), (1.0, 1), (2.5, 3), (30.0, 30)],
)
def test_fail_closed_raises_with_the_wait(retry_interval: float, retry_after: int) -> None:
    guard, backend = StorageGuard("s", retry_interval=retry_interval), Backend()
    backend.down = True
    for _ in range(2):  # the failing call, then a skipped one
        with pytest.raises(StorageUnavailable) as info:
            _call(guard, backend, fail_open=False)
        assert info.value.retry_after == retry_after
        assert info.value.status == 503
        assert info.value.details == {"retry_after": retry_after}
        assert info.value.headers == {"Retry-After": str(retry_after)}
        assert info.value.__cause__ is None
    assert backend.calls == 1


def test_calls_that_may_not_refuse_fall_back_in_fail_closed_mode() -> None:
    guard, backend = StorageGuard("s", retry_interval=10), Backend()
    backend.down = True
    assert _call(guard, backend, fail_open=False, refuse=False) == "fallback"
    assert _call(guard, backend, fail_open=False, refuse=False) == "fallback"


def test_other_exceptions_are_bugs_not_outages() -> None:
    guard = StorageGuard("s")

    def broken() -> str:
        raise TypeError("bad argument")

    with pytest.raises(TypeError):
        guard.run(broken, (), lambda: "fallback", fail_open=True, errors=ERRORS)
    assert not guard.down


def test_one_probe_at_a_time_across_threads() -> None:
    guard = StorageGuard("s", retry_interval=0.2)
    calls = []
    gate = threading.Event()
    gate.set()

    def slow_failure() -> str:
        calls.append(1)
        gate.wait(1)
        raise TimeoutError("no answer")

    assert guard.run(slow_failure, (), lambda: "down", fail_open=True, errors=ERRORS) == "down"
    assert guard.down
    gate.clear()
    time.sleep(0.21)  # the probe is due
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                guard.run(slow_failure, (), lambda: "skipped", fail_open=True, errors=ERRORS)
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 2  # the first failure, then exactly one probe
    assert results == ["skipped"] * 8


# -- kept calls (a release that must not be lost) ----------------------------------------------


class Kept:
    """Records the kept calls the guard runs; fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.done: list[str] = []

    def op(self, name: str) -> None:
        if self.down:
            raise ConnectionError("refused")
        self.done.append(name)


def _keep(guard: StorageGuard, kept: Kept, name: str, seconds: float = 60.0) -> None:
    guard.run(lambda: kept.op(name), (), lambda: None, fail_open=True, errors=ERRORS, keep=seconds)


def test_a_failed_or_skipped_call_is_kept_and_run_first_when_the_storage_answers() -> None:
    guard, backend, kept = StorageGuard("s", retry_interval=0.05), Backend(), Kept()
    kept.down = True
    _keep(guard, kept, "failed")  # tried: fails, the outage starts
    _keep(guard, kept, "skipped")  # not tried during the outage
    assert guard.down and guard.pending == 2 and kept.done == []
    kept.down = False
    assert _call(guard, backend) == "fallback"  # still inside the retry interval
    assert kept.done == []
    time.sleep(0.06)
    seen: list[str] = []

    def op() -> str:
        seen.extend(kept.done)
        return "stored"

    assert guard.run(op, (), lambda: "x", fail_open=True, errors=ERRORS) == "stored"
    assert seen == ["failed", "skipped"]  # run before the call itself
    assert not guard.down and guard.pending == 0


def test_a_kept_call_that_fails_again_stays_and_counts_as_the_probe() -> None:
    guard, backend, kept = StorageGuard("s", retry_interval=0.05), Backend(), Kept()
    kept.down = True
    _keep(guard, kept, "a")
    _keep(guard, kept, "b")
    time.sleep(0.06)
    assert _call(guard, backend) == "fallback"  # the kept "a" failed: the call is not made
    assert backend.calls == 0 and guard.pending == 2 and guard.down
    kept.down = False
    time.sleep(0.06)
    assert _call(guard, backend) == "stored"
    assert kept.done == ["a", "b"] and guard.pending == 0


def test_successful_calls_are_not_kept() -> None:
    guard, kept = StorageGuard("s"), Kept()
    _keep(guard, kept, "ok")
    assert kept.done == ["ok"] and guard.pending == 0


def test_kept_calls_are_bounded_and_expire(caplog: pytest.LogCaptureFixture) -> None:
    guard, backend, kept = StorageGuard("s", retry_interval=0.05, max_pending=3), Backend(), Kept()
    kept.down = True
    for name in "abcde":
        _keep(guard, kept, name)
    assert guard.pending == 3  # the oldest were dropped
    _keep(guard, kept, "soon gone", seconds=0.01)
    assert guard.pending == 3
    kept.down = False
    time.sleep(0.06)
    with caplog.at_level(logging.INFO, logger="flask_apierrors.limits"):
        assert _call(guard, backend) == "stored"
    assert kept.done == ["d", "e"]  # "soon gone" expired: the storage let it go
    assert "3 kept calls dropped" in caplog.text


def test_guards_are_shared_per_location() -> None:
    first = guard_for("Redis shared-location:1/0", retry_interval=0.5)
    assert guard_for("Redis shared-location:1/0", retry_interval=9) is first
    assert first.retry_interval == 0.5
    assert guard_for("Redis shared-location:2/0") is not first


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(0, 1), (-5, 1), (1, 1), (45, 45)],
)
def test_storage_unavailable_waits_at_least_a_second(retry_after: int, expected: int) -> None:
    error = StorageUnavailable(retry_after)
    assert (error.error_code, error.status, error.retry_after) == (
        "service_unavailable",
        503,
        expected,
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
