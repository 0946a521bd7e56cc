"""The correlation id sent along with calls to upstream services, so that
their logs can be joined with the app's: a header for one call, httpx event
hooks, or a requests ``Session`` that adds it to every request.
"""

from __future__ import annotations

import typing as t

from flask import has_request_context

from ..correlation import get_correlation_id
from ..state import find_state

if t.TYPE_CHECKING:
    import requests


def forward_headers(headers: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` plus the current correlation id (``X-Request-ID`` by
    default, the ``response_id_header`` setting), for a call to an upstream::

        requests.get(url, headers=forward_headers({"Accept": "application/json"}))

    Outside a request the id is left out.
    """
    rv = dict(headers or {})
    cid = get_correlation_id() if has_request_context() else None
    if cid is not None:
        state = find_state()
        name = state.settings.response_id_header if state is not None else "X-Request-ID"
        rv.setdefault(name, cid)
    return rv


def _add_id(headers: t.MutableMapping[str, str]) -> None:
    for name, value in forward_headers().items():
        headers.setdefault(name, value)


def _httpx_hook(request: t.Any) -> None:
    _add_id(request.headers)


async def _httpx_async_hook(request: t.Any) -> None:
    _add_id(request.headers)


def httpx_event_hooks() -> dict[str, list[t.Callable[..., t.Any]]]:
    """Event hooks for an ``httpx.Client`` that forward the correlation id:
    ``httpx.Client(event_hooks=httpx_event_hooks())``."""
    return {"request": [_httpx_hook]}


def httpx_async_event_hooks() -> dict[str, list[t.Callable[..., t.Any]]]:
    """The same for an ``httpx.AsyncClient``."""
    return {"request": [_httpx_async_hook]}


def forward_correlation_id(session: requests.Session) -> requests.Session:
    """Make a requests ``Session`` send the correlation id with every request
    (its ``http://`` and ``https://`` adapters are replaced by ones that add
    the header, keeping their pool sizes and retries); returns ``session``."""
    from requests.adapters import HTTPAdapter

    class CorrelationIdAdapter(HTTPAdapter):
        def add_headers(self, request: t.Any, **kwargs: t.Any) -> None:
            super().add_headers(request, **kwargs)
            _add_id(request.headers)

    for prefix in ("http://", "https://"):
        old = session.get_adapter(prefix)
        options: dict[str, t.Any] = {}
        if isinstance(old, HTTPAdapter):
            options = {
                "pool_connections": getattr(old, "_pool_connections", 10),
                "pool_maxsize": getattr(old, "_pool_maxsize", 10),
                "max_retries": old.max_retries,
                "pool_block": getattr(old, "_pool_block", False),
            }
        old.close()
        session.mount(prefix, CorrelationIdAdapter(**options))
    return session
