"""Concurrency limits as quota policies of the draft ``RateLimit-Policy`` and
``RateLimit`` fields (:mod:`flask_apierrors.quota`), which the rate-limit
plug-in writes when ``APIERRORS_RATELIMIT_DRAFT_HEADERS`` is on.

A limit is one policy per scope, ``<scope>-concurrent`` (the ``scope`` given
to :meth:`~flask_apierrors.ConcurrencyLimiter.limit`, else the view's name;
``app-concurrent`` for the application limit), with
``qu="concurrent-requests"`` and no window: ``q`` requests in flight at
once, ``r`` of them left when the request took its slot. A refused request's
429 (:class:`~flask_apierrors.concurrency.ConcurrentLimitExceeded` with its
``policy``) names it in ``violated-policies`` in the ``problem`` format.

.. versionadded:: 0.2
"""

from __future__ import annotations

from flask import current_app
from flask import request

from .. import quota


def policy_name(label: str) -> str:
    """The policy name of a concurrency limit's scope."""
    return quota.policy_name(f"{label}-concurrent")


def record(label: str, limit: int, count: int, key: str, *, acquired: bool) -> str | None:
    """Record the limit ``label`` for the current request's fields, if it
    gets them: ``count`` requests of ``key`` in flight (this one included
    when ``acquired``). Call it in a request.

    :returns: The policy's name, ``None`` when the request gets no fields.
    """
    extensions = current_app.extensions
    if quota.EXTENSION_KEY not in extensions:
        return None  # no scope of the app wants the fields
    if not quota.wanted(extensions, request.blueprints, request.path):
        return None
    name = policy_name(label)
    quota.record(
        request.environ,
        quota.Quota(
            name=name,
            quota=limit,
            remaining=limit - count if acquired else 0,
            unit=quota.CONCURRENT_REQUESTS,
            partition=quota.partition_key(key),
        ),
    )
    return name
