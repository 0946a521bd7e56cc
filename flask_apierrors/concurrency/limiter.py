"""The concurrency limiter: its decorator, its app-wide check and its 429."""

from __future__ import annotations

import functools
import hashlib
import inspect
import typing as t
import weakref

from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request

from ..config import check_options
from ..correlation import new_id
from ..declared import declare
from ..errors import ApiError
from ..limits_storage import ConcurrencyStorage
from ..limits_storage import LimitsSettings
from ..limits_storage import MemoryConcurrencyStorage
from ..limits_storage import check_storage_uri
from ..limits_storage.startup import at_first_request
from ..limits_storage.startup import warn_memory
from ..quota import quota_exceeded
from ..state import find_state
from . import fields
from .release import ENVIRON_KEY
from .release import Slot
from .release import SlotReleaser
from .release import acquire_slot
from .release import held_slots
from .release import release_at_teardown
from .settings import OPTIONS
from .settings import AppLimits
from .settings import ConcurrencySettings
from .settings import settings_of

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: ``app.extensions`` key: each limiter set up on the app -> its :class:`AppLimits`.
EXTENSION_KEY: t.Final = "apierrors_concurrency"

__all__ = [
    "ENVIRON_KEY",
    "EXTENSION_KEY",
    "ConcurrencyLimiter",
    "ConcurrentLimitExceeded",
    "check_memory_storage",
    "configure_app",
    "remote_address",
]


class ConcurrentLimitExceeded(ApiError):
    """429 ``concurrent_limit_exceeded``.

    :param limit: The concurrency limit.
    :param current: Requests in flight, counting the refused one.
    :param retry_after: Seconds the client should wait (``Retry-After``).
    :param message: Replaces the catalog's message.
    :param policy: The name of the limit's quota policy in the draft
        ``RateLimit-Policy`` field, when the request gets the fields.

    .. versionchanged:: 0.2
        Added ``policy``.
    """

    error_code = "concurrent_limit_exceeded"
    status = 429

    def __init__(
        self,
        limit: int,
        current: int,
        retry_after: int,
        message: str | None = None,
        *,
        policy: str | None = None,
    ) -> None:
        #: The quota policy's name (``violated-policies`` of a ``problem`` body).
        self.policy = policy
        if policy is not None:
            fields = quota_exceeded([policy])
            self.problem_type = fields["problem_type"]
            self.problem_members = fields["problem_members"]
        super().__init__(
            message=message,
            details={
                "concurrent_limit": limit,
                "current_concurrent": current,
                "retry_after": retry_after,
            },
            headers={"Retry-After": str(retry_after)},
        )


def remote_address() -> str:
    """The default key: the client's IP address (``request.remote_addr``)."""
    return request.remote_addr or "127.0.0.1"


def _qualified_name(f: t.Callable[..., t.Any]) -> str:
    # flask-limiter's rule: __name__ too, since class-based views share a
    # __qualname__.
    return f"{f.__module__}.{f.__name__}.{f.__qualname__}"


def _digest(key: str) -> str:
    # Keys are often credentials (API keys): never store them as they are.
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def configure_app(app: Flask) -> None:
    """Read the settings of every limiter set up on ``app`` again: called
    when :class:`~flask_apierrors.ApiErrors` is set up on ``app`` after
    them, so its options apply too.

    :raises ValueError: the settings cannot work (an unsupported storage URI).
    """
    limiters: dict[ConcurrencyLimiter, AppLimits] = app.extensions.get(EXTENSION_KEY, {})
    for limiter, limits in list(limiters.items()):
        limiters[limiter] = limiter._resolve(app, limits)
        limiter._check_requests(app, limiters[limiter])


def check_memory_storage(app: Flask, environ: t.Mapping[str, t.Any] | None = None) -> None:
    """Warn (once per app and process) if a limiter on ``app`` keeps its
    slots in memory while several worker processes serve the app
    (:func:`~flask_apierrors.limits_storage.startup.several_workers`)."""
    limiters: dict[ConcurrencyLimiter, AppLimits] = app.extensions.get(EXTENSION_KEY, {})
    if any(isinstance(limits.storage, MemoryConcurrencyStorage) for limits in limiters.values()):
        warn_memory(
            app,
            "ConcurrencyLimiter",
            "Set APIERRORS_CONCURRENCY_STORAGE_URI to a Redis URI shared by the workers.",
            environ,
        )


