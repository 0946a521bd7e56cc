"""Where the limiters keep their counts, and what happens when that storage fails.

Two kinds of storage live here:

* :class:`MemoryConcurrencyStorage` (one process, the default) and
  :class:`RedisConcurrencyStorage` (shared by every worker and host that uses
  the same Redis) hold the in-flight slots of
  :class:`~flask_apierrors.ConcurrencyLimiter`.
* flask-limiter keeps its counters in a ``limits`` storage; the flask-limiter
  integration wraps it so that the same outage policy applies.

The outage policy is one :class:`StorageGuard` per storage location and
process. When a call fails, the guard logs one WARNING, then lets requests
through (fail-open, the default) or answers them with :class:`StorageUnavailable`
(fail-closed, a JSON 503 ``service_unavailable`` with ``Retry-After``). While
the outage lasts, calls skip the storage, and one call per ``retry_interval``
probes it, so a dead or hung Redis costs at most one socket timeout per
interval. The first call that succeeds ends the outage and logs one INFO line.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
import typing as t
import urllib.parse

from .errors import ApiError
from .plugins import Plugin

if t.TYPE_CHECKING:
    import redis

logger = logging.getLogger("flask_apierrors.limits")

T = t.TypeVar("T")

#: Schemes :func:`concurrency_storage_from_uri` accepts for Redis.
REDIS_SCHEMES: t.Final = ("redis", "rediss", "redis+unix", "unix")


@dataclasses.dataclass(frozen=True, slots=True)
class LimitsSettings:
    """The ``APIERRORS_LIMITS_*`` keys: the outage policy of every limit
    storage (flask-limiter's and the concurrency limiter's)."""

    #: When a limiter's storage fails: ``True`` lets requests through (one
    #: WARNING per outage), ``False`` answers 503 ``service_unavailable``.
    limits_fail_open: bool = True
    #: Seconds between tries of a failed limiter storage (the fail-closed
    #: 503's ``Retry-After`` is the wait for the next try, at least 1).
    limits_retry_interval: float = 1.0


def plugin() -> Plugin:
    """The entry point: declares the outage-policy settings."""
    return Plugin("limits", settings=(LimitsSettings,))


class StorageUnavailable(ApiError):
    """503 ``service_unavailable``: a limiter's storage cannot be reached and
    the app fails closed. The body says when to retry, nothing about the
    storage.

    :param retry_after: Seconds until the storage is tried again (at least 1).
    """

    error_code = "service_unavailable"
    status = 503
    message = "Service temporarily unavailable"

    def __init__(self, retry_after: int) -> None:
        seconds = max(1, int(retry_after))
        super().__init__(details={"retry_after": seconds}, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class StorageGuard:
    """The health of one storage location, as this process sees it.

    :param name: How log lines name the storage (``"Redis 127.0.0.1:6379/0"``).
    :param retry_interval: Seconds between probes while the storage is down.
    """

    def __init__(self, name: str, *, retry_interval: float = 1.0) -> None:
        self.name = name
        self.retry_interval = retry_interval
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._skipped = 0

    @property
    def down(self) -> bool:
        """Whether an outage is going on."""
        return self._down_since is not None

    def call(
        self,
        op: t.Callable[[], T],
        fallback: t.Callable[[], T],
        *,
        fail_open: bool,
        errors: tuple[type[BaseException], ...],
        refuse: bool = True,
    ) -> T:
        """Run ``op`` against the storage.

        :param fallback: What to return instead when the storage fails or is
            skipped, unless the request is refused.
        :param fail_open: The app's policy: let requests through (``True``)
            or refuse them.
        :param errors: The exceptions that mean "the storage failed"; others
            propagate (they are bugs, not outages).
        :param refuse: Whether this call may refuse the request at all
            (``False`` for releases, and for reads once the answer is given).
        :raises StorageUnavailable: the storage failed or is skipped,
            ``fail_open`` is false and ``refuse`` is true.
        """
        return self.run(op, (), fallback, fail_open=fail_open, errors=errors, refuse=refuse)

    def run(
        self,
        op: t.Callable[..., T],
        args: tuple[t.Any, ...],
        fallback: t.Callable[[], T],
        *,
        fail_open: bool,
        errors: tuple[type[BaseException], ...],
        refuse: bool = True,
    ) -> T:
        """:meth:`call` with ``op(*args)``: no closure to build per call."""
        if self._down_since is not None and not self._claim_probe():
            return self._unavailable(fallback, fail_open or not refuse)
        try:
            result = op(*args)
        except errors as exc:
            self._failed(exc, fail_open)
            return self._unavailable(fallback, fail_open or not refuse)
        if self._down_since is not None:
            self._recovered()
        return result

    def _claim_probe(self) -> bool:
        # During an outage one caller per interval tries the storage; the
        # others skip it, so only that one can wait for a socket timeout.
        with self._lock:
            now = time.monotonic()
            if self._down_since is None:
                return True
            if now >= self._next_probe:
                self._next_probe = now + self.retry_interval
                return True
            self._skipped += 1
            return False

    def _failed(self, exc: BaseException, fail_open: bool) -> None:
        with self._lock:
            now = time.monotonic()
            self._next_probe = now + self.retry_interval
            first = self._down_since is None
            if first:
                self._down_since = now
                self._skipped = 0
            else:
                self._skipped += 1
        if first:
            logger.warning(
                "Limit storage %s is unreachable (%s): requests %s until it answers"
                " again; retrying every %gs",
                self.name,
                type(exc).__name__,
                "pass unchecked (fail-open)" if fail_open else "get 503 (fail-closed)",
                self.retry_interval,
            )

    def _recovered(self) -> None:
        with self._lock:
            since, self._down_since = self._down_since, None
            skipped, self._skipped = self._skipped, 0
        if since is not None:
            logger.info(
                "Limit storage %s answers again after %.1fs (%d calls skipped it meanwhile)",
                self.name,
                time.monotonic() - since,
                skipped,
            )

    def _unavailable(self, fallback: t.Callable[[], T], fail_open: bool) -> T:
        if fail_open:
            return fallback()
        wait = math.ceil(self._next_probe - time.monotonic())
        raise StorageUnavailable(max(1, wait)) from None


_GUARDS: dict[str, StorageGuard] = {}
_GUARDS_LOCK = threading.Lock()


def guard_for(location: str, *, retry_interval: float = 1.0) -> StorageGuard:
    """The process-wide :class:`StorageGuard` of ``location``, created on first
    use. Limiters that share a storage location share its guard: one outage,
    one WARNING, one probe."""
    with _GUARDS_LOCK:
        guard = _GUARDS.get(location)
        if guard is None:
            guard = _GUARDS[location] = StorageGuard(location, retry_interval=retry_interval)
        return guard


def redis_location(client: t.Any) -> str:
    """``"Redis HOST:PORT/DB"`` (or ``"Redis PATH/DB"``) of a redis-py client,
    from its connection pool; other clients get a name unique to the object."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return f"{type(client).__name__} {id(client):#x}"
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"Redis {where}/{kwargs.get('db', 0)}"


# -- concurrency storage ----------------------------------------------------------------------


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
        ...

    def release(self, key: str, slot: str) -> None:
        """Remove ``slot`` (no error if it already expired)."""
        ...

    def refresh(self, key: str, slot: str, ttl: float) -> None:
        """Push the expiry of a held slot ``ttl`` seconds into the future."""
        ...

    def count(self, key: str) -> int:
        """The live slots of ``key``."""
        ...


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
    """Slots in Redis, shared by every process that uses the same server.

    :param client: A redis-py client. Give it a ``socket_timeout``: it bounds
        how long a request waits for a Redis that accepts connections but
        never answers.
    """

    def __init__(self, client: redis.Redis) -> None:
        import redis as redis_lib

        self.client = client
        self.location = redis_location(client)
        self.errors: tuple[type[BaseException], ...] = (redis_lib.RedisError, OSError)
        self._acquire = client.register_script(_ACQUIRE)
        self._refresh = client.register_script(_REFRESH)
        self._count = client.register_script(_COUNT)

    @classmethod
    def from_uri(cls, uri: str, *, socket_timeout: float = 0.5) -> RedisConcurrencyStorage:
        """A storage on a new client for ``uri`` (``redis://``, ``rediss://``,
        ``redis+unix://``), with ``socket_timeout`` for connecting and for each
        answer, and no retries (a retry would double the wait on a hung Redis)."""
        import redis as redis_lib

        if uri.startswith("redis+unix://"):
            uri = "unix://" + uri[len("redis+unix://") :]
        client = redis_lib.Redis.from_url(
            uri,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=None,
        )
        return cls(client)

    def acquire(self, key: str, slot: str, limit: int, ttl: float) -> tuple[bool, int]:
        acquired, count = self._acquire(keys=[key], args=[limit, ttl, slot])
        return bool(acquired), int(count)

    def release(self, key: str, slot: str) -> None:
        self.client.zrem(key, slot)

    def refresh(self, key: str, slot: str, ttl: float) -> None:
        self._refresh(keys=[key], args=[0, ttl, slot])

    def count(self, key: str) -> int:
        return int(self._count(keys=[key]))


def concurrency_storage_from_uri(uri: str, *, socket_timeout: float = 0.5) -> ConcurrencyStorage:
    """The concurrency storage for ``uri``: ``memory://`` or a Redis URI.

    :raises ValueError: an unsupported scheme.
    """
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme == "memory":
        return MemoryConcurrencyStorage()
    if scheme in REDIS_SCHEMES:
        return RedisConcurrencyStorage.from_uri(uri, socket_timeout=socket_timeout)
    raise ValueError(
        f"Unsupported concurrency storage URI scheme {scheme!r}: use memory:// or"
        f" one of {', '.join(s + '://' for s in REDIS_SCHEMES)}."
    )
