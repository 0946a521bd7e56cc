"""The concurrency limiter's settings, and what one limiter resolved for one app."""

from __future__ import annotations

import dataclasses
import typing as t

from .. import config
from ..limits_storage import ConcurrencyStorage
from ..limits_storage import LimitsSettings
from ..limits_storage import StorageGuard
from ..limits_storage import concurrency_storage_from_uri
from ..limits_storage import guard_for
from ..state import find_state

if t.TYPE_CHECKING:
    from flask import Flask

S = t.TypeVar("S")
T = t.TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrencySettings:
    """The ``APIERRORS_CONCURRENCY_*`` keys (:class:`~flask_apierrors.ConcurrencyLimiter`)."""

    #: Where ``ConcurrencyLimiter`` keeps its slots: ``memory://`` or a
    #: Redis URI shared by every worker and host (``redis://``,
    #: ``redis+sentinel://host:port/service``, ``redis+cluster://host:port,...``).
    concurrency_storage_uri: str = config.app_wide("memory://")
    #: Connect and read timeout of the concurrency Redis (every node and
    #: sentinel), seconds.
    concurrency_socket_timeout: float = config.app_wide(0.5)
    #: Seconds after which a slot frees itself (the slots of a crashed worker).
    concurrency_slot_ttl: float = config.app_wide(300.0)
    #: ``Retry-After`` of a concurrency 429, seconds.
    concurrency_retry_after: int = config.app_wide(1)
    #: Prefix of the concurrency keys in the storage.
    concurrency_key_prefix: str = config.app_wide("apierrors:concurrency")
    #: App-wide concurrency limit per key (an int or a callable);
    #: ``None``: only decorated views are limited.
    concurrency_application_limit: int | t.Callable[[], int] | None = config.app_wide(None)

    def __post_init__(self) -> None:
        for name in ("concurrency_socket_timeout", "concurrency_slot_ttl"):
            if getattr(self, name) <= 0:
                config.invalid(name, getattr(self, name), "use a positive number of seconds")
        limit = self.concurrency_application_limit
        if isinstance(limit, int) and limit < 1:
            config.invalid("concurrency_application_limit", limit, "use 1 or more")


#: The keyword options of ``ConcurrencyLimiter``: its own settings and the
#: outage policy's.
OPTIONS: t.Final = (*config.field_names(ConcurrencySettings), *config.field_names(LimitsSettings))


def settings_of(app: Flask, cls: type[S], given: t.Mapping[str, t.Any]) -> S:
    """``cls``'s settings for a limiter on ``app``: the options the limiter
    was given, then the app's ``ApiErrors`` settings, or ``app.config`` where
    ``ApiErrors`` is not (yet) set up."""
    mine = {name: given[name] for name in config.field_names(cls) if name in given}
    state = find_state(app)
    if state is None:
        return config.load(app, cls, mine)
    return config.merged(state.settings_of(cls), mine)


class AppLimits:
    """What one limiter uses on one app: the settings in force, the storage
    and that storage's guard.

    :raises ValueError: An unsupported storage URI.
    """

    __slots__ = (
        "application_limit",
        "fail_open",
        "guard",
        "prefix",
        "retry_after",
        "settings",
        "storage",
        "ttl",
    )

    def __init__(
        self,
        settings: ConcurrencySettings,
        limits: LimitsSettings,
        storage: ConcurrencyStorage | None = None,
    ) -> None:
        #: The settings it was made from (with the outage policy's).
        self.settings = (settings, limits)
        self.storage: ConcurrencyStorage = storage or concurrency_storage_from_uri(
            settings.concurrency_storage_uri,
            socket_timeout=float(settings.concurrency_socket_timeout),
        )
        self.guard: StorageGuard = guard_for(
            self.storage.location, retry_interval=float(limits.limits_retry_interval)
        )
        self.fail_open = bool(limits.limits_fail_open)
        self.ttl = float(settings.concurrency_slot_ttl)
        self.retry_after = int(settings.concurrency_retry_after)
        self.prefix = str(settings.concurrency_key_prefix)
        self.application_limit: int | t.Callable[[], int] | None = (
            settings.concurrency_application_limit
        )

    def run(
        self,
        op: t.Callable[..., T],
        args: tuple[t.Any, ...],
        fallback: t.Callable[[], T],
        *,
        refuse: bool = False,
        keep: bool = False,
    ) -> T:
        """``op(*args)`` through the storage's guard, with the app's outage
        policy (:meth:`~flask_apierrors.limits_storage.StorageGuard.run`).
        With ``keep``, a failed or skipped ``op`` is run again when the
        storage answers, until a slot would have expired."""
        return self.guard.run(
            op,
            args,
            fallback,
            fail_open=self.fail_open,
            errors=self.storage.errors,
            refuse=refuse,
            keep=self.ttl if keep else 0.0,
        )