class ConcurrencyLimiter:
    """At most N requests in flight per key, across every worker that shares
    the storage.

    :param app: The app to set up now.
    :param key_func: Returns the key requests are counted by (an API key, a
        user id ...); default: the client's IP. An empty key is not limited.
    :param application_limit: A limit on all routes together, per key, or a
        callable returning it (``APIERRORS_CONCURRENCY_APPLICATION_LIMIT``).
    :param storage_uri: ``memory://`` (default) or a Redis URI shared by all
        workers and hosts: one server, ``redis+sentinel://`` or
        ``redis+cluster://`` (``APIERRORS_CONCURRENCY_STORAGE_URI``).
    :param storage: A ready :class:`~flask_apierrors.limits_storage.ConcurrencyStorage`
        instead of ``storage_uri``.
    :param options: Any other ``concurrency_*`` option, and ``limits_fail_open``
        or ``limits_retry_interval``; see the configuration page. Options not
        given are read from the app's ``ApiErrors`` settings, else from
        ``app.config``, when the limiter is set up on the app (and again if
        ``ApiErrors`` is set up on it later).
    :raises ValueError: an unsupported storage URI (here or in ``init_app``).

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        Settings are read and the storage URI checked in ``init_app``, not at
        the first request. Redis Sentinel and Cluster URIs; a WARNING when
        slots are kept in memory while several worker processes serve the
        app.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        key_func: t.Callable[[], str | None] | None = None,
        application_limit: int | t.Callable[[], int] | None = None,
        storage_uri: str | None = None,
        storage: ConcurrencyStorage | None = None,
        **options: t.Any,
    ) -> None:
        check_options(options, OPTIONS, "ConcurrencyLimiter")
        self.key_func = key_func or remote_address
        self._storage = storage
        self._options = {k: v for k, v in options.items() if v is not None}
        if application_limit is not None:
            self._options["concurrency_application_limit"] = application_limit
        if storage_uri is not None:
            check_storage_uri(storage_uri)
            self._options["concurrency_storage_uri"] = storage_uri
        self._exempt: set[str] = set()
        #: The apps whose requests this limiter checks against its application limit.
        self._checked: weakref.WeakSet[Flask] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the settings, make the storage, install the slot-releasing
        middleware and the app-wide check.

        :raises RuntimeError: this limiter is already set up on ``app``.
        :raises ValueError: the settings cannot work (an unsupported storage URI).
        """
        limiters: dict[ConcurrencyLimiter, AppLimits] = app.extensions.setdefault(EXTENSION_KEY, {})
        if self in limiters:
            raise RuntimeError("This ConcurrencyLimiter is already set up on this app.")
        limiters[self] = self._resolve(app, None)
        if not isinstance(app.wsgi_app, SlotReleaser):
            app.wsgi_app = SlotReleaser(app.wsgi_app)  # type: ignore[method-assign]
            app.teardown_request(release_at_teardown)
            at_first_request(app, lambda environ: check_memory_storage(app, environ))
        if find_state(app) is not None:
            # Otherwise ApiErrors checks when it is set up: its options may
            # still change the storage.
            check_memory_storage(app)
        self._check_requests(app, limiters[self])

    def _check_requests(self, app: Flask, limits: AppLimits) -> None:
        """Check every request of ``app`` against the application limit, from
        the setup that gives one on: an app without pays nothing per request."""
        if limits.application_limit is not None and app not in self._checked:
            self._checked.add(app)
            app.before_request(self._check_application_limit)

    def _resolve(self, app: Flask, current: AppLimits | None) -> AppLimits:
        settings = settings_of(app, ConcurrencySettings, self._options)
        limits = settings_of(app, LimitsSettings, self._options)
        if current is not None and current.settings == (settings, limits):
            return current
        return AppLimits(settings, limits, self._storage)

    # -- public API ------------------------------------------------------------------------

    def limit(
        self,
        limit: int | t.Callable[[], int],
        *,
        key_func: t.Callable[[], str | None] | None = None,
        scope: str | None = None,
        retry_after: int | None = None,
        error_message: str | None = None,
    ) -> t.Callable[[F], F]:
        """Decorate a view: at most ``limit`` requests per key in flight in it.

        :param limit: The limit, or a callable returning it per request.
        :param key_func: Replaces the limiter's ``key_func`` here.
        :param scope: Share one limit between views by giving them the same
            scope; default: one limit per view.
        :param retry_after: ``Retry-After`` of the 429 (seconds); default
            ``APIERRORS_CONCURRENCY_RETRY_AFTER``.
        :param error_message: Replaces the 429's message.
        """
        if isinstance(limit, int) and limit < 1:
            raise ValueError("A concurrency limit must be at least 1.")

        def decorator(f: F) -> F:
            name = scope or _qualified_name(f)
            # The policy's name in the draft RateLimit fields.
            label = scope or f.__name__

            def acquire() -> None:
                if has_request_context():
                    limits = self._limits()
                    self._acquire(limits, name, limit, key_func, retry_after, error_message, label)

            if inspect.iscoroutinefunction(f):

                @functools.wraps(f)
                async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                    acquire()
                    return await f(*args, **kwargs)

                return t.cast(F, declare(async_wrapper, [ConcurrentLimitExceeded.error_code]))

            @functools.wraps(f)
            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                acquire()
                return f(*args, **kwargs)

            # For the OpenAPI document: this view can answer a concurrency 429.
            return t.cast(F, declare(wrapper, [ConcurrentLimitExceeded.error_code]))

        return decorator

    def exempt(self, f: F) -> F:
        """Decorate a view the application limit does not apply to."""
        self._exempt.add(_qualified_name(f))
        return f

    def in_flight(self, key: str, scope: str = "app") -> int:
        """Requests of ``key`` in flight now in ``scope`` (``"app"`` for the
        application limit, else the view's scope), in the current app."""
        limits = self._limits()
        return limits.run(limits.storage.count, (self._storage_key(limits, scope, key),), int)

    # -- internals -------------------------------------------------------------------------

    def _limits(self) -> AppLimits:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        limits: AppLimits | None = app.extensions.get(EXTENSION_KEY, {}).get(self)
        if limits is None:
            raise RuntimeError("This ConcurrencyLimiter is not set up on this app: call init_app.")
        return limits

    @staticmethod
    def _storage_key(limits: AppLimits, scope: str, key: str) -> str:
        return f"{limits.prefix}:{scope}:{_digest(key)}"

    def _check_application_limit(self) -> None:
        limits = self._limits()
        if limits.application_limit is None or request.endpoint is None:
            return  # no application limit; a routing error holds no slot
        view = current_app.view_functions.get(request.endpoint)
        if view is None or request.endpoint.rpartition(".")[2] == "static":
            return
        if _qualified_name(view) in self._exempt:
            return
        self._acquire(limits, "app", limits.application_limit, None, None, None, "app")

    def _acquire(
        self,
        limits: AppLimits,
        scope: str,
        limit: int | t.Callable[[], int],
        key_func: t.Callable[[], str | None] | None,
        retry_after: int | None,
        message: str | None,
        label: str,
    ) -> None:
        key = (key_func or self.key_func)()
        if not key:
            return
        n = limit() if callable(limit) else limit
        storage_key = self._storage_key(limits, scope, key)
        member = new_id("")  # unique per request: the slot's owner
        result = acquire_slot(limits, storage_key, member, n)
        if result is None:
            return  # storage down, failing open: no slot to hold
        acquired, count = result
        policy = fields.record(label, n, count, key, acquired=acquired)
        if not acquired:
            wait = retry_after if retry_after is not None else limits.retry_after
            raise ConcurrentLimitExceeded(n, count + 1, max(1, wait), message, policy=policy)
        held_slots().slots.append(Slot(limits, storage_key, member))
