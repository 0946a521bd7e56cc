"""The limits outage policy for flask-limiter's storage.

Every ``Limiter`` set up on the app gets its ``limits`` storage passed
through the :class:`~flask_apierrors.limits_storage.StorageGuard` of its
location (:class:`GuardedStorage`), so a Redis outage follows
``APIERRORS_LIMITS_FAIL_OPEN`` as the concurrency limiter does, with the same
guard when both use one Redis: one WARNING per outage, one probe per
``APIERRORS_LIMITS_RETRY_INTERVAL``, one INFO line when it is over.

Why not flask-limiter's own options (flask-limiter 4, limits 5):

* ``swallow_errors`` fails open, but logs a traceback on every request, and
  every request still asks the storage: a Redis that hangs costs each
  request its socket timeout.
* ``in_memory_fallback`` counts in each process's memory during an outage
  (with N workers, N times the limit), and tries the storage again after 1,
  2, 4 ... 32 seconds; it cannot refuse requests either.
* ``wrap_exceptions`` (a ``RATELIMIT_STORAGE_OPTIONS`` entry) only changes
  the exception's type; without ``swallow_errors`` the request fails with it.

None of them answers a JSON 503 with ``Retry-After`` (fail-closed), and
``swallow_errors`` and ``in_memory_fallback`` would catch the guard's 503
(flask-limiter catches every exception of the storage): with
``APIERRORS_LIMITS_FAIL_OPEN = False`` they are a contradiction, refused in
one line (:func:`~.checks.check_fail_closed`). Set
``APIERRORS_RATELIMIT_GUARD_STORAGE = False`` to use them instead.

A ``Limiter`` may serve several apps (an app factory): its storage is
wrapped once, and each call follows the policy of the app it runs for
(its ``APIERRORS_LIMITS_FAIL_OPEN``; an app without ApiErrors, or with
``APIERRORS_RATELIMIT_GUARD_STORAGE = False``, calls the storage directly).

When the app is set up (and at the first request, for a ``Limiter`` set up
after :class:`~flask_apierrors.ApiErrors`), every storage is also checked,
guarded or not: a WARNING when its Redis client can keep a request waiting
without bound (no ``socket_timeout``, retries), naming the fix
(:func:`~flask_apierrors.limits_storage.redis_storage_options`), and when it
counts in memory while several worker processes serve the app. An
unsupported ``RATELIMIT_STORAGE_URI`` raises a one-line ``ValueError`` when
``ApiErrors`` is set up (:func:`~.checks.check_storage_uri`).

Fail-closed refuses only the decision: once the request has its response
(flask-limiter reading its headers, a ``deduct_when`` deduction), a failing
storage call falls back instead, as in fail-open. The request's phase is
kept in its WSGI environ.
"""

from __future__ import annotations

import sys
import threading
import time
import typing as t
import urllib.parse
import weakref

from flask import after_this_request
from flask import current_app
from flask import has_app_context
from flask import has_request_context
from flask import request
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.storage import MovingWindowSupport
from limits.storage import SlidingWindowCounterSupport
from limits.storage import Storage

from ..limits_storage import LimitsSettings
from ..limits_storage import StorageGuard
from ..limits_storage import guard_for
from ..limits_storage import redis_location
from ..limits_storage.redis_clients import CLUSTER_SCHEME
from ..limits_storage.redis_clients import parse_redis_uri
from ..limits_storage.redis_clients import unbounded_waits
from ..limits_storage.startup import at_first_request
from ..limits_storage.startup import warn_memory
from ..limits_storage.startup import warn_once
from ..state import find_state
from . import RateLimitSettings
from .checks import check_fail_closed
from .checks import check_storage_uri
from .convert import limiters_of

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Response

    from ..state import AppState

T = t.TypeVar("T")

#: WSGI environ key: ``"check"`` while the request is being decided,
#: ``"done"`` once it has a response.
PHASE_KEY: t.Final = "flask_apierrors.ratelimit.phase"


def _deciding() -> bool:
    """Whether this request is still deciding (before its response exists).
    Fail-closed refuses only then; later calls (headers, deductions) fail
    open, since the answer is already given."""
    if not has_request_context():
        return False
    environ = request.environ
    phase = environ.get(PHASE_KEY)
    if phase is None:
        environ[PHASE_KEY] = "check"

        def decided(response: Response) -> Response:
            environ[PHASE_KEY] = "done"
            return response

        after_this_request(decided)
        return True
    return bool(phase == "check")


