"""Redis, Sentinel and Cluster URIs of the limit storages, their bounded
clients, and the startup checks (unsupported URIs, unbounded waits,
in-memory counts under several workers), without a server: clients are made,
and connected only to ports where nothing listens."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import typing as t

import pytest
import redis
from flask import Flask
from flask import Response
from flask_limiter import Limiter
from limits.storage import storage_from_string

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors.limits_storage import LazyRedisCluster
from flask_apierrors.limits_storage import RedisConcurrencyStorage
from flask_apierrors.limits_storage import check_storage_uri
from flask_apierrors.limits_storage import concurrency_storage_from_uri
from flask_apierrors.limits_storage import redis_location
from flask_apierrors.limits_storage import redis_storage_options
from flask_apierrors.limits_storage.redis_clients import parse_redis_uri
from flask_apierrors.limits_storage.redis_clients import redis_client
from flask_apierrors.limits_storage.redis_clients import unbounded_waits
from flask_apierrors.limits_storage.startup import several_workers
from tests.support.ports import free_port

LOGGER = "flask_apierrors.limits"


def _closed_port() -> int:
    return free_port()  # nothing listens there: connections are refused


# -- URIs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "nodes", "service", "location"),
    [
        (
            "redis+sentinel://s2:26380,s1:26379/mymaster",
            (("s2", 26380), ("s1", 26379)),
            "mymaster",
            "Redis Sentinel mymaster via s1:26379,s2:26380",
        ),
        (
            "redis+cluster://u:p%40ss@n1:7000, n2:7001",
            (("n1", 7000), ("n2", 7001)),
            None,
            "Redis Cluster n1:7000,n2:7001",
        ),
    ],
)
def test_sentinel_and_cluster_uris(
    uri: str, nodes: tuple[tuple[str, int], ...], service: str | None, location: str
) -> None:
    parsed = parse_redis_uri(uri)
    assert parsed.nodes == nodes
    assert parsed.service == service
    assert parsed.location == location
    assert "p@ss" not in repr(parsed)


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("redis+sentinel://h:26379", "service name"),
        ("redis+sentinel://h:26379/a/b", "service name"),
        ("redis+cluster://", "no host:port"),
        ("redis+cluster://node", "'node' is not host:port"),
        ("redis+cluster://a:1,b:port", "'b:port' is not host:port"),
        ("memcached://h:11211", "scheme 'memcached'"),
    ],
)
def test_malformed_uris_fail_in_one_line(uri: str, why: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_redis_uri(uri)
    message = str(excinfo.value)
    assert why in message
    assert "\n" not in message
    assert "redis+cluster://host:port[,host:port]" in message


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("redis://cache:63 79", "'cache:63 79' is not host:port"),
        ("rediss://u:pw@cache:99999/0", "'cache:99999' is not host:port"),
        ("redis://cache:6379/O", "the path must be the database number, not '/O'"),
        ("redis://cache:6379/1/2", "the path must be the database number"),
        ("unix://", "no socket path"),
        ("redis://[::1:6379", "not a URI"),
    ],
)
def test_malformed_single_server_uris_fail_in_one_line(uri: str, why: str) -> None:
    # redis-py would refuse them only when the client is made, or read the
    # database as 0.
    with pytest.raises(ValueError) as excinfo:
        parse_redis_uri(uri)
    message = str(excinfo.value)
    assert why in message
    assert "\n" not in message
    assert "pw" not in message
    assert "redis+cluster://host:port[,host:port]" in message


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("redis://user:s3cret@cache:63 79/0", "redis://user:***@cache:63 79/0"),
        ("redis://user:s3cret@[::1/0", "redis://***@[::1/0"),
    ],
)
def test_passwords_never_reach_a_single_server_message(uri: str, shown: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        check_storage_uri(uri)
    message = str(excinfo.value)
    assert message.startswith(f"APIERRORS_CONCURRENCY_STORAGE_URI={shown!r} is not valid: ")
    assert "s3cret" not in message


def test_passwords_never_reach_a_message() -> None:
    with pytest.raises(ValueError) as excinfo:
        check_storage_uri("redis+cluster://user:s3cret@node")
    assert "s3cret" not in str(excinfo.value)
    assert "user:***@node" in str(excinfo.value)


@pytest.mark.parametrize(
    "uri",
    ["redis+sentinel://h:26379/mymaster", "redis+cluster://a:7000,b:7001", "unix:///r.sock"],
)
def test_concurrency_accepts_sentinel_and_cluster(uri: str) -> None:
    assert check_storage_uri(uri) == uri.split(":", 1)[0]


# -- bounded clients ----------------------------------------------------------------------------


def test_a_sentinel_client_is_bounded_everywhere() -> None:
    client = redis_client("redis+sentinel://127.0.0.1:1,127.0.0.1:2/svc", socket_timeout=0.3)
    assert unbounded_waits(client) == []
    assert redis_location(client) == "Redis Sentinel svc via 127.0.0.1:1,127.0.0.1:2"
    sentinel = client.connection_pool.sentinel_manager.sentinels[0]
    kwargs = sentinel.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.3


def test_redis_py_defaults_are_reported() -> None:
    plain = redis.Redis.from_url("redis://127.0.0.1:1/0")
    assert unbounded_waits(plain) == ["no socket_timeout"]
    sentinel = t.cast(t.Any, storage_from_string("redis+sentinel://127.0.0.1:1/svc")).storage
    assert unbounded_waits(sentinel) == ["no socket_timeout", "sentinels: 10 retries"]
    assert unbounded_waits(object()) == []


def test_a_cluster_client_is_made_at_first_use() -> None:
    port = _closed_port()
    client = redis_client(f"redis+cluster://127.0.0.1:{port}", socket_timeout=0.3)
    assert isinstance(client, LazyRedisCluster)
    assert unbounded_waits(client) == []
    started = time.monotonic()
    with pytest.raises(redis.exceptions.RedisClusterException):
        client.get()  # no node answers: refused at once, no retry
    assert time.monotonic() - started < 1.0
    client.close()


@pytest.mark.parametrize(
    ("uri", "keys"),
    [
        ("redis://h:1/0", {"socket_timeout", "socket_connect_timeout", "retry"}),
        (
            "redis+sentinel://h:1/svc",
            {"socket_timeout", "socket_connect_timeout", "retry", "sentinel_kwargs"},
        ),
        ("redis+cluster://h:1", {"socket_timeout", "socket_connect_timeout", "retry"}),
        ("memory://", set()),
    ],
)
def test_storage_options_for_flask_limiter(uri: str, keys: set[str]) -> None:
    options = redis_storage_options(uri, socket_timeout=0.2)
    assert set(options) == keys
    if uri.startswith("redis+cluster"):
        assert options["retry"].get_retries() == 0
    if uri.startswith(("redis://", "redis+sentinel")):
        storage: t.Any = storage_from_string(uri, **options)  # connects to nothing
        assert unbounded_waits(storage.storage) == []


def test_concurrency_storage_on_a_cluster() -> None:
    port = _closed_port()
    storage = concurrency_storage_from_uri(f"redis+cluster://127.0.0.1:{port}")
    assert isinstance(storage, RedisConcurrencyStorage)
    assert storage.location == f"Redis Cluster 127.0.0.1:{port}"
    with pytest.raises(storage.errors):
        storage.acquire("k", "slot", 1, 10)


@pytest.mark.parametrize(("fail_open", "status"), [(True, 200), (False, 503)])
def test_a_cluster_down_at_startup_follows_the_outage_policy(fail_open: bool, status: int) -> None:
    app = Flask(__name__)
    uri = f"redis+cluster://127.0.0.1:{_closed_port()}"
    ApiErrors(app, limits_fail_open=fail_open, concurrency_storage_uri=uri)
    concurrency = ConcurrencyLimiter(app, key_func=lambda: "k")

    @app.get("/")
    @concurrency.limit(1)
    def index() -> Response:
        return Response("ok")

    assert app.test_client().get("/").status_code == status


# -- startup checks -----------------------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelname == "WARNING"]


def test_an_unsupported_ratelimit_uri_fails_at_setup() -> None:
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "reddis://cache:6379"
    with pytest.raises(ValueError) as excinfo:
        ApiErrors(app)
    message = str(excinfo.value)
    assert "RATELIMIT_STORAGE_URI scheme 'reddis'" in message
    assert "redis+cluster://" in message and "memory://" in message
    assert "\n" not in message
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "redis+sentinel://h:26379"
    with pytest.raises(ValueError, match="service name"):
        ApiErrors(app)


def _limited_app(uri: str, options: dict[str, t.Any] | None = None) -> Flask:
    """flask-limiter set up first: ApiErrors checks its storage at setup."""
    app = Flask(__name__)
    Limiter(lambda: "k", app=app, storage_uri=uri, storage_options=options or {})
    ApiErrors(app)
    return app


def test_unbounded_flask_limiter_storage_warns_naming_the_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        _limited_app("redis://127.0.0.1:1/0")
        _limited_app("redis+sentinel://127.0.0.1:1/svc")
        _limited_app("redis://127.0.0.1:1/0", redis_storage_options("redis://127.0.0.1:1/0"))
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    single, sentinel = warnings
    assert single.startswith(
        "flask-limiter's storage Redis 127.0.0.1:1/0 can keep a request waiting past its"
        " socket timeout (no socket_timeout): set RATELIMIT_STORAGE_OPTIONS ="
        " flask_apierrors.limits_storage.redis_storage_options(RATELIMIT_STORAGE_URI)"
    )
    assert "(no socket_timeout, sentinels: 10 retries)" in sentinel


def test_in_memory_limits_warn_with_several_workers_at_setup(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        app = _limited_app("memory://")
        ConcurrencyLimiter(app)
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "flask-limiter (memory://) counts in this process's memory, but several worker"
        " processes serve this app (WEB_CONCURRENCY=4)"
    )
    assert warnings[1].startswith("ConcurrencyLimiter counts in this process's memory")
    assert warnings[1].endswith(
        "Set APIERRORS_CONCURRENCY_STORAGE_URI to a Redis URI shared by the workers."
    )


def test_limiters_set_up_later_are_checked_at_the_first_request(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = Flask(__name__)
    ApiErrors(app)
    Limiter(lambda: "k", app=app, storage_uri="redis://127.0.0.1:1/0")
    app.get("/")(lambda: "ok")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _warnings(caplog) == []
        app.test_client().get("/")
    assert [w.split(" can keep ")[0] for w in _warnings(caplog)] == [
        "flask-limiter's storage Redis 127.0.0.1:1/0"
    ]


@pytest.mark.parametrize(("multiprocess", "warned"), [(True, 2), (False, 0)])
def test_in_memory_limits_warn_at_the_first_multiprocess_request(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    multiprocess: bool,
    warned: int,
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = Flask(__name__)
    concurrency = ConcurrencyLimiter(app)  # before ApiErrors: its options still count
    ApiErrors(app)
    Limiter(lambda: "k", app=app, storage_uri="memory://")

    @app.get("/")
    @concurrency.limit(5)
    def index() -> Response:
        return Response("ok")

    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _warnings(caplog) == []
        for _ in range(3):  # checked once: at the first request of the process
            client.get("/", environ_overrides={"wsgi.multiprocess": multiprocess})
    warnings = _warnings(caplog)
    assert len(warnings) == warned
    assert sorted(w.split(" counts ")[0] for w in warnings) == sorted(
        ["ConcurrencyLimiter", "flask-limiter (memory://)"][:warned]
    )
    assert all("(wsgi.multiprocess)" in w for w in warnings)


def test_several_workers() -> None:
    assert several_workers({"wsgi.multiprocess": True}) == "wsgi.multiprocess"
    assert several_workers({"wsgi.multiprocess": False}) is None


@pytest.mark.parametrize(
    ("value", "expected"), [("3", "WEB_CONCURRENCY=3"), ("1", None), ("x", None)]
)
def test_several_workers_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", value)
    assert several_workers(None) == expected


def test_a_cluster_client_is_made_outside_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cluster's discovery yields (gevent); a lock held across it, made
    # before the process was patched (--preload), would block the worker.
    entered, release = threading.Event(), threading.Event()
    made: list[FakeCluster] = []

    class FakeCluster:
        def __init__(self, **options: t.Any) -> None:
            made.append(self)
            self.closed = False
            if len(made) == 1:
                entered.set()
                release.wait(10)

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr("redis.cluster.RedisCluster", FakeCluster)
    lazy = LazyRedisCluster([("127.0.0.1", 1)])
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            slow = pool.submit(lazy.get)
            assert entered.wait(5)
            quick = lazy.get()  # not waiting for the first discovery
        finally:
            release.set()
        assert slow.result(5) is quick
    assert [c.closed for c in made] == [True, False]


def test_retries_are_counted_on_redis_py_before_6() -> None:
    class OldRetry:  # no get_retries() before redis-py 6.0
        _retries = 3

    cluster = LazyRedisCluster([("127.0.0.1", 1)], socket_timeout=1, retry=OldRetry())
    assert unbounded_waits(cluster) == ["3 retries"]
