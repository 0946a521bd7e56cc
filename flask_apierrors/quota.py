"""Quota policies as draft-ietf-httpapi-ratelimit-headers-11 describes them:
the ``RateLimit-Policy`` and ``RateLimit`` fields, and the ``quota-exceeded``
problem type.

Each limiter that applied to a request (a flask-limiter limit, a
:class:`~flask_apierrors.ConcurrencyLimiter` limit) is one :class:`Quota`:
a named policy with its quota (``q``), window (``w``), quota unit (``qu``)
and partition key (``pk``), and what is left of it (``r``) and when it
resets (``t``)::

    RateLimit-Policy: "chat-100-per-minute";q=100;w=60;pk=:a1b2c3d4e5f6:
    RateLimit: "chat-100-per-minute";r=57;t=42;pk=:a1b2c3d4e5f6:

Limiters record their quotas in the request's WSGI environ
(:func:`record`); the rate-limit plug-in writes both fields from them. A
partition key is a short hash of the limiter's key (an API key, a client
address), never the key itself. Pure functions, no Flask.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import typing as t

from .structured_fields import serialize_list

__all__ = [
    "CONCURRENT_REQUESTS",
    "ENVIRON_KEY",
    "EXTENSION_KEY",
    "LIMIT_FIELD",
    "POLICY_FIELD",
    "QUOTA_EXCEEDED",
    "Quota",
    "enable",
    "limit_field",
    "partition_key",
    "policy_field",
    "policy_name",
    "quota_exceeded",
    "record",
    "recorded",
    "wanted",
]

#: The response fields.
POLICY_FIELD: t.Final = "RateLimit-Policy"
LIMIT_FIELD: t.Final = "RateLimit"
#: The problem type of a request that exceeded one or more quota policies.
QUOTA_EXCEEDED: t.Final = "https://iana.org/assignments/http-problem-types#quota-exceeded"
#: The quota unit of a concurrency limit (``qu``).
CONCURRENT_REQUESTS: t.Final = "concurrent-requests"
#: WSGI environ key of the quotas recorded for the request (a list).
ENVIRON_KEY: t.Final = "flask_apierrors.quota.policies"
#: ``app.extensions`` key of the predicate saying whether a request gets the
#: fields (set by the rate-limit plug-in: see :func:`wanted`).
EXTENSION_KEY: t.Final = "apierrors_quota_fields"

#: Bytes of a partition key: a short hash of the limiter's key.
PARTITION_KEY_BYTES: t.Final = 8

_UNSAFE: t.Final = re.compile(r"[^\x20-\x7e]")


@dataclasses.dataclass(frozen=True, slots=True)
class Quota:
    """One quota policy that applied to a request, and its state."""

    #: The policy's name (``chat-100-per-minute``).
    name: str
    #: Quota units allowed (``q``): requests per window, or in flight.
    quota: int
    #: Quota units left (``r``).
    remaining: int
    #: Seconds until the quota resets (``t``); ``None``: not a window.
    reset: int | None = None
    #: Window length in seconds (``w``); ``None``: not a window.
    window: int | None = None
    #: Quota unit (``qu``); ``None`` is ``requests``, the draft's default.
    unit: str | None = None
    #: Partition key (``pk``): :func:`partition_key` of the limiter's key.
    partition: bytes | None = None

    def policy_params(self) -> dict[str, t.Any]:
        """The parameters of its ``RateLimit-Policy`` item, in the draft's order."""
        return {"q": self.quota, "qu": self.unit, "w": self.window, "pk": self.partition}

    def limit_params(self) -> dict[str, t.Any]:
        """The parameters of its ``RateLimit`` item."""
        return {"r": max(0, self.remaining), "t": self.reset, "pk": self.partition}


def policy_name(text: str) -> str:
    """``text`` as a policy name: printable ASCII only (a String can hold
    no other character), at most 100 characters."""
    return _UNSAFE.sub("_", text)[:100] or "default"


def partition_key(key: str) -> bytes:
    """A short hash of a limiter's key: tells a client's partitions apart
    without sending its key (often a credential)."""
    data = key.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=PARTITION_KEY_BYTES, person=b"apierrors.pk").digest()


def _distinct(quotas: t.Iterable[Quota]) -> list[Quota]:
    seen: dict[str, Quota] = {}
    for quota in quotas:
        seen.setdefault(quota.name, quota)
    return list(seen.values())


def policy_field(quotas: t.Iterable[Quota]) -> str:
    """The ``RateLimit-Policy`` value: one item per policy (a name once)."""
    return serialize_list((q.name, q.policy_params()) for q in _distinct(quotas))


def limit_field(quotas: t.Iterable[Quota]) -> str:
    """The ``RateLimit`` value: what is left of each policy."""
    return serialize_list((q.name, q.limit_params()) for q in _distinct(quotas))


def quota_exceeded(names: t.Iterable[str]) -> dict[str, t.Any]:
    """The :class:`~flask_apierrors.Problem` fields of a request that
    exceeded the policies ``names``: the ``quota-exceeded`` problem type and
    its ``violated-policies`` member (``{}`` for no names)."""
    distinct = list(dict.fromkeys(names))
    if not distinct:
        return {}
    return {"problem_type": QUOTA_EXCEEDED, "problem_members": {"violated-policies": distinct}}


def record(environ: t.MutableMapping[str, t.Any], quota: Quota) -> None:
    """Keep ``quota`` for the request's fields (a later one of the same name
    replaces it)."""
    found: list[Quota] = environ.setdefault(ENVIRON_KEY, [])
    found[:] = [q for q in found if q.name != quota.name]
    found.append(quota)


def recorded(environ: t.Mapping[str, t.Any]) -> tuple[Quota, ...]:
    """The quotas recorded for the request."""
    return tuple(environ.get(ENVIRON_KEY, ()))


def enable(
    extensions: t.MutableMapping[str, t.Any], predicate: t.Callable[[t.Any, str], bool]
) -> None:
    """Have an app's requests get the fields where ``predicate(blueprints,
    path)`` says so (``extensions`` is the app's ``app.extensions``)."""
    extensions[EXTENSION_KEY] = predicate


def wanted(extensions: t.Mapping[str, t.Any], blueprints: t.Sequence[str], path: str) -> bool:
    """Whether a request to ``path`` handled by ``blueprints`` gets the
    fields: limiters record their quotas, and describe their 429 with
    :func:`quota_exceeded`, only then."""
    predicate = extensions.get(EXTENSION_KEY)
    return bool(predicate is not None and predicate(blueprints, path))
