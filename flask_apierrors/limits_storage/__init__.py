"""Where the limiters keep their counts, and what happens when that storage fails.

Two kinds of storage:

* the in-flight slots of :class:`~flask_apierrors.ConcurrencyLimiter`:
  :class:`MemoryConcurrencyStorage` (one process, the default) and
  :class:`RedisConcurrencyStorage` (shared by every worker and host that uses
  the same Redis), in :mod:`.slots`;
* flask-limiter's counters, in a ``limits`` storage of flask-limiter's own
  making, which the rate-limit feature passes through the same guards.

Redis means one server, a Sentinel-managed master or a Cluster
(:mod:`.redis_clients`: one URI for both limiters, every wait bounded).

The outage policy (:mod:`.guard`) is one :class:`StorageGuard` per storage
location and process: one WARNING per outage, then fail-open (requests
pass) or fail-closed (a JSON 503 :class:`StorageUnavailable`), one probe per
``APIERRORS_LIMITS_RETRY_INTERVAL`` while the storage is down, and one INFO
line when it answers again. Its settings, :class:`LimitsSettings`, are shared
by both limiters. :mod:`.startup` warns when an app is set up about limits
that cannot work as configured (in-memory counts with several worker
processes, Redis clients that wait without bound).

.. versionchanged:: 0.2
    A package: the guard and the concurrency storages are modules of their
    own; every name is still importable from here. Redis Sentinel and
    Cluster URIs.
"""

from __future__ import annotations

import dataclasses

from .. import config
from ..plugins import Plugin
from .guard import StorageGuard
from .guard import StorageUnavailable
from .guard import guard_for
from .redis_clients import REDIS_SCHEMES
from .redis_clients import LazyRedisCluster
from .redis_clients import redis_location
from .redis_clients import redis_storage_options
from .slots import ConcurrencyStorage
from .slots import MemoryConcurrencyStorage
from .slots import RedisConcurrencyStorage
from .slots import check_storage_uri
from .slots import concurrency_storage_from_uri

__all__ = [
    "REDIS_SCHEMES",
    "ConcurrencyStorage",
    "LazyRedisCluster",
    "LimitsSettings",
    "MemoryConcurrencyStorage",
    "RedisConcurrencyStorage",
    "StorageGuard",
    "StorageUnavailable",
    "check_storage_uri",
    "concurrency_storage_from_uri",
    "guard_for",
    "plugin",
    "redis_location",
    "redis_storage_options",
]


@dataclasses.dataclass(frozen=True, slots=True)
class LimitsSettings:
    """The ``APIERRORS_LIMITS_*`` keys: the outage policy of every limit
    storage (flask-limiter's and the concurrency limiter's)."""

    #: When a limiter's storage fails: ``True`` lets requests through (one
    #: WARNING per outage), ``False`` answers 503 ``service_unavailable``.
    limits_fail_open: bool = config.app_wide(True)
    #: Seconds between tries of a failed limiter storage (the fail-closed
    #: 503's ``Retry-After`` is the wait for the next try, at least 1).
    limits_retry_interval: float = config.app_wide(1.0)


def plugin() -> Plugin:
    """The entry point: declares the outage-policy settings."""
    return Plugin("limits", settings=(LimitsSettings,))
