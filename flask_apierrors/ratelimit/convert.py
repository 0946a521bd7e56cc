"""flask-limiter's 429s: their body in the format in force, and their headers.

What flask-limiter (4.x, with limits 5.x) leaves to this module, and why:

**The body.** flask-limiter raises ``RateLimitExceeded``, a Werkzeug 429
whose description is the limit's text. It becomes ``rate_limit_exceeded``
with the numbers of the breached limit, shaped by the format it is rendered
in, unless ``APIERRORS_RATELIMIT_DETAILS`` names the fields:

* the ``error_code`` and ``detail`` formats: message ``"Rate limit
  exceeded"``, details ``limit``, ``window`` (``"1 minute"``), ``retry_after``;
* any other format: message ``"Rate limit of 100 requests per minute
  exceeded"``, details ``limit``, ``remaining``, ``reset_at`` (ISO 8601),
  ``retry_after``.

**Retry-After.** flask-limiter sends ``int(reset - now)``: 0 in the last
second before a reset (often, on a one-second window), and only for the limit
it reports, while with ``RATELIMIT_FAIL_ON_FIRST_BREACH = False`` a request
may breach several. Ours is at least ``APIERRORS_RATELIMIT_MIN_RETRY_AFTER``
(and 1), rounded up, and not before every limit the request breached has
reset. limits' Redis storage reads a window's end with ``TTL``, which Redis
rounds to the nearest second: the wait also covers half a second past the
end it reports. The clock is read after the storage answered; read before, a
storage read that crossed a second boundary made a one-minute window ask for
62 seconds.

**Headers exactly once, with the body's numbers.** flask-limiter adds
``X-RateLimit-*`` in an ``after_request`` hook, only when
``RATELIMIT_HEADERS_ENABLED``, and with ``add`` (a second copy next to one
already there). Every 429 of a breached limit gets ``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (epoch seconds) and
``Retry-After`` exactly once (under the ``Limiter``'s names: its
``header_name_mapping``, else the ``RATELIMIT_HEADER_*`` keys), set by the
extension's WSGI middleware after every hook ran
(:meth:`~flask_apierrors.state.AppState.add_header_fixer`). ``on_breach``
responses and ``error_message`` keep their body and message; they get the
same headers when their status is 429, but a ``Retry-After`` the callback
set (seconds or an HTTP date) that asks for a longer wait is kept as set:
an ``after_request`` hook reads it before flask-limiter rewrites it. The
numbers are worked out once per request and kept in its WSGI environ, so
body and headers agree.
"""

from __future__ import annotations

import dataclasses
import math
import time
import typing as t

from flask import has_request_context
from flask import request
from flask_limiter import Limiter
from flask_limiter import RateLimitExceeded
from flask_limiter.constants import ConfigVars
from flask_limiter.constants import HeaderNames

from ..client.transport import parse_retry_after
from ..quota import quota_exceeded
from ..timeutil import format_time
from . import DETAIL_FIELDS  # noqa: F401 - re-exported: its old home
from . import RateLimitSettings
from .limits import earliest_retry
from .limits import policy_name_of

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Response
    from flask_limiter import RequestLimit
    from limits import RateLimitItem

    from ..integrations.base import Context
    from ..problem import Problem
    from ..state import AppState

#: The details of the ``error_code`` and ``detail`` formats.
WINDOW_DETAILS: t.Final = ("limit", "window", "retry_after")
#: The details of every other format.
RESET_DETAILS: t.Final = ("limit", "remaining", "reset_at", "retry_after")
#: Formats that get :data:`WINDOW_DETAILS` and :data:`WINDOW_MESSAGE`.
WINDOW_FORMATS: t.Final = ("error_code", "detail")
WINDOW_MESSAGE: t.Final = "Rate limit exceeded"
RESET_MESSAGE: t.Final = "Rate limit of {limit} {requests} per {period} exceeded"

#: WSGI environ key of the request's :class:`RateLimitInfo`.
INFO_KEY: t.Final = "flask_apierrors.ratelimit.info"
#: WSGI environ key of the headers the converter gave the request's 429.
HEADERS_KEY: t.Final = "flask_apierrors.ratelimit.headers"
#: WSGI environ key of the ``Retry-After`` an ``on_breach`` response set.
ASKED_KEY: t.Final = "flask_apierrors.ratelimit.asked"

#: The names of ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` and
#: ``Retry-After``, in this order.
HeaderNamesT = tuple[str, str, str, str]
_HEADERS: t.Final = (
    (HeaderNames.LIMIT, ConfigVars.HEADER_LIMIT),
    (HeaderNames.REMAINING, ConfigVars.HEADER_REMAINING),
    (HeaderNames.RESET, ConfigVars.HEADER_RESET),
    (HeaderNames.RETRY_AFTER, ConfigVars.HEADER_RETRY_AFTER),
)


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

    def headers(self, names: HeaderNamesT) -> list[tuple[str, str]]:
        """The rate-limit headers under ``names`` (:func:`header_names`),
        ``Retry-After`` last (the draft fields are :mod:`.fields`')."""
        values = (self.limit, self.remaining, self.reset, self.retry_after)
        return [(name, str(value)) for name, value in zip(names, values, strict=True)]


