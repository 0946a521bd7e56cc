"""Which routes flask-limiter limits, for the OpenAPI document.

flask-limiter decides per request; this module asks its ``Limiter`` the same
questions without one, from what the limits were declared with: a route is
limited when a limit decorates its view or blueprint, a default limit applies
to it (not exempt, not overridden), or an application limit does (not
exempt). It reads ``Limiter.limit_manager``, the object flask-limiter 4
resolves limits with; a limit whose text only a request can give (a callable
reading ``g``) counts as a limit.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from flask_limiter import ExemptionScope

from .convert import limiters_of

if t.TYPE_CHECKING:
    from flask import Flask
    from flask_limiter import Limiter


def _limited_by(limiter: Limiter, app: Flask, endpoint: str) -> bool:
    manager = limiter.limit_manager
    blueprint = endpoint.rpartition(".")[0] or None
    try:
        exemption = manager.exemption_scope(app, endpoint, blueprint)
        if manager.application_limits and not exemption & ExemptionScope.APPLICATION:
            return True
        defaults, decorated = manager.resolve_limits(app, endpoint, blueprint)
    except Exception:  # a limit that needs a request to be read: still a limit
        return True
    return bool(defaults or decorated)


def route_limited(app: Flask, endpoint: str) -> bool:
    """Whether a flask-limiter ``Limiter`` on ``app`` (enabled) may answer a
    request to ``endpoint`` with a 429."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return False
    return any(
        _limited_by(limiter, app, endpoint)
        for limiter in limiters_of(app)
        if limiter.initialized and limiter.enabled
    )
