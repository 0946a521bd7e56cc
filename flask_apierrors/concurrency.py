"""Concurrent-request limits: at most N requests of one client in flight.

::

    concurrency = ConcurrencyLimiter(app, key_func=lambda: request.headers["X-API-Key"])


    @app.post("/chat")
    @concurrency.limit(5)
    def chat(): ...

A request over the limit gets a 429 ``concurrent_limit_exceeded`` with
``concurrent_limit``, ``current_concurrent`` (the requests in flight,
counting the refused one) and ``retry_after``.

A slot is taken before the view runs and given back when the WSGI server
closes the response: after the last byte of a streamed response, when the
client disconnects mid-stream, and after error responses too. A small WSGI
middleware (installed by :meth:`ConcurrencyLimiter.init_app`) does this, so
it works whatever the response is (a generator, an SSE stream, a file). A
slot also expires ``slot_ttl`` seconds after it was taken, so a worker that
crashes cannot hold slots forever; a streamed response renews its slots as it
sends chunks.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import math
import secrets
import threading
import time
import typing as t

from flask import Flask
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request

from . import config
from .errors import ApiError
from .limits_storage import ConcurrencyStorage
from .limits_storage import LimitsSettings
from .limits_storage import StorageGuard
from .limits_storage import concurrency_storage_from_uri
from .limits_storage import guard_for
from .plugins import Plugin
from .state import find_state

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The WSGI environ key of the slots a request holds.
ENVIRON_KEY: t.Final = "flask_apierrors.concurrency_slots"

_EXTENSION: t.Final = "apierrors_concurrency"


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrencySettings:
    """The ``APIERRORS_CONCURRENCY_*`` keys (:class:`ConcurrencyLimiter`)."""

    #: Where ``ConcurrencyLimiter`` keeps its slots: ``memory://`` or a
    #: Redis URI shared by every worker and host.
    concurrency_storage_uri: str = "memory://"
    #: Connect and read timeout of the concurrency Redis, seconds.
    concurrency_socket_timeout: float = 0.5
    #: Seconds after which a slot frees itself (the slots of a crashed worker).
    concurrency_slot_ttl: float = 300.0
    #: ``Retry-After`` of a concurrency 429, seconds.
    concurrency_retry_after: int = 1
    #: Prefix of the concurrency keys in the storage.
    concurrency_key_prefix: str = "apierrors:concurrency"
    #: App-wide concurrency limit per key (an int or a callable);
    #: ``None``: only decorated views are limited.
    concurrency_application_limit: t.Any = None


def plugin() -> Plugin:
    """The entry point: declares the concurrency settings."""
    return Plugin("concurrency", settings=(ConcurrencySettings,))


#: Options read from ``APIERRORS_CONCURRENCY_*`` unless given to the limiter.
_OPTIONS: t.Final = (
    "concurrency_storage_uri",
    "concurrency_socket_timeout",
    "concurrency_slot_ttl",
    "concurrency_retry_after",
    "concurrency_key_prefix",
    "concurrency_application_limit",
    "limits_fail_open",
    "limits_retry_interval",
)


class ConcurrentLimitExceeded(ApiError):
    """429 ``concurrent_limit_exceeded``.

    :param limit: The concurrency limit.
    :param current: Requests in flight, counting the refused one.
    :param retry_after: Seconds the client should wait (``Retry-After``).
    :param message: Replaces the catalog's message.
    """

    error_code = "concurrent_limit_exceeded"
    status = 429

    def __init__(
        self, limit: int, current: int, retry_after: int, message: str | None = None
    ) -> None:
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


class _State:
    """One app's storage and options for one limiter."""

    def __init__(self, storage: ConcurrencyStorage, options: dict[str, t.Any]) -> None:
        self.storage = storage
        self.guard: StorageGuard = guard_for(
            storage.location, retry_interval=float(options["limits_retry_interval"])
        )
        self.fail_open = bool(options["limits_fail_open"])
        self.ttl = float(options["concurrency_slot_ttl"])
        self.retry_after = int(options["concurrency_retry_after"])
        self.prefix = str(options["concurrency_key_prefix"])
        self.application_limit: int | t.Callable[[], int] | None = options[
            "concurrency_application_limit"
        ]
        if self.ttl <= 0:
            raise ValueError("concurrency_slot_ttl must be a positive number of seconds.")


class _Slot:
    __slots__ = ("key", "member", "state")

    def __init__(self, state: _State, key: str, member: str) -> None:
        self.state = state
        self.key = key
        self.member = member

    def release(self) -> None:
        state = self.state
        state.guard.call(
            lambda: state.storage.release(self.key, self.member),
            lambda: None,
            fail_open=state.fail_open,
            errors=state.storage.errors,
            refuse=False,
        )

    def refresh(self) -> None:
        state = self.state
        state.guard.call(
            lambda: state.storage.refresh(self.key, self.member, state.ttl),
            lambda: None,
            fail_open=state.fail_open,
            errors=state.storage.errors,
            refuse=False,
        )


