"""Redis clients for the limit storages: one server, a Sentinel-managed
master or a Cluster, from one URI, every wait bounded.

* ``redis://``, ``rediss://``, ``redis+unix://``, ``unix://``: one server.
* ``redis+sentinel://[user:password@]host:port[,host:port...]/service_name``:
  the master Sentinel names for ``service_name`` (found again after a
  failover).
* ``redis+cluster://[user:password@]host:port[,host:port...]``: a Redis
  Cluster, found from any of the nodes given.

These are the URIs ``limits`` (flask-limiter's storage) accepts, so one URI
can serve both limiters. redis-py is imported only when a client is made.

Bounded waits: each client here gets a socket timeout for connecting and for
every answer, and no retries (a retry would multiply the wait on a Redis that
hangs). redis-py's own defaults differ by client: no timeout at all, and ten
retries with backoff for a ``Sentinel``'s connections to its sentinels and
for a ``RedisCluster``. :func:`redis_storage_options` gives flask-limiter the
same bounds, and :func:`unbounded_waits` tells what a client lacks.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
import typing as t
import urllib.parse

if t.TYPE_CHECKING:
    import redis
    import redis.cluster

__all__ = [
    "REDIS_SCHEMES",
    "REDIS_FORMS",
    "LazyRedisCluster",
    "RedisUri",
    "UnsupportedRedisUri",
    "parse_redis_uri",
    "redis_client",
    "redis_errors",
    "redis_location",
    "redact_uri",
    "redis_storage_options",
    "unbounded_waits",
]

#: One server.
SINGLE_SCHEMES: t.Final = ("redis", "rediss", "redis+unix", "unix")
SENTINEL_SCHEME: t.Final = "redis+sentinel"
CLUSTER_SCHEME: t.Final = "redis+cluster"
#: Every Redis scheme a limit storage accepts.
REDIS_SCHEMES: t.Final = (*SINGLE_SCHEMES, SENTINEL_SCHEME, CLUSTER_SCHEME)


@dataclasses.dataclass(frozen=True, slots=True)
class RedisUri:
    """A parsed Redis URI (see the module's documentation)."""

    uri: str
    scheme: str
    #: ``(host, port)`` of each sentinel or cluster node, in URI order;
    #: empty for one server (redis-py parses its URI itself).
    nodes: tuple[tuple[str, int], ...] = ()
    #: The Sentinel service name.
    service: str | None = None
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)

    @property
    def kind(self) -> t.Literal["single", "sentinel", "cluster"]:
        if self.scheme == SENTINEL_SCHEME:
            return "sentinel"
        if self.scheme == CLUSTER_SCHEME:
            return "cluster"
        return "single"

    @property
    def location(self) -> str:
        """How log lines name it, for sentinel and cluster URIs: the same
        name :func:`redis_location` gives their clients."""
        hosts = ",".join(sorted(f"{host}:{port}" for host, port in self.nodes))
        if self.kind == "sentinel":
            return f"Redis Sentinel {self.service} via {hosts}"
        return f"Redis Cluster {hosts}"


#: The forms of Redis URI a limit storage accepts, as messages list them.
REDIS_FORMS: t.Final = (
    "redis://host:port/db, rediss://, redis+unix:///path,"
    " redis+sentinel://host:port[,host:port]/service_name or redis+cluster://host:port[,host:port]"
)


class UnsupportedRedisUri(ValueError):
    """A Redis URI a limit storage cannot use, in one line naming the
    supported forms; :attr:`why` is the reason alone (no URI, no password).
    """

    def __init__(self, uri: str, why: str) -> None:
        super().__init__(
            f"Unsupported Redis storage URI {redact_uri(uri)!r}: {why}. Use {REDIS_FORMS}."
        )
        self.why = why


def redact_uri(uri: str) -> str:
    """``uri`` with its password replaced by ``***``: error messages and
    log lines never show one."""
    try:
        parts = urllib.parse.urlsplit(uri)
    except ValueError:  # not a URI (an unclosed "[")
        head, at, tail = uri.rpartition("@")
        return f"{head.partition('://')[0]}://***@{tail}" if at else uri
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def parse_redis_uri(uri: str) -> RedisUri:
    """Check ``uri`` and take it apart; makes no client.

    :raises UnsupportedRedisUri: (a ValueError) not a Redis URI, a port
        or database that is not a number, a socket URI without a path, or a
        sentinel or cluster URI without ``host:port`` nodes (or without the
        service name), in one line naming the supported forms.
    """
    try:
        parts = urllib.parse.urlsplit(uri)
    except ValueError:
        raise UnsupportedRedisUri(uri, "not a URI") from None
    scheme = parts.scheme
    if scheme not in REDIS_SCHEMES:
        raise UnsupportedRedisUri(uri, f"unsupported scheme {scheme!r}")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if scheme in SINGLE_SCHEMES:
        _check_single(uri, parts, hosts)
        return RedisUri(uri, scheme)
    nodes = []
    for location in filter(None, (h.strip() for h in hosts.split(","))):
        try:
            node = urllib.parse.urlsplit(f"//{location}")
            host, port = node.hostname, node.port
        except ValueError:
            host = port = None
        if not host or port is None:
            raise UnsupportedRedisUri(uri, f"{location!r} is not host:port")
        nodes.append((host, port))
    if not nodes:
        raise UnsupportedRedisUri(uri, "no host:port")
    service = parts.path.strip("/") or None
    if scheme == SENTINEL_SCHEME and (service is None or "/" in service):
        raise UnsupportedRedisUri(uri, "the path must be the Sentinel service name (/mymaster)")
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if has_password else None
    return RedisUri(
        uri,
        scheme,
        tuple(nodes),
        service if scheme == SENTINEL_SCHEME else None,
        username,
        password,
    )