def _mapped_names(limiter: object) -> HeaderNamesT | None:
    # flask-limiter keeps the names in a private attribute, complete once
    # init_app resolved it against the config: read it defensively.
    mapping = getattr(limiter, "_header_mapping", None)
    found = tuple(mapping.get(h) for h, _ in _HEADERS) if isinstance(mapping, dict) else ()
    usable = bool(found) and all(isinstance(name, str) and name for name in found)
    return t.cast(HeaderNamesT, found) if usable else None


def header_names(app: Flask, breached: t.Sequence[RequestLimit] = ()) -> HeaderNamesT:
    """The names flask-limiter gives the rate-limit headers: those of the
    ``Limiter`` of the first ``breached`` limit (else of the app's first
    limiter), from its ``header_name_mapping`` and the ``RATELIMIT_HEADER_*``
    config keys; the config keys alone when the limiter's are unknown."""
    for limiter in (*(r.extension for r in breached), *limiters_of(app)):
        names = _mapped_names(limiter)
        if names is not None:
            return names
    get = app.config.get
    return t.cast(HeaderNamesT, tuple(get(key, header.value) for header, key in _HEADERS))


def sent_names(app: Flask) -> set[str]:
    """Every name (lower case) a limiter of the app may send a rate-limit
    header under: replaced on a 429, so none comes twice."""
    names = [header_names(app), *(_mapped_names(lim) or () for lim in limiters_of(app))]
    return {name.lower() for found in names for name in found}


def limiters_of(app: Flask) -> list[Limiter]:
    """The flask-limiter ``Limiter`` objects set up on ``app``."""
    found = app.extensions.get("limiter") or ()
    if isinstance(found, Limiter):
        return [found]
    return [limiter for limiter in found if isinstance(limiter, Limiter)]


def breached_limits(limiters: t.Iterable[Limiter]) -> list[RequestLimit]:
    """The limits the current request breached, as flask-limiter's
    ``current_limits`` of each limiter report them."""
    found: list[RequestLimit] = []
    for limiter in limiters:
        current = limiter.current_limit
        if current is not None:
            found += [r for r in (current, *limiter.current_limits) if r.breached]
    return found


def breach_info(
    item: RateLimitItem | None, breached: t.Sequence[RequestLimit], *, min_retry_after: int = 1
) -> RateLimitInfo | None:
    """The :class:`RateLimitInfo` of the breached limit ``item`` (or of the
    first of ``breached`` when ``item`` is ``None``); ``None`` when the
    request breached no limit.

    With ``RATELIMIT_FAIL_ON_FIRST_BREACH`` off, flask-limiter's "current"
    limit may be another breached one than the exception's: ``item`` wins,
    and ``retry_after`` waits for every limit of ``breached``.
    """
    current = next((r for r in breached if item is None or r.limit == item), None)
    if current is None and item is None:
        return None
    # Every storage read first (flask-limiter reads a window on first use),
    # then the clock: a wait computed from an earlier "now" can come out a
    # second too long when a read crosses a second boundary.
    waits = [earliest_retry(r) for r in breached]
    now = time.time()
    if current is not None:
        item = current.limit
        reset = int(current.reset_at)
        remaining = max(0, int(current.remaining))
    else:
        assert item is not None
        reset = math.ceil(now + item.get_expiry())
        remaining = 0
    floor = max(1, int(min_retry_after))
    return RateLimitInfo(
        limit=item.amount,
        remaining=remaining,
        reset=reset,
        retry_after=max(floor, math.ceil(max([reset, *waits]) - now)),
        multiples=item.multiples,
        granularity=item.GRANULARITY.name,
    )


def _shape(ctx: Context, settings: RateLimitSettings) -> tuple[tuple[str, ...], str]:
    spec = ctx.catalog.get("rate_limit_exceeded")
    fmt = (spec.format if spec is not None else None) or ctx.settings.format
    window = isinstance(fmt, str) and fmt in WINDOW_FORMATS
    names = settings.ratelimit_details or (WINDOW_DETAILS if window else RESET_DETAILS)
    message = settings.ratelimit_message or (WINDOW_MESSAGE if window else RESET_MESSAGE)
    return tuple(names), message


