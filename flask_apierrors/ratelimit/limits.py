"""What one flask-limiter limit evaluated for a request says, read from its
public ``RequestLimit``: the policy name the ``RateLimit`` fields and the
``quota_exceeded`` details give it, and when a breached one lets requests
through again. Shared by the 429 (:mod:`.convert`) and the fields
(:mod:`.fields`).

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from .. import quota

if t.TYPE_CHECKING:
    from flask_limiter import RequestLimit

#: How far a window may end after the end limits' Redis storage reports:
#: Redis rounds ``TTL`` to the nearest second.
TTL_ROUNDING: t.Final = 0.5


def policy_name_of(limit: RequestLimit) -> str:
    """The policy name of a flask-limiter limit: its scope (the shared
    scope, else the endpoint), amount and period."""
    item = limit.limit
    args = limit.request_args
    scope = str(args[-1]) if args else "default"
    unit = item.GRANULARITY.name
    period = unit if item.multiples == 1 else f"{item.multiples}-{unit}s"
    return quota.policy_name(f"{scope}-{item.amount}-per-{period}")


def earliest_retry(limit: RequestLimit) -> float:
    """When a breached limit lets requests through again, epoch seconds:
    flask-limiter's reset (whole seconds, after the window's end), and half a
    second past the end the storage reports (Redis rounds ``TTL``)."""
    return max(limit.reset_at, limit.window.reset_time + TTL_ROUNDING)