def _check_single(uri: str, parts: urllib.parse.SplitResult, hosts: str) -> None:
    """What redis-py would refuse or misread in a one-server URI: a port
    that is not a number, a database that is not one (redis-py quietly uses
    0), a socket URI without a path."""
    if parts.scheme in ("redis+unix", "unix"):
        if not parts.path:
            raise UnsupportedRedisUri(uri, "no socket path")
        return
    try:
        parts.port  # noqa: B018 - urllib checks the port when it is read
    except ValueError:
        raise UnsupportedRedisUri(uri, f"{hosts!r} is not host:port") from None
    db = parts.path.strip("/")
    if db and not (db.isascii() and db.isdigit()):
        raise UnsupportedRedisUri(uri, f"the path must be the database number, not {parts.path!r}")


def _bounded(socket_timeout: float) -> dict[str, t.Any]:
    # retry=None: redis.Redis and its connections make no retry at all.
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "retry": None,
    }


def _no_cluster_retry() -> t.Any:
    # RedisCluster reads retry=None as "the default" (ten retries with
    # backoff); a Retry of 0 is none.
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def _auth(parsed: RedisUri) -> dict[str, str]:
    given = {"username": parsed.username, "password": parsed.password}
    return {name: value for name, value in given.items() if value}


def redis_storage_options(uri: str, *, socket_timeout: float = 0.5) -> dict[str, t.Any]:
    """flask-limiter's ``RATELIMIT_STORAGE_OPTIONS`` (or ``Limiter(storage_options=...)``)
    that bound every wait of its Redis storage at ``uri``: socket timeouts
    for connecting and answering and no retries, for the master and the
    sentinels of a Sentinel URI, for every node of a Cluster. ``{}`` for a
    URI that is not Redis (``memory://``).

    .. code-block:: python

        app.config["RATELIMIT_STORAGE_OPTIONS"] = redis_storage_options(uri)

    :raises ValueError: an unsupported Redis URI.

    .. versionadded:: 0.2
    """
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme not in REDIS_SCHEMES:
        return {}
    parsed = parse_redis_uri(uri)
    bounded = _bounded(socket_timeout)
    if parsed.kind == "sentinel":
        # limits passes sentinel_kwargs on its own: without it, the
        # connections to the sentinels would have no timeout at all.
        return {**bounded, "sentinel_kwargs": dict(bounded)}
    if parsed.kind == "cluster":
        return {**bounded, "retry": _no_cluster_retry()}
    return bounded


