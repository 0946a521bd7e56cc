"""Availability errors: maintenance mode, overload (503) and insufficient
storage (507).

:class:`Maintenance` answers every request, except the health endpoints,
with the ``service_unavailable`` maintenance body and a ``Retry-After``
header. It is switched on by configuration, or at run time without a restart
through a state that every gunicorn worker reads (a file in the instance
folder by default, or a Redis key)::

    {"error": "service_unavailable",
     "message": "Service temporarily unavailable for maintenance",
     "details": {"maintenance_window": "2023-12-01T10:00:00Z to 2023-12-01T11:00:00Z",
                 "estimated_completion": "2023-12-01T11:00:00Z"}, ...}

:class:`OverloadedError` and :class:`InsufficientStorageError` are raised by
the app when it decides so.
"""

from __future__ import annotations

from .exceptions import InsufficientStorageError
from .exceptions import MaintenanceError
from .exceptions import OverloadedError
from .exceptions import UnavailableError
from .exceptions import ensure_free_space
from .maintenance import Maintenance
from .maintenance import maintenance_command as maintenance_command
from .redis_store import RedisStore
from .state import MaintenanceState
from .state import format_time as format_time
from .state import parse_time as parse_time
from .stores import FileStore
from .stores import MaintenanceStore
from .stores import logger as logger

__all__ = [
    "FileStore",
    "InsufficientStorageError",
    "Maintenance",
    "MaintenanceError",
    "MaintenanceState",
    "MaintenanceStore",
    "OverloadedError",
    "RedisStore",
    "UnavailableError",
    "ensure_free_space",
]