class _Held:
    """The slots one request holds; released once, however the request ends."""

    __slots__ = ("_lock", "open", "slots")

    def __init__(self) -> None:
        self.slots: list[_Slot] = []
        #: False once the middleware handed the response to the server
        #: without slots: later acquisitions are released at teardown.
        self.open = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            slots, self.slots = self.slots, []
        for slot in slots:
            slot.release()

    def refresh(self) -> None:
        for slot in list(self.slots):
            slot.refresh()

    def min_ttl(self) -> float:
        return min((s.state.ttl for s in self.slots), default=math.inf)


class _ReleasingIterable:
    """The response body, passed through; :meth:`close` (called by the server
    at the end of the response or when the client went away) releases the
    request's slots. Renews them while a long response streams."""

    def __init__(self, app_iter: t.Iterable[bytes], held: _Held) -> None:
        self._app_iter = app_iter
        self._iter = iter(app_iter)
        self._held = held
        self._every = held.min_ttl() / 3
        self._next_refresh = time.monotonic() + self._every

    def __iter__(self) -> _ReleasingIterable:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._iter)
        if time.monotonic() >= self._next_refresh:
            self._next_refresh = time.monotonic() + self._every
            self._held.refresh()
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._app_iter, "close", None)
            if close is not None:
                close()
        finally:
            self._held.release()