# What the storage answers while it cannot be reached (fail-open); besides
# these, int() is 0, bool() is False and time.time() an expiry now.
def _true() -> bool:
    return True


def _empty_moving_window() -> tuple[float, int]:
    return time.time(), 0


def _empty_sliding_window() -> tuple[int, float, int, float]:
    return 0, 0.0, 0, 0.0


class GuardedStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    """A ``limits`` storage passed through a :class:`StorageGuard`: during an
    outage, hits succeed and reads return empty windows (fail-open), or the
    request gets a 503 (fail-closed).

    :param inner: The storage flask-limiter made.
    :param guard: The guard of its location.
    :param fail_open: The policy outside an app context; in one, each call
        follows the current app's (:meth:`policy`).
    """

    STORAGE_SCHEME = None  # a wrapper, not registered for any URI

    def __init__(self, inner: Storage, guard: StorageGuard, *, fail_open: bool) -> None:
        super().__init__()
        self.inner = inner
        self.guard = guard
        self.fail_open = fail_open
        # App -> its policy (its settings are fixed once it is set up).
        self._policies: weakref.WeakKeyDictionary[Flask, bool | None] = weakref.WeakKeyDictionary()

    @property
    def inner(self) -> Storage:
        """The wrapped storage."""
        return self._inner

    @inner.setter
    def inner(self, storage: Storage) -> None:
        # What counts as an outage, worked out once per storage rather
        # than on every call.
        base = storage.base_exceptions
        errors: tuple[type[BaseException], ...] = (
            *(base if isinstance(base, tuple) else (base,)),
            StorageError,
            OSError,
        )
        redis_exceptions = sys.modules.get("redis.exceptions")
        if redis_exceptions is not None:
            # A cluster none of whose nodes answers raises this, which is
            # not a RedisError; redis-py is loaded if the storage uses it.
            errors += (redis_exceptions.RedisClusterException,)
        self._errors = errors
        self._inner = storage

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self.inner.base_exceptions

    def policy(self) -> bool | None:
        """Whether to fail open, for the current app (one ``Limiter`` may
        serve several): its ``APIERRORS_LIMITS_FAIL_OPEN``; ``None`` when it
        does not guard flask-limiter's storage (no ApiErrors, or
        ``APIERRORS_RATELIMIT_GUARD_STORAGE = False``). Outside an app
        context, :attr:`fail_open`."""
        if not has_app_context():
            return self.fail_open
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._policies[app]
        except KeyError:
            pass
        state = find_state(app)
        policy = None
        if state is not None and state.settings_of(RateLimitSettings).ratelimit_guard_storage:
            policy = state.settings_of(LimitsSettings).limits_fail_open
        self._policies[app] = policy
        return policy

    def _call(
        self,
        op: t.Callable[..., T],
        args: tuple[t.Any, ...],
        fallback: t.Callable[[], T],
        *,
        refuse: bool = True,
    ) -> T:
        fail_open = self.policy()
        if fail_open is None:
            return op(*args)
        refuse = refuse and not fail_open and _deciding()
        return self.guard.run(
            op, args, fallback, fail_open=fail_open, errors=self._errors, refuse=refuse
        )

    def incr(self, key: str, expiry: int, *args: t.Any, **kwargs: t.Any) -> int:
        if kwargs:
            return self._call(lambda: self._inner.incr(key, expiry, *args, **kwargs), (), int)
        return self._call(self._inner.incr, (key, expiry, *args), int)

    def get(self, key: str) -> int:
        return self._call(self._inner.get, (key,), int)

    def get_expiry(self, key: str) -> float:
        return self._call(self._inner.get_expiry, (key,), time.time)

    def check(self) -> bool:
        return self._call(self._inner.check, (), bool, refuse=False)

    def reset(self) -> int | None:
        return self.inner.reset()

    def clear(self, key: str) -> None:
        self.inner.clear(key)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        inner = t.cast(MovingWindowSupport, self._inner)
        return self._call(inner.acquire_entry, (key, limit, expiry, amount), _true)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        inner = t.cast(MovingWindowSupport, self._inner)
        return self._call(inner.get_moving_window, (key, limit, expiry), _empty_moving_window)

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        inner = t.cast(SlidingWindowCounterSupport, self._inner)
        return self._call(inner.acquire_sliding_window_entry, (key, limit, expiry, amount), _true)

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        inner = t.cast(SlidingWindowCounterSupport, self._inner)
        return self._call(inner.get_sliding_window, (key, expiry), _empty_sliding_window)

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        t.cast(SlidingWindowCounterSupport, self.inner).clear_sliding_window(key, expiry)


