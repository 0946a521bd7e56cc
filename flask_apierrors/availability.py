"""Availability errors: maintenance mode, overload (503) and insufficient
storage (507).

:class:`Maintenance` answers every request, except the health endpoints,
with the second documented API's maintenance body and a ``Retry-After``
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

import contextlib
import dataclasses
import fnmatch
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import click
from flask import Flask
from flask import current_app
from flask import request
from flask.cli import with_appcontext

from .errors import ApiError

if t.TYPE_CHECKING:
    from .config import Settings

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

logger = logging.getLogger("flask_apierrors.availability")

_EXTENSION_KEY: t.Final = "apierrors_maintenance"


# -- times -----------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: str | datetime) -> datetime:
    """An aware UTC datetime from ISO 8601 text (``Z`` allowed) or a
    datetime; naive values are taken as UTC."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """``2023-12-01T10:00:00Z``."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- errors ----------------------------------------------------------------


class UnavailableError(ApiError):
    """503 ``service_unavailable``, with a ``Retry-After`` header when
    ``retry_after`` is given.

    :param message: The sentence for the client.
    :param retry_after: Seconds until the client may retry.
    :param details: Extra context (for instance the documented "AI models
        unavailable" body's ``affected_models`` and ``available_models``).
    :param error_code: Another code (its catalog entry gives the status).
    :param headers: Extra response headers.

    .. versionadded:: 0.1
    """

    error_code = "service_unavailable"
    status = 503
    message = "Service temporarily unavailable"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        details: t.Mapping[str, t.Any] | None = None,
        error_code: str | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> None:
        cls = type(self)
        self.retry_after = None if retry_after is None else max(1, math.ceil(retry_after))
        all_headers = dict(headers or {})
        if self.retry_after is not None:
            all_headers.setdefault("Retry-After", str(self.retry_after))
        super().__init__(
            error_code or cls.error_code,
            message or cls.message or "",
            status=cls.status,
            details=details,
            headers=all_headers,
        )


class MaintenanceError(UnavailableError):
    """503 for maintenance: ``maintenance_window`` and
    ``estimated_completion`` (``null`` while the end is unknown).

    :param state: The maintenance in progress.
    :param retry_after: ``Retry-After``; by default the seconds until the
        window ends (at least 1).
    """

    error_code = "service_unavailable"
    message = "Service temporarily unavailable for maintenance"

    def __init__(
        self,
        state: MaintenanceState | None = None,
        *,
        retry_after: int | None = None,
        message: str | None = None,
    ) -> None:
        state = state or MaintenanceState(enabled=True)
        self.state = state
        if retry_after is None and state.end is not None:
            retry_after = max(1, math.ceil((state.end - _utcnow()).total_seconds()))
        super().__init__(
            message or state.message,
            retry_after=retry_after,
            details=state.details(),
        )


