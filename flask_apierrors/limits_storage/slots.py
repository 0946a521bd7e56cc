"""Where :class:`~flask_apierrors.ConcurrencyLimiter` keeps its in-flight
slots: :class:`MemoryConcurrencyStorage` (one process, the default) or
:class:`RedisConcurrencyStorage` (shared by every worker and host that uses
the same Redis: one server, a Sentinel-managed master or a Cluster).
flask-limiter has no concurrency limit, so no storage of its fits: a slot is
a member of a set that expires on its own, not a counter.
"""

from __future__ import annotations

import threading
import time
import typing as t
import urllib.parse

from .. import config
from .redis_clients import REDIS_FORMS
from .redis_clients import REDIS_SCHEMES
from .redis_clients import LazyRedisCluster
from .redis_clients import UnsupportedRedisUri
from .redis_clients import parse_redis_uri
from .redis_clients import redact_uri
from .redis_clients import redis_client
from .redis_clients import redis_errors
from .redis_clients import redis_location

if t.TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

__all__ = [
    "REDIS_SCHEMES",
    "ConcurrencyStorage",
    "MemoryConcurrencyStorage",
    "RedisConcurrencyStorage",
    "check_storage_uri",
    "concurrency_storage_from_uri",
]


class ConcurrencyStorage(t.Protocol):
    """Where :class:`~flask_apierrors.ConcurrencyLimiter` keeps in-flight slots.

    A slot is a member of the set ``key`` that expires ``ttl`` seconds after
    it was acquired or last refreshed, so a crashed worker's slots free
    themselves.
    """

    #: Names the storage in logs; limiters on one location share a guard.
    location: str
    #: Exceptions that mean the storage failed.
    errors: tuple[type[BaseException], ...]

    def acquire(self, key: str, slot: str, limit: int, ttl: float) -> tuple[bool, int]:
        """Add ``slot`` to ``key`` if fewer than ``limit`` live slots are in it.

        :returns: ``(acquired, count)``: the live slots after adding, or the
            live slots found when refused.
        """

    def release(self, key: str, slot: str) -> None:
        """Remove ``slot`` (no error if it already expired)."""

    def refresh(self, key: str, slot: str, ttl: float) -> None:
        """Push the expiry of a held slot ``ttl`` seconds into the future."""

    def count(self, key: str) -> int:
        """The live slots of ``key``."""


class MemoryConcurrencyStorage:
    """Slots in this process's memory: right for one process (the dev server,
    one gunicorn worker with threads), wrong for several."""

    location = "memory"
    errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self._slots: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> dict[str, float]:
        slots = self._slots.setdefault(key, {})
        for slot in [s for s, expires in slots.items() if expires <= now]:
            del slots[slot]
        return slots

    def acquire(self, key: str, slot: str, limit: int, ttl: float) -> tuple[bool, int]:
        with self._lock:
            now = time.monotonic()
            slots = self._live(key, now)
            if len(slots) >= limit:
                return False, len(slots)
            slots[slot] = now + ttl
            return True, len(slots)

    def release(self, key: str, slot: str) -> None:
        with self._lock:
            slots = self._slots.get(key)
            if slots is not None:
                slots.pop(slot, None)
                if not slots:
                    del self._slots[key]

    def refresh(self, key: str, slot: str, ttl: float) -> None:
        with self._lock:
            slots = self._slots.get(key)
            if slots is not None and slot in slots:
                slots[slot] = time.monotonic() + ttl

    def count(self, key: str) -> int:
        with self._lock:
            n = len(self._live(key, time.monotonic()))
            if not n:
                del self._slots[key]
            return n


# Slots are a sorted set scored by expiry, on Redis's clock (TIME) so hosts
# with skewed clocks agree. Pruning, counting and adding happen in one script,
# so two workers can never both take the last slot.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"
_KEEP_KEY = (
    "local ms = math.ceil(tonumber(ARGV[2]) * 1000)\n"
    "if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end\n"
)
_ACQUIRE = (
    _NOW
    + "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    + "local n = redis.call('ZCARD', KEYS[1])\n"
    + "if n >= tonumber(ARGV[1]) then return {0, n} end\n"
    + "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])\n"
    + _KEEP_KEY
    + "return {1, n + 1}\n"
)
_REFRESH = (
    _NOW
    + "if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end\n"
    + "redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[3])\n"
    + _KEEP_KEY
    + "return 1\n"
)
_COUNT = _NOW + "return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')\n"