_INSTALL_LOCK = threading.Lock()


def _location(storage: Storage, uri: str | None = None) -> str:
    """The storage's name in logs and guards; ``uri`` is the app's
    ``RATELIMIT_STORAGE_URI``."""
    client = getattr(storage, "storage", None)
    if client is None or not (
        hasattr(client, "connection_pool") or hasattr(client, "nodes_manager")
    ):
        return f"{type(storage).__name__} {id(storage):#x}"
    name = redis_location(client)
    if uri and urllib.parse.urlsplit(uri).scheme == CLUSTER_SCHEME:
        # redis-py replaces a cluster client's startup nodes by the nodes it
        # found: name it by the URI when that URI's nodes are among them, as
        # the concurrency storage names a cluster.
        known = {*client.nodes_manager.startup_nodes, *client.nodes_manager.nodes_cache}
        parsed = parse_redis_uri(uri)
        if {f"{host}:{port}" for host, port in parsed.nodes} <= known:
            return parsed.location
    return name


def _storage_uri(state: AppState) -> str | None:
    uri = state.app.config.get("RATELIMIT_STORAGE_URI")
    return uri if isinstance(uri, str) else None


def check_limiters(state: AppState, environ: t.Mapping[str, t.Any] | None = None) -> None:
    """Warn (once per app and process) about the storage of each
    flask-limiter ``Limiter`` on the app: a Redis client that can wait
    without bound, counts in memory while several workers serve the app."""
    app = state.app
    for limiter in limiters_of(app):
        if not (limiter.initialized and limiter.enabled):
            continue
        storage = limiter.limiter.storage
        if isinstance(storage, GuardedStorage):
            storage = storage.inner
        if isinstance(storage, MemoryStorage):
            warn_memory(
                app,
                "flask-limiter (memory://)",
                "Set RATELIMIT_STORAGE_URI to a Redis URI shared by the workers.",
                environ,
            )
            continue
        lacks = unbounded_waits(getattr(storage, "storage", None))
        if lacks:
            warn_once(
                app,
                f"flask-limiter's storage {_location(storage, _storage_uri(state))} can keep a"
                f" request waiting past its socket timeout ({', '.join(lacks)}): set"
                " RATELIMIT_STORAGE_OPTIONS = flask_apierrors.limits_storage"
                ".redis_storage_options(RATELIMIT_STORAGE_URI), or pass socket_timeout,"
                " socket_connect_timeout and no retries yourself.",
            )


def guard_limiters(state: AppState) -> None:
    """Pass the storage of every flask-limiter ``Limiter`` set up on the app
    through the outage policy (once per limiter, whichever app comes first):
    the strategy's ``storage`` attribute (limits' ``RateLimiter.storage``)
    gets the wrapper, which reads the policy of the app of each call.
    """
    if not state.settings_of(RateLimitSettings).ratelimit_guard_storage:
        return
    settings = state.settings_of(LimitsSettings)
    uri = _storage_uri(state)
    for limiter in limiters_of(state.app):
        if not (limiter.initialized and limiter.enabled):
            continue
        strategy = limiter.limiter
        with _INSTALL_LOCK:
            if not isinstance(strategy.storage, GuardedStorage):
                inner = strategy.storage
                guard = guard_for(
                    _location(inner, uri), retry_interval=settings.limits_retry_interval
                )
                strategy.storage = GuardedStorage(inner, guard, fail_open=settings.limits_fail_open)


def init_app(state: AppState) -> None:
    """Check the storage of the limiters set up on the app now and guard it,
    and do both for those set up after :class:`~flask_apierrors.ApiErrors`
    at the first request, so the order in which the extensions are set up
    does not matter.

    :raises ValueError: an unsupported ``RATELIMIT_STORAGE_URI``; fail-closed
        with a ``Limiter`` that catches storage errors (at setup, or at the
        first request, every request until the configuration is fixed, for
        one set up later).
    """
    uri = _storage_uri(state)
    if uri:
        check_storage_uri(uri)
    check_fail_closed(state)
    check_limiters(state)
    guard_limiters(state)

    def first_request(environ: t.Mapping[str, t.Any]) -> None:
        # No extension can be set up once the app has served a request, so
        # one pass is enough.
        check_fail_closed(state)
        guard_limiters(state)
        check_limiters(state, environ)

    at_first_request(state.app, first_request)
