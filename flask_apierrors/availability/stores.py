"""Where the run-time maintenance state lives, shared by the workers:
the :class:`MaintenanceStore` protocol and the file store (the Redis store is
in :mod:`flask_apierrors.availability.redis_store`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import typing as t

from .state import MaintenanceState
from .state import logger

__all__ = ["FileStore", "MaintenanceStore", "logger"]


class MaintenanceStore(t.Protocol):
    """Where the run-time maintenance state lives, shared by the workers."""

    def read(self) -> MaintenanceState | None:
        """The state, or ``None`` if none was set."""
        ...

    def write(self, state: MaintenanceState | None) -> None:
        """Set the state; ``None`` clears it."""
        ...


class FileStore:
    """The state as a JSON file, shared by the workers of one host.

    Reads parse the file only when its modification time, size or inode
    changed; writes replace it atomically. A file that cannot be read (its
    folder not searchable, an I/O error) keeps the last state read in
    force, with one warning per outage; a file that reads but holds no state
    is ignored, with one warning.

    :param path: The file; its directory is created on the first write.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._state: MaintenanceState | None = None
        self._failing = False

    def __repr__(self) -> str:
        return f"<FileStore {self.path!r}>"

    def read(self) -> MaintenanceState | None:
        try:
            st = os.stat(self.path)
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            with self._lock:
                if key == self._key:
                    self._failing = False
                    return self._state
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return self._keep(None, None)
        except OSError as exc:
            return self._failed(exc)
        try:
            state = MaintenanceState.from_json(json.loads(data))
        except (ValueError, TypeError, AttributeError):
            logger.warning("Ignoring an unreadable maintenance state file %r", self.path)
            state = None
        return self._keep(key, state)

    def _keep(
        self, key: tuple[int, int, int] | None, state: MaintenanceState | None
    ) -> MaintenanceState | None:
        with self._lock:
            self._key, self._state, self._failing = key, state, False
        return state

    def _failed(self, exc: OSError) -> MaintenanceState | None:
        with self._lock:
            first, self._failing = not self._failing, True
            state = self._state
        if first:
            logger.warning(
                "Maintenance state file %r cannot be read (%s), keeping the last state read",
                self.path,
                exc.strerror or type(exc).__name__,
            )
        return state

    def write(self, state: MaintenanceState | None) -> None:
        if state is None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            return
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".maintenance-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state.to_json(), f)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