class RedisConcurrencyStorage:
    """Slots in Redis, shared by every process that uses the same server,
    Sentinel-managed master or Cluster.

    One counter is one key (a sorted set), and each script gets it as its
    only ``KEYS`` entry, so a counter lives in one hash slot of a cluster and
    every script is one atomic step on one node.

    :param client: A redis-py client (``redis.Redis``, a Sentinel's
        ``master_for``, ``redis.cluster.RedisCluster``) or a
        :class:`~flask_apierrors.limits_storage.redis_clients.LazyRedisCluster`.
        Give it a ``socket_timeout``: it bounds how long a request waits for a
        Redis that accepts connections but never answers.

    .. versionchanged:: 0.2
        Sentinel and Cluster clients; nothing is sent to Redis before the
        first slot is taken.
    """

    def __init__(self, client: t.Any) -> None:
        self._given = client
        self.location = redis_location(client)
        self.errors: tuple[type[BaseException], ...] = redis_errors()
        self._scripts: tuple[Script, Script, Script] | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> redis.Redis:
        """The redis-py client (a cluster's is made on first use)."""
        if isinstance(self._given, LazyRedisCluster):
            return t.cast("redis.Redis", self._given.get())
        return t.cast("redis.Redis", self._given)

    @classmethod
    def from_uri(cls, uri: str, *, socket_timeout: float = 0.5) -> RedisConcurrencyStorage:
        """A storage on a new client for ``uri`` (``redis://``, ``rediss://``,
        ``redis+unix://``, ``redis+sentinel://``, ``redis+cluster://``), with
        ``socket_timeout`` for connecting and for each answer, and no retries
        (a retry would multiply the wait on a hung Redis). Nothing is
        connected before the first slot is taken.

        :raises ValueError: an unsupported URI.
        """
        return cls(redis_client(uri, socket_timeout=socket_timeout))

    def _script(self, index: int) -> Script:
        scripts = self._scripts
        if scripts is None:
            client = self.client
            with self._lock:
                scripts = self._scripts = self._scripts or (
                    client.register_script(_ACQUIRE),
                    client.register_script(_REFRESH),
                    client.register_script(_COUNT),
                )
        return scripts[index]

    def acquire(self, key: str, slot: str, limit: int, ttl: float) -> tuple[bool, int]:
        acquired, count = self._script(0)(keys=[key], args=[limit, ttl, slot])
        return bool(acquired), int(count)

    def release(self, key: str, slot: str) -> None:
        self.client.zrem(key, slot)

    def refresh(self, key: str, slot: str, ttl: float) -> None:
        self._script(1)(keys=[key], args=[0, ttl, slot])

    def count(self, key: str) -> int:
        return int(self._script(2)(keys=[key]))


def check_storage_uri(uri: str) -> str:
    """The scheme of ``uri`` if :func:`concurrency_storage_from_uri` supports it.
    Makes no client: settings are checked when an app is set up.

    :raises ValueError: an unsupported URI, in one line naming
        ``APIERRORS_CONCURRENCY_STORAGE_URI`` and the supported forms (a
        password shown as ``***``).
    """
    try:
        if urllib.parse.urlsplit(uri).scheme == "memory":
            return "memory"
        return parse_redis_uri(uri).scheme
    except UnsupportedRedisUri as exc:
        why = exc.why
    except ValueError:
        why = "not a URI"
    config.invalid(
        "concurrency_storage_uri", redact_uri(uri), f"{why}; use memory:// or {REDIS_FORMS}"
    )


def concurrency_storage_from_uri(uri: str, *, socket_timeout: float = 0.5) -> ConcurrencyStorage:
    """The concurrency storage for ``uri``: ``memory://`` or a Redis URI.

    :raises ValueError: an unsupported URI.
    """
    if check_storage_uri(uri) == "memory":
        return MemoryConcurrencyStorage()
    return RedisConcurrencyStorage.from_uri(uri, socket_timeout=socket_timeout)
