"""flask-limiter: its 429s in the active format, their headers, and the
outage policy for its storage.

The body of a rate-limit 429 follows the format it is rendered in, unless
``APIERRORS_RATELIMIT_DETAILS`` names the fields:

* ``error_code`` and ``detail`` (the image-to-model API): message
  ``"Rate limit exceeded"``, details ``limit``, ``window`` (``"1 minute"``),
  ``retry_after``;
* any other format (the chat API): message ``"Rate limit of
  100 requests per minute exceeded"``, details ``limit``, ``remaining``,
  ``reset_at`` (ISO 8601), ``retry_after``.

Every 429 of a breached limit carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (epoch seconds) and
``Retry-After`` (seconds, at least 1, never before the reset of any limit
the request breached) exactly once,
with the values of the body, whatever ``RATELIMIT_HEADERS_ENABLED`` says:
flask-limiter adds its own headers in an ``after_request`` hook, so they are
set once more by the extension's WSGI middleware, after every hook ran.
``on_breach`` responses and ``error_message`` keep their body and message;
they get the same headers when their status is 429.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
import typing as t

from flask import Flask
from flask import after_this_request
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask_limiter import Limiter
from flask_limiter import RateLimitExceeded
from flask_limiter.constants import ConfigVars
from flask_limiter.constants import HeaderNames
from limits.errors import StorageError
from limits.storage import MovingWindowSupport
from limits.storage import SlidingWindowCounterSupport
from limits.storage import Storage

from ..limits_storage import LimitsSettings
from ..limits_storage import StorageGuard
from ..limits_storage import guard_for
from ..limits_storage import redis_location
from ..ratelimit import RateLimitSettings
from ..state import AppState
from ..state import find_state
from ..state import get_state
from ..timeutil import format_time

if t.TYPE_CHECKING:
    from flask import Response
    from flask_limiter import RequestLimit
    from limits import RateLimitItem

    from ..problem import Problem
    from .base import Context

T = t.TypeVar("T")

#: Fields ``APIERRORS_RATELIMIT_DETAILS`` may list.
DETAIL_FIELDS: t.Final = ("limit", "remaining", "reset", "reset_at", "window", "retry_after")
#: The image-to-model API's details.
WINDOW_DETAILS: t.Final = ("limit", "window", "retry_after")
#: The chat API's details.
RESET_DETAILS: t.Final = ("limit", "remaining", "reset_at", "retry_after")
#: Formats that get :data:`WINDOW_DETAILS` and :data:`WINDOW_MESSAGE`.
WINDOW_FORMATS: t.Final = ("error_code", "detail")
WINDOW_MESSAGE: t.Final = "Rate limit exceeded"
RESET_MESSAGE: t.Final = "Rate limit of {limit} {requests} per {period} exceeded"

_G_INFO: t.Final = "_apierrors_ratelimit"
_G_PHASE: t.Final = "_apierrors_limit_phase"
_G_HEADERS: t.Final = "_apierrors_ratelimit_headers"


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The numbers of one breached rate limit, shared by body and headers."""

    #: Requests allowed per window.
    limit: int
    #: Requests left in the window.
    remaining: int
    #: When the window resets, epoch seconds (``X-RateLimit-Reset``).
    reset: int
    #: Seconds to wait (``Retry-After``): at least 1, and not before this
    #: limit (or any other limit breached by the request) resets.
    retry_after: int
    #: Window length: ``multiples`` x ``granularity`` (``1`` x ``"minute"``).
    multiples: int
    granularity: str
    #: Window length in seconds.
    window_seconds: int

    @property
    def window(self) -> str:
        """``"1 minute"``, ``"10 seconds"``."""
        return f"{self.multiples} {self.granularity}{'' if self.multiples == 1 else 's'}"

    @property
    def period(self) -> str:
        """``"minute"``, ``"10 seconds"`` (as in "per minute")."""
        return self.granularity if self.multiples == 1 else self.window

    @property
    def reset_at(self) -> str:
        """:attr:`reset` in ISO 8601 UTC (``2023-12-01T10:05:00Z``)."""
        return format_time(self.reset)

    def fields(self) -> dict[str, t.Any]:
        """What a message template may use."""
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset": self.reset,
            "reset_at": self.reset_at,
            "retry_after": self.retry_after,
            "window": self.window,
            "period": self.period,
            "requests": "request" if self.limit == 1 else "requests",
        }

    def details(self, names: t.Iterable[str]) -> dict[str, t.Any]:
        """The body's details: ``names``, in that order."""
        values = self.fields()
        return {name: values[name] for name in names}

    def headers(self, app: Flask, *, draft: bool = False) -> list[tuple[str, str]]:
        """The rate-limit headers, named as flask-limiter's ``RATELIMIT_HEADER_*``
        config names them."""
        config = app.config
        rv = [
            (config.get(ConfigVars.HEADER_LIMIT, HeaderNames.LIMIT.value), str(self.limit)),
            (
                config.get(ConfigVars.HEADER_REMAINING, HeaderNames.REMAINING.value),
                str(self.remaining),
            ),
            (config.get(ConfigVars.HEADER_RESET, HeaderNames.RESET.value), str(self.reset)),
            (
                config.get(ConfigVars.HEADER_RETRY_AFTER, HeaderNames.RETRY_AFTER.value),
                str(self.retry_after),
            ),
        ]
        if draft:
            # draft-ietf-httpapi-ratelimit-headers: quota and window, then
            # what is left and when it comes back.
            rv.append(("RateLimit-Policy", f'"default";q={self.limit};w={self.window_seconds}'))
            rv.append(("RateLimit", f'"default";r={self.remaining};t={self.retry_after}'))
        return rv


