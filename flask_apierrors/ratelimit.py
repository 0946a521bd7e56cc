"""The flask-limiter feature's front: its settings and its plug-in.

The integration itself (:mod:`flask_apierrors.integrations.limiter`) is
imported only when flask-limiter is installed; the settings are declared
either way, so a configuration stays valid without it.
"""

from __future__ import annotations

import dataclasses

from .plugins import Plugin
from .state import AppState


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
    #: Also send the IETF draft ``RateLimit-Policy`` and ``RateLimit`` headers.
    ratelimit_draft_headers: bool = False
    #: Apply the limits outage policy to flask-limiter's storage.
    ratelimit_guard_storage: bool = True


def _setup(state: AppState) -> None:
    from .integrations import limiter

    limiter.init_app(state)


def plugin() -> Plugin:
    """The entry point: the settings, and the integration if flask-limiter
    is installed."""
    try:
        import flask_limiter  # noqa: F401
    except ImportError:  # pragma: no cover - flask-limiter is an extra
        return Plugin("ratelimit", settings=(RateLimitSettings,))
    return Plugin("ratelimit", settings=(RateLimitSettings,), setup=_setup, order=10)
