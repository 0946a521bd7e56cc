"""Configuration checks of flask-limiter's storage, raised when the app is
set up (or at its first request, for a ``Limiter`` set up after
:class:`~flask_apierrors.ApiErrors`): each a one-line ``ValueError``."""

from __future__ import annotations

import typing as t
import urllib.parse

from limits.storage import Storage

from ..limits_storage import LimitsSettings
from ..limits_storage.redis_clients import REDIS_SCHEMES
from ..limits_storage.redis_clients import parse_redis_uri
from ..limits_storage.redis_clients import redact_uri
from . import RateLimitSettings
from .convert import limiters_of

if t.TYPE_CHECKING:
    from ..state import AppState

__all__ = ["check_fail_closed", "check_storage_uri"]


def _limits_schemes() -> list[str]:
    found: set[str] = set()
    pending: list[type] = [Storage]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        scheme = getattr(cls, "STORAGE_SCHEME", None)
        found.update([scheme] if isinstance(scheme, str) else scheme or ())
    return sorted(found)


def check_storage_uri(uri: str) -> None:
    """Check flask-limiter's ``RATELIMIT_STORAGE_URI`` without making a
    storage: a scheme ``limits`` knows, and for ``redis+sentinel://`` and
    ``redis+cluster://``, nodes and a service name.

    :raises ValueError: in one line, naming the supported schemes.
    """
    scheme = urllib.parse.urlsplit(uri).scheme
    schemes = _limits_schemes()
    if scheme not in schemes:
        raise ValueError(
            f"Unsupported RATELIMIT_STORAGE_URI scheme {scheme!r} in {redact_uri(uri)!r}:"
            f" use one of {', '.join(s + '://' for s in schemes)}."
        )
    if scheme in REDIS_SCHEMES:
        parse_redis_uri(uri)


#: flask-limiter's outage options that catch the guard's 503: (argument,
#: config key, ``Limiter`` attribute).
_CATCHING_OPTIONS: t.Final = (
    ("swallow_errors", "RATELIMIT_SWALLOW_ERRORS", "_swallow_errors"),
    (
        "in_memory_fallback_enabled",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED",
        "_in_memory_fallback_enabled",
    ),
)


def check_fail_closed(state: AppState) -> None:
    """Refuse a fail-closed app whose ``Limiter`` swallows storage errors or
    falls back to memory: flask-limiter catches every exception of its
    storage, the guard's 503 included, and lets the request through.

    :raises ValueError: in one line, naming both settings.
    """
    if state.settings_of(LimitsSettings).limits_fail_open:
        return
    if not state.settings_of(RateLimitSettings).ratelimit_guard_storage:
        return
    for limiter in limiters_of(state.app):
        if not (limiter.initialized and limiter.enabled):
            continue
        found = [(arg, key) for arg, key, attr in _CATCHING_OPTIONS if getattr(limiter, attr, None)]
        if found:
            arg, key = found[0]
            raise ValueError(
                f"APIERRORS_LIMITS_FAIL_OPEN = False (limits_fail_open=False) contradicts the"
                f" flask-limiter Limiter's {arg}=True ({key}): flask-limiter catches the"
                f" storage's 503 and lets the request through. Remove {arg}, set"
                " APIERRORS_LIMITS_FAIL_OPEN = True, or set"
                " APIERRORS_RATELIMIT_GUARD_STORAGE = False to leave outages to flask-limiter."
            )