class RateLimitErrors:
    """The integration on one app: its converter and its header fixer.

    Made by :func:`init_app` for each app, so the converter finds that app's
    limiters without Flask's globals.
    """

    __slots__ = ("_names", "state")

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._names: tuple[HeaderNamesT, set[str], bool] | None = None

    def names(self, breached: t.Sequence[RequestLimit] = ()) -> tuple[HeaderNamesT, set[str]]:
        """The header names of a 429 (:func:`header_names`) and every name
        a limiter may send (:func:`sent_names`); read once the app serves
        (its limiters' names are fixed then)."""
        found = self._names
        if found is None:
            app = self.state.app
            found = (header_names(app), sent_names(app), len(limiters_of(app)) > 1)
            if self.state.served:
                self._names = found
        if found[2] and breached:  # limiters of other names: the breached one's
            return header_names(self.state.app, breached), found[1]
        return found[0], found[1]

    def info(
        self, environ: t.MutableMapping[str, t.Any] | None, item: RateLimitItem | None, floor: int
    ) -> RateLimitInfo | None:
        """The request's :class:`RateLimitInfo`, worked out once and kept in
        its WSGI ``environ`` (``None``: outside a request, from ``item`` alone)."""
        if environ is None:
            return breach_info(item, (), min_retry_after=floor)
        cached: RateLimitInfo | None = environ.get(INFO_KEY)
        if cached is None:
            breached = breached_limits(limiters_of(self.state.app))
            cached = breach_info(item, breached, min_retry_after=floor)
            if cached is not None:
                environ[INFO_KEY] = cached
        return cached

    def convert(self, e: BaseException, ctx: Context) -> Problem | None:
        """flask-limiter's :class:`~flask_limiter.RateLimitExceeded` ->
        ``rate_limit_exceeded`` (see the module docs for the shape)."""
        if not isinstance(e, RateLimitExceeded):
            return None
        settings = ctx.settings_of(RateLimitSettings)
        environ = ctx.request.environ if ctx.request is not None else None
        info = self.info(environ, e.limit.limit, settings.ratelimit_min_retry_after)
        assert info is not None  # an item always gives one
        names, template = _shape(ctx, settings)
        fields = info.fields()
        message = e.description if e.limit.error_message else template.format(**fields)
        breached = breached_limits(limiters_of(self.state.app)) if environ is not None else []
        headers = info.headers(self.names(breached)[0])
        if environ is not None:
            # The middleware calls fix_headers after every hook: the same headers again.
            environ.setdefault(HEADERS_KEY, headers)
        problem = ctx.problem(
            "rate_limit_exceeded",
            status=429,
            message=message,
            details={name: fields[name] for name in names},
            headers=headers,
        )
        if not settings.ratelimit_draft_headers or environ is None:
            return problem
        # The names the RateLimit-Policy field gives the breached limits.
        return problem.replace(**quota_exceeded(policy_name_of(r) for r in breached))

    def read_asked(self, response: Response) -> Response:
        """Keep the ``Retry-After`` of an ``on_breach`` 429 as the callback
        set it. An ``after_request`` hook registered after flask-limiter's
        (at the first request), so it runs before flask-limiter rewrites
        the header."""
        if response.status_code == 429:
            environ = request.environ
            if HEADERS_KEY not in environ:
                name = self.names()[0][3]
                asked = response.headers.get(name) or response.headers.get("Retry-After")
                if asked:
                    environ[ASKED_KEY] = asked
        return response

    def fix_headers(self, status: int, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The rate-limit headers of a 429, each exactly once. Called by the
        extension's middleware after every ``after_request`` hook
        (flask-limiter's included), still inside the request context: the
        only place where "exactly once" can be guaranteed."""
        if status != 429 or not has_request_context():
            return headers
        environ = request.environ
        wanted: list[tuple[str, str]] | None = environ.get(HEADERS_KEY)
        if wanted is None:
            # Not rendered by the converter (an on_breach response, an app's own 429).
            scope = self.state.scope_for(request.blueprints, request.path)
            if not scope.settings.enabled:
                return headers  # flask-limiter's (or the app's) own, where ApiErrors is off
            breached = breached_limits(limiters_of(self.state.app))
            if not breached:
                return headers  # a 429 that is no rate limit (concurrency, an app's own)
            floor = scope.settings_of(RateLimitSettings).ratelimit_min_retry_after
            info = self.info(environ, None, floor)
            assert info is not None  # a breached limit always gives one
            wanted = info.headers(self.names(breached)[0])
            # An on_breach response may ask for a longer wait: keep its value.
            asked = environ.get(ASKED_KEY)
            if asked is None:  # read_asked not registered: the header as it is now
                asked = dict((k.lower(), v) for k, v in headers).get(wanted[-1][0].lower())
            if asked is not None and (parse_retry_after(asked) or 0) > int(wanted[-1][1]):
                wanted[-1] = (wanted[-1][0], asked.strip())
        names = self.names()[1] | {name.lower() for name, _ in wanted}
        return [(k, v) for k, v in headers if k.lower() not in names] + wanted


def init_app(state: AppState) -> None:
    """Register the converter and the header fixer on an app (the plug-in's setup)."""
    errors = RateLimitErrors(state)
    state.register_converter(RateLimitExceeded, errors.convert, plugin=True)
    state.add_header_fixer(errors.fix_headers)

    def register(state: AppState) -> None:
        # Now, after every Limiter's init_app: Flask runs after_request
        # hooks last registered first, so this one sees the response before
        # flask-limiter's rewrites its Retry-After (only with its headers on).
        if any(getattr(lim, "_headers_enabled", True) for lim in limiters_of(state.app)):
            state.app.after_request(errors.read_asked)

    state.on_first_request(register)