class OverloadedError(UnavailableError):
    """503 when the app decides it is overloaded::

        {"retry_after": 30, "load_level": "high", "suggestion": "Please retry in 30 seconds"}

    :param retry_after: Seconds until a retry may work (also ``Retry-After``).
    :param load_level: ``"high"``, ``"critical"`` ... as the app measures it.
    :param suggestion: Advice for the client; by default "Please retry in
        N seconds".
    """

    message = "System temporarily overloaded"
    error_code = "service_unavailable"

    def __init__(
        self,
        retry_after: float = 30,
        *,
        load_level: str = "high",
        suggestion: str | None = None,
        message: str | None = None,
        details: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        seconds = max(1, math.ceil(retry_after))
        body = {
            "retry_after": seconds,
            "load_level": load_level,
            "suggestion": suggestion or f"Please retry in {seconds} seconds",
            **(details or {}),
        }
        super().__init__(message, retry_after=seconds, details=body)


class InsufficientStorageError(ApiError):
    """507 ``insufficient_storage``, ``{"required": bytes, "available": bytes}``.

    The first documented API calls it ``STORAGE_ERROR``: pass
    ``error_code="STORAGE_ERROR"`` (and render it in the ``error_code``
    format) to answer exactly that.

    .. versionadded:: 0.1
    """

    error_code = "insufficient_storage"
    status = 507
    message = "Insufficient storage space"

    def __init__(
        self,
        *,
        required: int,
        available: int,
        message: str | None = None,
        error_code: str | None = None,
        details: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        cls = type(self)
        self.required = required
        self.available = available
        super().__init__(
            error_code or cls.error_code,
            message or cls.message or "",
            status=cls.status,
            details={"required": required, "available": available, **(details or {})},
        )


def ensure_free_space(
    path: str | os.PathLike[str],
    required: int,
    *,
    reserve: int = 0,
    error_code: str | None = None,
) -> int:
    """Raise :class:`InsufficientStorageError` unless the file system of
    ``path`` has ``required`` bytes free beyond ``reserve``; returns the
    bytes available (free minus reserve).

    :param reserve: Bytes always kept free (logs, the database ...).
    """
    available = max(0, shutil.disk_usage(path).free - reserve)
    if available < required:
        raise InsufficientStorageError(
            required=required, available=available, error_code=error_code
        )
    return available


# -- maintenance state ------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class MaintenanceState:
    """Maintenance switched on (or off), with an optional window.

    :param enabled: Switched on.
    :param start: When it starts (``None``: now); before it, requests pass.
    :param end: When it is expected to end; after it, requests pass again.
    :param message: The client message, instead of the default.
    """

    enabled: bool
    start: datetime | None = None
    end: datetime | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("A maintenance window must end after it starts.")

    def active(self, now: datetime | None = None) -> bool:
        """Whether requests get the maintenance 503 at ``now``."""
        if not self.enabled:
            return False
        now = now or _utcnow()
        if self.start is not None and now < self.start:
            return False
        return self.end is None or now < self.end

    def details(self) -> dict[str, t.Any]:
        """``maintenance_window`` and ``estimated_completion``."""
        end = format_time(self.end) if self.end is not None else None
        window = None
        if self.start is not None and end is not None:
            window = f"{format_time(self.start)} to {end}"
        return {"maintenance_window": window, "estimated_completion": end}

    def to_json(self) -> dict[str, t.Any]:
        """A JSON-ready dict (what stores keep)."""
        return {
            "enabled": self.enabled,
            "start": format_time(self.start) if self.start else None,
            "end": format_time(self.end) if self.end else None,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: t.Mapping[str, t.Any]) -> MaintenanceState:
        """The inverse of :meth:`to_json`."""
        start, end = data.get("start"), data.get("end")
        return cls(
            enabled=bool(data.get("enabled", True)),
            start=parse_time(start) if start else None,
            end=parse_time(end) if end else None,
            message=data.get("message") or None,
        )

    @classmethod
    def from_config(cls, value: t.Any) -> MaintenanceState | None:
        """The state ``APIERRORS_MAINTENANCE`` describes: ``True``, an ISO
        8601 interval ``"START/END"``, or a mapping; ``None`` when off."""
        if value is None or value is False:
            return None
        if value is True:
            return cls(enabled=True)
        if isinstance(value, str):
            start, sep, end = value.partition("/")
            if not sep:
                raise ValueError(
                    f"APIERRORS_MAINTENANCE={value!r}: use True, 'START/END' (ISO 8601)"
                    " or a mapping with start, end and message."
                )
            return cls(enabled=True, start=parse_time(start), end=parse_time(end))
        if isinstance(value, t.Mapping):
            return cls.from_json({"enabled": True, **value})
        raise TypeError(
            f"APIERRORS_MAINTENANCE must be a bool, 'START/END' or a mapping,"
            f" not {type(value).__name__}."
        )


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
    changed; writes replace it atomically.

    :param path: The file; its directory is created on the first write.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._state: MaintenanceState | None = None

    def __repr__(self) -> str:
        return f"<FileStore {self.path!r}>"

    def read(self) -> MaintenanceState | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            with self._lock:
                self._key, self._state = None, None
            return None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if key == self._key:
                return self._state
        try:
            with open(self.path, encoding="utf-8") as f:
                state = MaintenanceState.from_json(json.load(f))
        except (OSError, ValueError, TypeError, AttributeError):
            logger.warning("Ignoring an unreadable maintenance state file %r", self.path)
            state = None
        with self._lock:
            self._key, self._state = key, state
        return state

    def write(self, state: MaintenanceState | None) -> None:
        if state is None:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
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


# -- the extension ------------------------------------------------------------


class _AppMaintenance:
    """Per-app maintenance state, in ``app.extensions["apierrors_maintenance"]``."""

    def __init__(self, settings: Settings, store: MaintenanceStore) -> None:
        self.store = store
        self.configured = MaintenanceState.from_config(settings.maintenance)
        self.exempt = tuple(settings.maintenance_exempt)
        self.retry_after = settings.maintenance_retry_after
        self.interval = float(settings.maintenance_check_interval)
        self._checked_at = -math.inf
        self._stored: MaintenanceState | None = None
        self._lock = threading.Lock()

    def stored(self, *, fresh: bool = False) -> MaintenanceState | None:
        now = time.monotonic()
        if fresh or now - self._checked_at >= self.interval:
            state = self.store.read()
            with self._lock:
                self._stored, self._checked_at = state, now
        return self._stored

    def remember(self, state: MaintenanceState | None) -> None:
        with self._lock:
            self._stored, self._checked_at = state, time.monotonic()

    def effective(self, *, fresh: bool = False) -> MaintenanceState | None:
        """The maintenance in force now (run-time state first), or ``None``."""
        now = _utcnow()
        for state in (self.stored(fresh=fresh), self.configured):
            if state is not None and state.active(now):
                return state
        return None

    def is_exempt(self) -> bool:
        path, endpoint = request.path, request.endpoint
        for pattern in self.exempt:
            if pattern.startswith("/"):
                if fnmatch.fnmatchcase(path, pattern):
                    return True
            elif endpoint is not None and fnmatch.fnmatchcase(endpoint, pattern):
                return True
        return False


def _check_maintenance() -> None:
    app_state: _AppMaintenance = current_app.extensions[_EXTENSION_KEY]
    state = app_state.effective()
    if state is None or app_state.is_exempt():
        return
    retry_after = None if state.end is not None else app_state.retry_after
    raise MaintenanceError(state, retry_after=retry_after)


class Maintenance:
    """Maintenance mode for an app with :class:`~flask_apierrors.ApiErrors`.

    ::

        errors = ApiErrors(app)
        maintenance = Maintenance(app)

        # later, in any worker, or with ``flask maintenance on --minutes 60``:
        maintenance.enable(end=datetime.now(timezone.utc) + timedelta(hours=1))

    Configuration (``APIERRORS_MAINTENANCE*``, or the same names as
    :class:`~flask_apierrors.ApiErrors` keywords): ``maintenance`` switches it
    on from the start (and cannot be switched off at run time),
    ``maintenance_file`` is the shared state file, ``maintenance_exempt`` the
    paths and endpoint names (glob patterns allowed) that keep answering,
    ``maintenance_retry_after`` the ``Retry-After`` of a maintenance without
    a known end, ``maintenance_check_interval`` how long a worker trusts its
    last read of the shared state.

    :param app: The app to set up now.
    :param store: A :class:`MaintenanceStore`; default a :class:`FileStore`
        at ``maintenance_file`` (or ``apierrors-maintenance.json`` in the
        instance folder). Use :class:`RedisStore` for several hosts.

    .. versionadded:: 0.1
    """

    def __init__(self, app: Flask | None = None, *, store: MaintenanceStore | None = None) -> None:
        self._store = store
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, store: MaintenanceStore | None = None) -> None:
        """Check every request against the maintenance state, first of all
        ``before_request`` functions, and add the ``flask maintenance``
        commands.

        :raises RuntimeError: ``ApiErrors`` is not set up on ``app`` yet, or
            ``Maintenance`` already is.
        """
        api_state = app.extensions.get("apierrors")
        if api_state is None:
            raise RuntimeError(
                "Maintenance needs ApiErrors on the app: call ApiErrors(app) (or init_app)"
                " before Maintenance(app)."
            )
        if _EXTENSION_KEY in app.extensions:
            raise RuntimeError("Maintenance is already set up on this app.")
        settings: Settings = api_state.settings
        store = store or self._store
        if store is None:
            path = settings.maintenance_file or os.path.join(
                app.instance_path, "apierrors-maintenance.json"
            )
            store = FileStore(path)
        app.extensions[_EXTENSION_KEY] = _AppMaintenance(settings, store)
        # First, so no authentication or rate limit answers before it.
        app.before_request_funcs.setdefault(None, []).insert(0, _check_maintenance)
        app.cli.add_command(maintenance_command)

    @staticmethod
    def _app_state() -> _AppMaintenance:
        state: _AppMaintenance | None = current_app.extensions.get(_EXTENSION_KEY)
        if state is None:
            raise RuntimeError("Maintenance is not set up on this app: call Maintenance(app).")
        return state

    def enable(
        self,
        *,
        start: str | datetime | None = None,
        end: str | datetime | None = None,
        duration: float | timedelta | None = None,
        message: str | None = None,
    ) -> MaintenanceState:
        """Switch maintenance on for every worker (within
        ``maintenance_check_interval`` seconds; at once in this one).

        :param start: When it starts; default now (a start in the future
            schedules it).
        :param end: When it is expected to end (``estimated_completion``).
        :param duration: Instead of ``end``: seconds (or a timedelta) after
            ``start``.
        :param message: Another client message.
        """
        state_start = parse_time(start) if start is not None else _utcnow().replace(microsecond=0)
        if duration is not None:
            if end is not None:
                raise TypeError("Pass end= or duration=, not both.")
            if not isinstance(duration, timedelta):
                duration = timedelta(seconds=duration)
            end = state_start + duration
        state = MaintenanceState(
            enabled=True,
            start=state_start,
            end=parse_time(end) if end is not None else None,
            message=message,
        )
        app_state = self._app_state()
        app_state.store.write(state)
        app_state.remember(state)
        return state

    def disable(self) -> None:
        """Switch run-time maintenance off (configured maintenance stays)."""
        app_state = self._app_state()
        app_state.store.write(None)
        app_state.remember(None)

    def status(self) -> MaintenanceState | None:
        """The maintenance in force now (read afresh), or ``None``."""
        return self._app_state().effective(fresh=True)

    def is_active(self) -> bool:
        """Whether requests get the maintenance 503 now."""
        return self.status() is not None


@click.group("maintenance")
def maintenance_command() -> None:
    """Switch maintenance mode on and off for every worker."""


@maintenance_command.command("on")
@click.option("--start", help="ISO 8601 start (default: now).")
@click.option("--end", help="ISO 8601 expected end.")
@click.option("--minutes", type=float, help="Expected duration instead of --end.")
@click.option("--message", help="Client message.")
@with_appcontext
def _maintenance_on(
    start: str | None, end: str | None, minutes: float | None, message: str | None
) -> None:
    """Switch maintenance on."""
    state = Maintenance().enable(
        start=start,
        end=end,
        duration=None if minutes is None else minutes * 60,
        message=message,
    )
    click.echo(f"maintenance on: {json.dumps(state.to_json())}")


@maintenance_command.command("off")
@with_appcontext
def _maintenance_off() -> None:
    """Switch run-time maintenance off."""
    Maintenance().disable()
    still = Maintenance().status()
    click.echo("maintenance off" + (" (still on by configuration)" if still else ""))


@maintenance_command.command("status")
@with_appcontext
def _maintenance_status() -> None:
    """Show the maintenance in force."""
    state = Maintenance().status()
    click.echo(json.dumps(state.to_json() if state else {"enabled": False}))