class LazyRedisCluster:
    """A ``redis.cluster.RedisCluster`` made at its first use, not before:
    RedisCluster asks the cluster for its layout when it is made, and an app
    must start while its cluster is down. A failed attempt raises, and the
    next use tries again.

    :param nodes: ``(host, port)`` of the startup nodes.
    :param options: Keyword arguments of ``RedisCluster``.
    """

    def __init__(self, nodes: t.Sequence[tuple[str, int]], **options: t.Any) -> None:
        self.nodes = tuple(nodes)
        self.options = options
        self._client: redis.cluster.RedisCluster | None = None
        self._lock = threading.Lock()

    def get(self) -> redis.cluster.RedisCluster:
        """The client, made now if need be.

        :raises redis.exceptions.RedisClusterException: no node answered.
        """
        client = self._client
        if client is None:
            from redis.cluster import RedisCluster

            # redis-py leaves ClusterNode untyped.
            node: t.Any = importlib.import_module("redis.cluster").ClusterNode
            # Made outside the lock, which is never held across the
            # cluster's discovery (made before gevent patched the process, it
            # would block the worker's every greenlet): of clients made at
            # once, the first kept is everyone's, the others are closed.
            made = RedisCluster(startup_nodes=[node(*n) for n in self.nodes], **self.options)
            with self._lock:
                if self._client is None:
                    self._client = made
                client = self._client
            if client is not made:
                made.close()
        return client

    def close(self) -> None:
        """Close the client's connections, if it was made."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def redis_client(uri: str, *, socket_timeout: float = 0.5) -> t.Any:
    """A client for ``uri`` whose every wait is bounded by ``socket_timeout``:
    ``redis.Redis`` for one server or a Sentinel-managed master, a
    :class:`LazyRedisCluster` for a Cluster (call ``get()`` for the client).
    Nothing is connected here.

    :raises ValueError: an unsupported URI.
    """
    import redis as redis_lib

    parsed = parse_redis_uri(uri)
    bounded = _bounded(socket_timeout)
    if parsed.kind == "single":
        if uri.startswith("redis+unix://"):
            uri = "unix://" + uri[len("redis+unix://") :]
        return redis_lib.Redis.from_url(uri, **bounded)
    auth = _auth(parsed)
    if parsed.kind == "sentinel":
        # redis-py leaves Sentinel untyped.
        sentinel_class: t.Any = importlib.import_module("redis.sentinel").Sentinel
        sentinel = sentinel_class(
            list(parsed.nodes), sentinel_kwargs={**auth, **bounded}, **auth, **bounded
        )
        return sentinel.master_for(t.cast(str, parsed.service))
    options = {**auth, **bounded, "retry": _no_cluster_retry()}
    return LazyRedisCluster(parsed.nodes, **options)


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a Redis storage failed: redis-py's errors
    (``RedisClusterException``, raised when no cluster node answers, is not
    a ``RedisError``) and socket errors."""
    import redis as redis_lib

    return (redis_lib.RedisError, redis_lib.exceptions.RedisClusterException, OSError)


def _address(kwargs: t.Mapping[str, t.Any]) -> str:
    return str(
        kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    )


def redis_location(client: t.Any) -> str:
    """How log lines name the storage of a redis-py client: ``"Redis
    HOST:PORT/DB"`` (or ``"Redis PATH/DB"``), ``"Redis Sentinel SERVICE via
    HOST:PORT,..."`` for a Sentinel-managed master, ``"Redis Cluster
    HOST:PORT,..."`` (its startup nodes) for a cluster; other clients get a
    name unique to the object. Limiters whose storages have one name share
    one outage guard.
    """
    if isinstance(client, LazyRedisCluster):
        return f"Redis Cluster {','.join(sorted(f'{h}:{p}' for h, p in client.nodes))}"
    nodes_manager = getattr(client, "nodes_manager", None)
    startup = getattr(nodes_manager, "startup_nodes", None)
    if isinstance(startup, dict):
        return f"Redis Cluster {','.join(sorted(startup))}"
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return f"{type(client).__name__} {id(client):#x}"
    manager = getattr(pool, "sentinel_manager", None)
    if manager is not None:
        sentinels = sorted(_address(s.connection_pool.connection_kwargs) for s in manager.sentinels)
        return f"Redis Sentinel {getattr(pool, 'service_name', '?')} via {','.join(sentinels)}"
    return f"Redis {_address(kwargs)}/{kwargs.get('db', 0)}"


def _lacks(kwargs: t.Mapping[str, t.Any], retry: t.Any, who: str) -> list[str]:
    found = []
    if kwargs.get("socket_timeout") is None:
        # redis-py uses socket_timeout to connect too when
        # socket_connect_timeout is not set.
        found.append(f"{who}no socket_timeout")
    # redis-py before 6.0 has no Retry.get_retries(), only _retries.
    count = getattr(retry, "get_retries", None)
    retries = count() if count is not None else getattr(retry, "_retries", 0)
    if retries:
        found.append(f"{who}{'endless' if retries < 0 else retries} retries")
    return found


def unbounded_waits(client: t.Any) -> list[str]:
    """What lets a request wait on a redis-py client longer than one socket
    timeout: ``"no socket_timeout"``, ``"10 retries"``, each prefixed
    ``"sentinels: "`` when it concerns a Sentinel's connections to its
    sentinels. Empty when every wait is bounded, or for a client that is
    not redis-py's."""
    if isinstance(client, LazyRedisCluster):
        return _lacks(client.options, client.options.get("retry"), "")
    nodes_manager = getattr(client, "nodes_manager", None)
    if nodes_manager is not None and hasattr(client, "get_retry"):
        return _lacks(nodes_manager.connection_kwargs, client.get_retry(), "")
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return []
    found = _lacks(kwargs, kwargs.get("retry"), "")
    manager = getattr(pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ())[:1]:
        # Every sentinel client is made with the same options.
        found += _lacks(
            sentinel.connection_pool.connection_kwargs, sentinel.get_retry(), "sentinels: "
        )
    return found
