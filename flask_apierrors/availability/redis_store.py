"""The maintenance state in Redis, for apps on several hosts. redis-py is
imported only when a store is made from a URL or read.
"""

from __future__ import annotations

import json
import typing as t

from .state import MaintenanceState
from .stores import logger

__all__ = ["RedisStore"]


class RedisStore:
    """The state as a Redis key, shared by every worker of every host.

    If Redis cannot be reached, the last state read stays in force and one
    warning is logged per outage.

    :param client_or_url: A ``redis.Redis`` client or a ``redis://`` URL.
    :param key: The key holding the JSON state.
    :param socket_timeout: Seconds per Redis command (URL only).
    """

    def __init__(
        self,
        client_or_url: t.Any,
        *,
        key: str = "apierrors:maintenance",
        socket_timeout: float = 0.5,
    ) -> None:
        if isinstance(client_or_url, str):
            import redis

            client_or_url = redis.Redis.from_url(
                client_or_url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        self.client = client_or_url
        self.key = key
        self._state: MaintenanceState | None = None
        self._failing = False

    def __repr__(self) -> str:
        return f"<RedisStore {self.key!r}>"

    def read(self) -> MaintenanceState | None:
        import redis

        try:
            raw = self.client.get(self.key)
        except redis.RedisError as e:
            if not self._failing:
                logger.warning("Maintenance state unreadable in Redis, keeping the last one: %r", e)
                self._failing = True
            return self._state
        self._failing = False
        try:
            self._state = MaintenanceState.from_json(json.loads(raw)) if raw else None
        except (ValueError, TypeError, AttributeError):
            logger.warning("Ignoring an unreadable maintenance state in Redis key %r", self.key)
            self._state = None
        return self._state

    def write(self, state: MaintenanceState | None) -> None:
        if state is None:
            self.client.delete(self.key)
        else:
            self.client.set(self.key, json.dumps(state.to_json()))