def _limiters(app: Flask) -> list[Limiter]:
    found = app.extensions.get("limiter") or ()
    if isinstance(found, Limiter):
        return [found]
    return [limiter for limiter in found if isinstance(limiter, Limiter)]


def _all_breached() -> list[RequestLimit]:
    found: list[RequestLimit] = []
    for limiter in _limiters(current_app):
        current = limiter.current_limit
        if current is not None:
            found += [r for r in (current, *limiter.current_limits) if r.breached]
    return found


def _breached(item: RateLimitItem | None, breached: list[RequestLimit]) -> RequestLimit | None:
    # The limit the exception reports; with RATELIMIT_FAIL_ON_FIRST_BREACH
    # off, flask-limiter's "current" limit may be another breached one.
    for candidate in breached:
        if item is None or candidate.limit == item:
            return candidate
    return None


def _settings() -> RateLimitSettings:
    scope = get_state().scope_for(request.blueprints, request.path)
    return scope.settings_of(RateLimitSettings)


def breach_info(e: RateLimitExceeded | None = None) -> RateLimitInfo | None:
    """The :class:`RateLimitInfo` of the limit breached in this request (the
    one ``e`` reports, if given), or ``None`` if no limit was breached.
    Computed once per request, so body and headers agree."""
    return _breach_info(e, None)


def _breach_info(
    e: RateLimitExceeded | None, settings: RateLimitSettings | None
) -> RateLimitInfo | None:
    cached: RateLimitInfo | None = g.get(_G_INFO)
    if cached is not None:
        return cached
    item = e.limit.limit if e is not None else None
    breached = _all_breached()
    current = _breached(item, breached)
    if current is None and item is None:
        return None
    now = time.time()
    if current is not None:
        item = current.limit
        reset = int(current.reset_at)
        remaining = max(0, int(current.remaining))
    else:
        assert item is not None
        reset = math.ceil(now + item.get_expiry())
        remaining = 0
    # Not before every breached limit has reset: retrying earlier fails.
    last_reset = max([reset, *(int(other.reset_at) for other in breached)])
    floor = max(1, int((settings or _settings()).ratelimit_min_retry_after))
    info = RateLimitInfo(
        limit=item.amount,
        remaining=remaining,
        reset=reset,
        retry_after=max(floor, math.ceil(last_reset - now)),
        multiples=item.multiples,
        granularity=item.GRANULARITY.name,
        window_seconds=item.get_expiry(),
    )
    g.setdefault(_G_INFO, info)
    return info


def _shape(ctx: Context) -> tuple[tuple[str, ...], str]:
    settings = ctx.settings_of(RateLimitSettings)
    spec = ctx.catalog.get("rate_limit_exceeded")
    fmt = (spec.format if spec is not None else None) or ctx.settings.format
    window = isinstance(fmt, str) and fmt in WINDOW_FORMATS
    names = settings.ratelimit_details or (WINDOW_DETAILS if window else RESET_DETAILS)
    message = settings.ratelimit_message or (WINDOW_MESSAGE if window else RESET_MESSAGE)
    return tuple(names), message


