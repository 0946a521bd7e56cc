"""Concurrent-request limits: at most N requests of one client in flight.

::

    concurrency = ConcurrencyLimiter(app, key_func=lambda: request.headers["X-API-Key"])


    @app.post("/reports")
    @concurrency.limit(5)
    def reports(): ...

A request over the limit gets a 429 ``concurrent_limit_exceeded`` with
``concurrent_limit``, ``current_concurrent`` (the requests in flight,
counting the refused one) and ``retry_after``. flask-limiter counts requests
per window and has no such limit, hence this one.

A slot is taken before the view runs and given back when the WSGI server
closes the response: after the last byte of a streamed response, when the
client disconnects mid-stream, and after error responses too. A small WSGI
middleware (installed by :meth:`ConcurrencyLimiter.init_app`) does this, so
it works whatever the response is (a generator, an SSE stream, a file). A
slot also expires ``slot_ttl`` seconds after it was taken, so a worker that
crashes cannot hold slots forever; a streamed response renews its slots as it
sends chunks.

Modules: :mod:`.limiter` (the limiter and its 429), :mod:`.release` (giving
slots back), :mod:`.settings` (the ``APIERRORS_CONCURRENCY_*`` keys),
:mod:`.fields` (the limits in the draft ``RateLimit`` fields); the
storages and the outage policy are in :mod:`flask_apierrors.limits_storage`.

.. versionchanged:: 0.2
    A package; every name is still importable from here.
"""

from __future__ import annotations

import typing as t

from ..limits_storage import check_storage_uri
from ..plugins import Plugin
from ..state import AppState
from .limiter import EXTENSION_KEY
from .limiter import ConcurrencyLimiter
from .limiter import ConcurrentLimitExceeded
from .limiter import _qualified_name
from .limiter import check_memory_storage
from .limiter import configure_app
from .limiter import remote_address
from .release import ENVIRON_KEY
from .release import SlotReleaser
from .settings import ConcurrencySettings

__all__ = [
    "ENVIRON_KEY",
    "EXTENSION_KEY",
    "ConcurrencyLimiter",
    "ConcurrencySettings",
    "ConcurrentLimitExceeded",
    "SlotReleaser",
    "application_limited",
    "plugin",
    "remote_address",
]


def _setup(state: AppState) -> None:
    # A wrong URI fails here, in one line, not in a 500 per request.
    check_storage_uri(state.settings_of(ConcurrencySettings).concurrency_storage_uri)
    # Limiters set up before ApiErrors read its options now.
    configure_app(state.app)
    check_memory_storage(state.app)


def application_limited(app: t.Any, view: t.Callable[..., t.Any]) -> bool:
    """Whether a :class:`ConcurrencyLimiter` on ``app`` has an application
    limit that applies to ``view`` (not :meth:`~ConcurrencyLimiter.exempt`);
    for the OpenAPI document."""
    limiters = app.extensions.get(EXTENSION_KEY, {})
    name = _qualified_name(view)
    return any(
        limits.application_limit is not None and name not in limiter._exempt
        for limiter, limits in limiters.items()
    )


def plugin() -> Plugin:
    """The entry point: the concurrency settings, checked on every app."""
    return Plugin("concurrency", settings=(ConcurrencySettings,), setup=_setup)
