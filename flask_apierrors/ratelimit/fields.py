"""The ``RateLimit-Policy`` and ``RateLimit`` fields of
draft-ietf-httpapi-ratelimit-headers-11 on every response of a limited
route (``APIERRORS_RATELIMIT_DRAFT_HEADERS = True``).

Every limit that applied to the request is one policy (:mod:`flask_apierrors.quota`):

* each flask-limiter limit flask-limiter evaluated for the request
  (``Limiter.current_limits``: route, blueprint, default, application and
  meta limits alike), named ``<scope>-<amount>-per-<period>``
  (``chat-100-per-minute``, ``search-10-per-30-seconds``; the scope is the
  shared scope, else the endpoint, as flask-limiter counts them), with
  ``q``, ``w`` and ``pk``, and ``r`` and ``t`` read from its window;
* each :class:`~flask_apierrors.ConcurrencyLimiter` limit the request took a
  slot of (or was refused by), with ``qu="concurrent-requests"``.

Header fixers (:meth:`~flask_apierrors.state.AppState.add_header_fixer`)
see only responses that are not 2xx; the fields are written instead by an
``after_request`` hook this plug-in registers, from flask-limiter's public
data (``Limiter.current_limits`` and each ``RequestLimit``'s ``limit``,
``request_args``, ``breached`` and ``window``): the core is not changed.
Flask runs ``after_request`` hooks for error responses too, so 429s get the
same fields. The fields are set (never added), so another hook running
before or after this one cannot make a second copy.

Reading ``r`` and ``t`` costs one storage read per limit and response
(flask-limiter reads its reported limit's window for ``X-RateLimit-*`` the
same way); a storage that fails then leaves the flask-limiter policies out.

.. versionadded:: 0.2
"""

from __future__ import annotations

import logging
import math
import time
import typing as t

from flask import request

from .. import quota
from . import RateLimitSettings
from .convert import INFO_KEY
from .convert import limiters_of
from .limits import earliest_retry
from .limits import policy_name_of

if t.TYPE_CHECKING:
    from flask import Response
    from flask_limiter import RequestLimit

    from ..state import AppState
    from .convert import RateLimitInfo

logger = logging.getLogger("flask_apierrors")

#: flask-limiter's ``app.extensions`` key.
LIMITER_EXTENSION: t.Final = "limiter"


def limit_quota(limit: RequestLimit, now: float, info: RateLimitInfo | None = None) -> quota.Quota:
    """The :class:`~flask_apierrors.quota.Quota` of one limit flask-limiter
    evaluated for the request: a breached limit resets when the 429's
    ``Retry-After`` says (``info``, the numbers the 429 was rendered with)."""
    item = limit.limit
    args = limit.request_args
    reset_time, remaining = limit.window
    if limit.breached:
        reset = info.retry_after if info else max(1, math.ceil(earliest_retry(limit) - now))
    else:
        reset = max(0, math.ceil(reset_time - now))
    return quota.Quota(
        name=policy_name_of(limit),
        quota=item.amount,
        remaining=0 if limit.breached else max(0, int(remaining)),
        reset=reset,
        window=item.get_expiry(),
        partition=quota.partition_key(str(args[-2])) if len(args) >= 2 else None,
    )


def limiter_quotas(state: AppState, environ: t.Mapping[str, t.Any]) -> list[quota.Quota]:
    """The quotas of the flask-limiter limits evaluated for the current
    request, by every ``Limiter`` on the app (none without flask-limiter)."""
    if not state.app.extensions.get(LIMITER_EXTENSION):
        return []
    info: RateLimitInfo | None = environ.get(INFO_KEY)
    found: list[quota.Quota] = []
    for limiter in limiters_of(state.app):
        limits = limiter.current_limits
        if not limits:
            continue
        try:
            # Every window first (a storage read each; RequestLimit keeps
            # it), then the clock.
            for limit in limits:
                _ = limit.window
            now = time.time()
            found += [limit_quota(limit, now, info) for limit in limits]
        except Exception as exc:  # the storage's errors, whichever it is
            logger.warning(
                "RateLimit fields without flask-limiter's policies: its storage failed (%s).",
                type(exc).__name__,
            )
    return found


class DraftFields:
    """The fields on one app: the predicate limiters ask, and the hook."""

    __slots__ = ("state",)

    def __init__(self, state: AppState) -> None:
        self.state = state

    def wanted(self, blueprints: t.Sequence[str], path: str) -> bool:
        """The ``ratelimit_draft_headers`` setting of the request's scope."""
        scope = self.state.scope_for(blueprints, path)
        return bool(scope.settings_of(RateLimitSettings).ratelimit_draft_headers)

    def after_request(self, response: Response) -> Response:
        """Set both fields from every quota that applied to the request;
        leave a response no limit applied to alone."""
        if not self.wanted(request.blueprints, request.path):
            return response
        environ = request.environ
        quotas = [*limiter_quotas(self.state, environ), *quota.recorded(environ)]
        if quotas:
            response.headers[quota.POLICY_FIELD] = quota.policy_field(quotas)
            response.headers[quota.LIMIT_FIELD] = quota.limit_field(quotas)
        return response


def init_app(state: AppState) -> None:
    """The predicate limiters ask, and, at the first request, the hook if
    any scope of the app wants the fields (the plug-in's setup): an app
    without them pays nothing per request."""
    fields = DraftFields(state)

    def register(state: AppState) -> None:
        if any(s.settings_of(RateLimitSettings).ratelimit_draft_headers for s in state.scopes()):
            quota.enable(state.app.extensions, fields.wanted)
            state.app.after_request(fields.after_request)

    state.on_first_request(register)