def convert_rate_limit(e: BaseException, ctx: Context) -> Problem | None:
    """flask-limiter's :class:`~flask_limiter.RateLimitExceeded` ->
    ``rate_limit_exceeded`` (see the module docs for the shape)."""
    if not isinstance(e, RateLimitExceeded):
        return None
    settings = ctx.settings_of(RateLimitSettings)
    info = _breach_info(e, settings)
    assert info is not None
    names, template = _shape(ctx)
    fields = info.fields()
    message = e.description if e.limit.error_message else template.format(**fields)
    headers = info.headers(current_app, draft=settings.ratelimit_draft_headers)
    # The middleware's fix_headers sets the same headers again: keep them.
    g.setdefault(_G_HEADERS, headers)
    return ctx.problem(
        "rate_limit_exceeded",
        status=429,
        message=message,
        details={name: fields[name] for name in names},
        headers=headers,
    )


def fix_headers(status: int, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rate-limit headers of a 429, each exactly once. Called by the
    extension's middleware after every ``after_request`` hook (flask-limiter's
    included), still inside the request context: the only place where
    "exactly once" can be guaranteed."""
    if status != 429 or not has_request_context():
        return headers
    wanted: list[tuple[str, str]] | None = g.get(_G_HEADERS)
    if wanted is None:
        # Not rendered by the converter (an on_breach response, an app's own 429).
        info = breach_info()
        if info is None:
            return headers  # a 429 that is no rate limit (concurrency, an app's own)
        wanted = info.headers(current_app, draft=_settings().ratelimit_draft_headers)
    names = {name.lower() for name, _ in wanted}
    kept = [(k, v) for k, v in headers if k.lower() not in names]
    current = {k.lower(): v for k, v in headers}
    for name, value in wanted:
        if name.lower() == "retry-after":
            # An on_breach response may ask for a longer wait: keep it.
            asked = current.get("retry-after", "")
            if asked.isdigit() and int(asked) > int(value):
                value = asked
        kept.append((name, value))
    return kept


# -- outage policy for flask-limiter's storage -------------------------------------------------


def _checking() -> bool:
    """Whether this request is still deciding (before its response exists).
    Fail-closed refuses only then; later calls (headers, deductions) fail
    open, since the answer is already given."""
    if not has_request_context():
        return False
    phase = g.get(_G_PHASE)
    if phase is None:
        g.setdefault(_G_PHASE, "check")
        after_this_request(_end_check_phase)
        return True
    return bool(phase == "check")


def _end_check_phase(response: Response) -> Response:
    setattr(g, _G_PHASE, "done")
    return response


# What the storage answers while it cannot be reached (fail-open).
def _zero() -> int:
    return 0


def _true() -> bool:
    return True


def _false() -> bool:
    return False


def _empty_moving_window() -> tuple[float, int]:
    return time.time(), 0


def _empty_sliding_window() -> tuple[int, float, int, float]:
    return 0, 0.0, 0, 0.0


class GuardedStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    """A ``limits`` storage passed through a :class:`StorageGuard`: during an
    outage, hits succeed and reads return empty windows (fail-open), or the
    request gets a 503 (fail-closed)."""

    STORAGE_SCHEME = None  # a wrapper, not registered for any URI

    def __init__(self, inner: Storage, guard: StorageGuard, *, fail_open: bool) -> None:
        super().__init__()
        self.inner = inner
        self.guard = guard
        self.fail_open = fail_open

    @property
    def inner(self) -> Storage:
        """The wrapped storage."""
        return self._inner

    @inner.setter
    def inner(self, storage: Storage) -> None:
        # What counts as an outage, worked out once per storage rather
        # than on every call.
        base = storage.base_exceptions
        self._errors: tuple[type[BaseException], ...] = (
            *(base if isinstance(base, tuple) else (base,)),
            StorageError,
            OSError,
        )
        self._inner = storage

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self.inner.base_exceptions

    def _call(
        self, op: t.Callable[..., T], args: tuple[t.Any, ...], fallback: t.Callable[[], T]
    ) -> T:
        refuse = not self.fail_open and _checking()
        return self.guard.run(
            op, args, fallback, fail_open=self.fail_open, errors=self._errors, refuse=refuse
        )

    def incr(self, key: str, expiry: int, *args: t.Any, **kwargs: t.Any) -> int:
        if kwargs:
            return self._call(lambda: self._inner.incr(key, expiry, *args, **kwargs), (), _zero)
        return self._call(self._inner.incr, (key, expiry, *args), _zero)

    def get(self, key: str) -> int:
        return self._call(self._inner.get, (key,), _zero)

    def get_expiry(self, key: str) -> float:
        return self._call(self._inner.get_expiry, (key,), time.time)

    def check(self) -> bool:
        return self.guard.run(
            self._inner.check,
            (),
            _false,
            fail_open=self.fail_open,
            errors=self._errors,
            refuse=False,
        )

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


# ``limits`` wraps these methods of every Storage subclass to turn its errors
# into StorageError when ``wrap_exceptions`` is on. It is never on for the
# wrapper (the inner storage does its own wrapping), so the extra frame on
# every call does nothing: call the methods as written.
for _name in ("incr", "get", "get_expiry", "check", "reset", "clear"):
    setattr(GuardedStorage, _name, vars(GuardedStorage)[_name].__wrapped__)
del _name

_INSTALL_LOCK = threading.Lock()


def _location(storage: Storage) -> str:
    client = getattr(storage, "storage", None)
    if client is not None and hasattr(client, "connection_pool"):
        return redis_location(client)
    return f"{type(storage).__name__} {id(storage):#x}"


def guard_limiters(app: Flask) -> None:
    """Pass the storage of every flask-limiter ``Limiter`` set up on ``app``
    through the app's outage policy (once per limiter). Called by
    :class:`~flask_apierrors.ApiErrors` when it is set up and before the first
    request, so the order in which the extensions are set up does not matter.
    """
    state = find_state(app)
    if state is None or not state.settings_of(RateLimitSettings).ratelimit_guard_storage:
        return
    settings = state.settings_of(LimitsSettings)
    for limiter in _limiters(app):
        if not (limiter.initialized and limiter.enabled):
            continue
        strategy = limiter.limiter
        if isinstance(strategy.storage, GuardedStorage):
            continue
        with _INSTALL_LOCK:
            if not isinstance(strategy.storage, GuardedStorage):
                inner = strategy.storage
                guard = guard_for(_location(inner), retry_interval=settings.limits_retry_interval)
                strategy.storage = GuardedStorage(inner, guard, fail_open=settings.limits_fail_open)


def _check_settings(settings: RateLimitSettings) -> None:
    unknown = set(settings.ratelimit_details or ()) - set(DETAIL_FIELDS)
    if unknown:
        raise ValueError(
            f"Unknown rate-limit detail(s) {sorted(unknown)}: use {', '.join(DETAIL_FIELDS)}."
        )
    if settings.ratelimit_message is not None:
        sample = RateLimitInfo(100, 0, 0, 1, 1, "minute", 60)
        try:
            settings.ratelimit_message.format(**sample.fields())
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"ratelimit_message {settings.ratelimit_message!r} cannot be formatted ({exc!r});"
                f" it may use {{{'}, {'.join(sample.fields())}}}."
            ) from exc


def init_app(state: AppState) -> None:
    """Set up the flask-limiter integration on an app (the plug-in's setup)."""
    settings = state.settings_of(RateLimitSettings)
    _check_settings(settings)
    state.register_converter(RateLimitExceeded, convert_rate_limit, plugin=True)
    state.add_header_fixer(fix_headers)
    if not settings.ratelimit_guard_storage:
        return
    app = state.app
    guard_limiters(app)

    def guard_before_request() -> None:
        # A Limiter set up after ApiErrors is wrapped here. No extension can
        # be set up once the app has served a request, so one pass is
        # enough: the hook then takes itself out of every later request.
        guard_limiters(app)
        _remove_before_request(app, guard_before_request)

    app.before_request(guard_before_request)


def _remove_before_request(app: Flask, hook: t.Callable[[], t.Any]) -> None:
    # A new list rather than list.remove(): a request iterating over the old
    # one (this one, or another thread's) must not skip the hook after.
    with _INSTALL_LOCK:
        funcs = app.before_request_funcs.get(None)
        if funcs is not None and hook in funcs:
            app.before_request_funcs[None] = [f for f in funcs if f != hook]
