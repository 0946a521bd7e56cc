"""Errors of calls to other services ("upstreams"): 502, 503 and 504.

:func:`upstream_call` wraps a call made with requests, httpx (sync or async)
or the standard library and turns its failure into an :class:`UpstreamError`
the extension renders like any :class:`~flask_apierrors.ApiError`:

========================================  ======================================
What happened                             Response
========================================  ======================================
refused, reset, connect timeout, broken   502 ``bad_gateway``: ``upstream_error``,
response                                  ``retry_suggested``
upstream answered 4xx/5xx                 502 ``bad_gateway``: ``upstream_status``,
                                          ``upstream_message``
upstream answered 429 or 503              503 ``service_unavailable``:
                                          ``retry_after`` (and ``Retry-After``)
no answer in time                         504 ``gateway_timeout``:
                                          ``timeout_duration``
========================================  ======================================

Clients see the service name the app chose and short fixed phrases, never
the upstream's URL, host, credentials or body; the full error goes to the
``flask_apierrors.upstream`` log with the correlation id, and the correlation
id goes to the upstream in a header (:func:`forward_headers`).

Failures are classified, and retries computed, by the client layer
(:mod:`flask_apierrors.client`), which the API's consumers use too.
"""

from __future__ import annotations

from ..client.failures import classify
from ..retry import KINDS
from ..retry import Retry
from ..retry import parse_retry_after
from .call import UpstreamCall
from .call import upstream_call
from .exceptions import UpstreamConnectionError
from .exceptions import UpstreamError
from .exceptions import UpstreamStatusError
from .exceptions import UpstreamTimeoutError
from .exceptions import UpstreamUnavailableError
from .exceptions import upstream_phrase as upstream_phrase
from .forwarding import forward_correlation_id
from .forwarding import forward_headers
from .forwarding import httpx_async_event_hooks
from .forwarding import httpx_event_hooks
from .mapping import convert_upstream_exception as convert_upstream_exception
from .mapping import logger as logger

__all__ = [
    "KINDS",
    "Retry",
    "UpstreamCall",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "classify",
    "forward_correlation_id",
    "forward_headers",
    "httpx_async_event_hooks",
    "httpx_event_hooks",
    "parse_retry_after",
    "upstream_call",
]