class SlotReleaser:
    """WSGI middleware releasing the slots a request took when its response
    is closed (or when the app raised). :meth:`ConcurrencyLimiter.init_app`
    installs it around ``app.wsgi_app``."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        held = _Held()
        environ[ENVIRON_KEY] = held
        try:
            app_iter = self.wsgi_app(environ, start_response)
        except BaseException:
            held.release()
            raise
        if not held.slots:
            # Nothing to release: hand the body over untouched (keeps
            # wsgi.file_wrapper responses zero-copy).
            held.open = False
            return app_iter
        return _ReleasingIterable(app_iter, held)


def _qualified_name(f: t.Callable[..., t.Any]) -> str:
    # flask-limiter's rule: __name__ too, since class-based views share a
    # __qualname__.
    return f"{f.__module__}.{f.__name__}.{f.__qualname__}"


def _digest(key: str) -> str:
    # Keys are often credentials (API keys): never store them as they are.
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _release_at_teardown(exc: BaseException | None) -> None:
    held: _Held | None = g.pop("_apierrors_concurrency_held", None)
    if held is not None:
        held.release()


class ConcurrencyLimiter:
    """At most N requests in flight per key, across every worker that shares
    the storage.

    :param app: The app to set up now.
    :param key_func: Returns the key requests are counted by (an API key, a
        user id ...); default: the client's IP. An empty key is not limited.
    :param application_limit: A limit on all routes together, per key, or a
        callable returning it (``APIERRORS_CONCURRENCY_APPLICATION_LIMIT``).
    :param storage_uri: ``memory://`` (default) or a Redis URI shared by all
        workers and hosts (``APIERRORS_CONCURRENCY_STORAGE_URI``).
    :param storage: A ready :class:`~flask_apierrors.limits_storage.ConcurrencyStorage`
        instead of ``storage_uri``.
    :param options: Any other ``concurrency_*`` option, and ``limits_fail_open``
        or ``limits_retry_interval``; see the configuration page. Options not
        given are read from the app's ``ApiErrors`` settings, then from
        ``app.config``, at the first request.

    .. versionadded:: 0.1
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
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(
                f"Unknown ConcurrencyLimiter option(s): {', '.join(sorted(unknown))}."
                f" Valid options: {', '.join(_OPTIONS)}."
            )
        self.key_func = key_func or remote_address
        self._storage = storage
        self._options = {k: v for k, v in options.items() if v is not None}
        if application_limit is not None:
            self._options["concurrency_application_limit"] = application_limit
        if storage_uri is not None:
            self._options["concurrency_storage_uri"] = storage_uri
        self._exempt: set[str] = set()
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the slot-releasing middleware and the app-wide check.

        :raises RuntimeError: this limiter is already set up on ``app``.
        """
        states: dict[ConcurrencyLimiter, _State | None] = app.extensions.setdefault(_EXTENSION, {})
        if self in states:
            raise RuntimeError("This ConcurrencyLimiter is already set up on this app.")
        states[self] = None
        if not isinstance(app.wsgi_app, SlotReleaser):
            app.wsgi_app = SlotReleaser(app.wsgi_app)  # type: ignore[method-assign]
            app.teardown_request(_release_at_teardown)
        app.before_request(self._check_application_limit)

    def _drop_application_check(self, app: Flask) -> None:
        # The options are read once, at the first request: without an
        # application limit then, the check can never apply, so it leaves the
        # hooks. A new list rather than list.remove(): a request iterating
        # over the old one must not skip the hook after this one.
        hook = self._check_application_limit
        with self._lock:
            funcs = app.before_request_funcs.get(None)
            if funcs is not None and hook in funcs:
                app.before_request_funcs[None] = [f for f in funcs if f != hook]

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

            def acquire() -> None:
                if has_request_context():
                    self._acquire(name, limit, key_func, retry_after, error_message)

            if inspect.iscoroutinefunction(f):

                @functools.wraps(f)
                async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                    acquire()
                    return await f(*args, **kwargs)

                return t.cast(F, async_wrapper)

            @functools.wraps(f)
            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                acquire()
                return f(*args, **kwargs)

            return t.cast(F, wrapper)

        return decorator

    def exempt(self, f: F) -> F:
        """Decorate a view the application limit does not apply to."""
        self._exempt.add(_qualified_name(f))
        return f

    def in_flight(self, key: str, scope: str = "app") -> int:
        """Requests of ``key`` in flight now in ``scope`` (``"app"`` for the
        application limit, else the view's scope), in the current app."""
        state = self._state()
        return state.guard.call(
            lambda: state.storage.count(self._storage_key(state, scope, key)),
            lambda: 0,
            fail_open=state.fail_open,
            errors=state.storage.errors,
            refuse=False,
        )

    # -- internals -------------------------------------------------------------------------

    def _option(self, app: Flask, name: str) -> t.Any:
        if name in self._options:
            return self._options[name]
        cls = LimitsSettings if name.startswith("limits_") else ConcurrencySettings
        apierrors = find_state(app)
        if apierrors is not None:
            return getattr(apierrors.settings_of(cls), name)
        return app.config.get(config.config_key(name), getattr(cls(), name))

    def _state(self) -> _State:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        states: dict[ConcurrencyLimiter, _State | None] = app.extensions[_EXTENSION]
        state = states.get(self)
        if state is None:
            with self._lock:
                state = states.get(self)
                if state is None:
                    options = {name: self._option(app, name) for name in _OPTIONS}
                    storage = self._storage or concurrency_storage_from_uri(
                        str(options["concurrency_storage_uri"]),
                        socket_timeout=float(options["concurrency_socket_timeout"]),
                    )
                    state = states[self] = _State(storage, options)
        return state

    @staticmethod
    def _storage_key(state: _State, scope: str, key: str) -> str:
        return f"{state.prefix}:{scope}:{_digest(key)}"

    def _check_application_limit(self) -> None:
        state = self._state()
        if state.application_limit is None:
            self._drop_application_check(current_app._get_current_object())  # type: ignore[attr-defined]
            return
        if request.endpoint is None:
            return
        view = current_app.view_functions.get(request.endpoint)
        if view is None or request.endpoint.rpartition(".")[2] == "static":
            return
        if _qualified_name(view) in self._exempt:
            return
        self._acquire("app", state.application_limit, None, None, None)

    def _acquire(
        self,
        scope: str,
        limit: int | t.Callable[[], int],
        key_func: t.Callable[[], str | None] | None,
        retry_after: int | None,
        message: str | None,
    ) -> None:
        state = self._state()
        key = (key_func or self.key_func)()
        if not key:
            return
        n = limit() if callable(limit) else limit
        storage_key = self._storage_key(state, scope, key)
        member = secrets.token_hex(8)
        result = state.guard.call(
            lambda: state.storage.acquire(storage_key, member, n, state.ttl),
            lambda: None,
            fail_open=state.fail_open,
            errors=state.storage.errors,
        )
        if result is None:
            return  # storage down, failing open: no slot to hold
        acquired, count = result
        if not acquired:
            wait = retry_after if retry_after is not None else state.retry_after
            raise ConcurrentLimitExceeded(n, count + 1, max(1, wait), message)
        _held().slots.append(_Slot(state, storage_key, member))


def _held() -> _Held:
    held = request.environ.get(ENVIRON_KEY)
    if isinstance(held, _Held) and held.open:
        return held
    # Not served through SlotReleaser (or the body was already handed over):
    # release when the request context ends.
    fallback: _Held | None = g.get("_apierrors_concurrency_held")
    if fallback is None:
        fallback = g._apierrors_concurrency_held = _Held()
    return fallback
