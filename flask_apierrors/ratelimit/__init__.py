"""The flask-limiter feature: its settings and its plug-in.

flask-limiter counts the requests and decides; this feature adds only what
flask-limiter 4 and limits 5 do not do (each module says why in detail):

* :mod:`.convert`: the 429 body in the error format in force (flask-limiter
  renders its own text), a ``Retry-After`` that is right (flask-limiter
  sends ``int(reset - now)``, 0 near the end of a window, and looks at one
  breached limit only), and the rate-limit headers exactly once and with the
  body's numbers (flask-limiter adds them in an ``after_request`` hook, only
  when ``RATELIMIT_HEADERS_ENABLED``, next to any already there).
* :mod:`.guard`: the limits outage policy of :mod:`flask_apierrors.limits_storage`
  for flask-limiter's storage (``swallow_errors`` and ``in_memory_fallback``
  cannot fail closed, and keep asking a storage that is down on every
  request), and the startup checks of every limiter's storage: an
  unsupported ``RATELIMIT_STORAGE_URI`` is a one-line ``ValueError``, a
  Redis client without a socket timeout (or with retries) and in-memory
  counts under several worker processes are WARNINGs.
* :mod:`.fields`: the ``RateLimit-Policy`` and ``RateLimit`` fields of
  draft-ietf-httpapi-ratelimit-headers on every response of a limited route
  (flask-limiter's limits and :class:`~flask_apierrors.ConcurrencyLimiter`'s),
  with ``APIERRORS_RATELIMIT_DRAFT_HEADERS``; set up with or without
  flask-limiter.

The integration is imported only when flask-limiter is installed; the
settings are declared either way, so a configuration stays valid without it.

.. versionchanged:: 0.2
    A package, replacing the undocumented ``flask_apierrors.integrations.limiter``.
"""

from __future__ import annotations

import dataclasses
import typing as t

from .. import config
from ..plugins import Plugin
from ..state import AppState

#: Fields ``APIERRORS_RATELIMIT_DETAILS`` may list.
DETAIL_FIELDS: t.Final = ("limit", "remaining", "reset", "reset_at", "window", "retry_after")
#: What a message template may use, with sample values.
MESSAGE_FIELDS: t.Final[t.Mapping[str, t.Any]] = {
    "limit": 100,
    "remaining": 0,
    "reset": 0,
    "reset_at": "1970-01-01T00:00:00Z",
    "retry_after": 1,
    "window": "1 minute",
    "period": "minute",
    "requests": "requests",
}


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """The ``APIERRORS_RATELIMIT_*`` keys (flask-limiter's 429s)."""

    #: Detail fields of a rate-limit 429, in order, from ``limit``,
    #: ``remaining``, ``reset``, ``reset_at``, ``window``, ``retry_after``;
    #: ``None``: chosen by the body format.
    ratelimit_details: tuple[str, ...] | None = None
    #: Message template of a rate-limit 429 (``{limit}``, ``{requests}``,
    #: ``{period}``, ``{window}`` ...); ``None``: chosen by the format. A
    #: limit's own ``error_message`` wins.
    ratelimit_message: str | None = None
    #: Smallest ``Retry-After`` of a rate-limit 429, seconds (at least 1).
    ratelimit_min_retry_after: int = 1
    #: Send the ``RateLimit-Policy`` and ``RateLimit`` fields of
    #: draft-ietf-httpapi-ratelimit-headers on every response of a limited
    #: route, and answer a ``problem`` 429 with the draft's
    #: ``quota-exceeded`` type.
    ratelimit_draft_headers: bool = False
    #: Apply the limits outage policy to flask-limiter's storage.
    ratelimit_guard_storage: bool = config.app_wide(True)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.ratelimit_details or ()) - set(DETAIL_FIELDS))
        if unknown:
            config.invalid("ratelimit_details", unknown, f"use {', '.join(DETAIL_FIELDS)}")
        if self.ratelimit_message is not None:
            try:
                self.ratelimit_message.format(**MESSAGE_FIELDS)
            except (KeyError, IndexError, ValueError) as exc:
                fields = "{" + "}, {".join(MESSAGE_FIELDS) + "}"
                why = f"it cannot be formatted ({exc!r}); it may use {fields}"
                config.invalid("ratelimit_message", self.ratelimit_message, why)
        if self.ratelimit_min_retry_after < 1:
            config.invalid(
                "ratelimit_min_retry_after", self.ratelimit_min_retry_after, "use 1 or more"
            )


def _setup_fields(state: AppState) -> None:
    from . import fields

    fields.init_app(state)


def _setup(state: AppState) -> None:
    from . import convert
    from . import guard

    convert.init_app(state)
    guard.init_app(state)
    _setup_fields(state)


def plugin() -> Plugin:
    """The entry point: the settings and the draft fields, and the
    integration if flask-limiter is installed."""
    try:
        import flask_limiter  # noqa: F401
    except ImportError:  # pragma: no cover - flask-limiter is an extra
        return Plugin("ratelimit", settings=(RateLimitSettings,), setup=_setup_fields, order=10)
    return Plugin("ratelimit", settings=(RateLimitSettings,), setup=_setup, order=10)
