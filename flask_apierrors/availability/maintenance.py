"""Maintenance mode: the per-app state, the check before every request,
the :class:`Maintenance` extension and the ``flask maintenance`` commands.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import math
import os
import threading
import time
import typing as t
from datetime import datetime
from datetime import timedelta

import click
from flask import Flask
from flask import current_app
from flask import request
from flask.cli import with_appcontext

from .. import config
from ..plugins import Plugin
from ..state import AppState
from ..state import find_state
from .exceptions import MaintenanceError
from .state import MaintenanceState
from .state import parse_time
from .state import utcnow
from .stores import FileStore
from .stores import MaintenanceStore

__all__ = ["Maintenance", "maintenance_command"]

_EXTENSION_KEY: t.Final = "apierrors_maintenance"


@dataclasses.dataclass(frozen=True, slots=True)
class MaintenanceSettings:
    """The ``APIERRORS_MAINTENANCE*`` keys (:class:`Maintenance`)."""

    #: Maintenance mode from the start: ``True``, an ISO 8601 interval
    #: ``"START/END"``, or a mapping with ``start``, ``end`` and ``message``
    #: (see :class:`~flask_apierrors.availability.Maintenance`).
    maintenance: t.Any = config.app_wide(False)
    #: File holding the maintenance state switched at run time, shared by
    #: every worker; ``None``: ``apierrors-maintenance.json`` in the
    #: instance folder.
    maintenance_file: str | os.PathLike[str] | None = config.app_wide(None)
    #: Paths (``/health``) and endpoint names that answer during maintenance.
    maintenance_exempt: tuple[str, ...] = config.app_wide(("/health",))
    #: ``Retry-After`` (seconds) of a maintenance 503 whose end is unknown.
    maintenance_retry_after: int = config.app_wide(300)
    #: Seconds a worker trusts its last look at the maintenance state.
    maintenance_check_interval: float = config.app_wide(1.0)


def plugin() -> Plugin:
    """The entry point: declares the maintenance settings, checked on every app."""
    return Plugin("maintenance", settings=(MaintenanceSettings,), setup=_setup)


def _setup(state: AppState) -> None:
    # A wrong APIERRORS_MAINTENANCE fails when ApiErrors is set up, in one line.
    MaintenanceState.from_config(state.settings_of(MaintenanceSettings).maintenance)


class _AppMaintenance:
    """Per-app maintenance state, in ``app.extensions["apierrors_maintenance"]``."""

    def __init__(self, settings: MaintenanceSettings, store: MaintenanceStore) -> None:
        self.store = store
        self.configured = MaintenanceState.from_config(settings.maintenance)
        self.exempt = tuple(settings.maintenance_exempt)
        self.retry_after = settings.maintenance_retry_after
        self.interval = float(settings.maintenance_check_interval)
        self._checked_at = -math.inf
        self._stored: MaintenanceState | None = None
        self._lock = threading.Lock()
        # Held by the one read of the store in flight in this process.
        self._reading = threading.Lock()

    def stored(self, *, fresh: bool = False) -> MaintenanceState | None:
        """The run-time state, read from the store at most once per
        ``interval`` (``fresh``: now). One read at a time per process: the
        requests that come while one is in flight (a hung Redis, a slow
        disk) take the last state instead of waiting for the store too;
        until a first read has finished there is none, so they (and a
        ``fresh`` read) read the store themselves. Nobody waits for the lock
        of the read in flight: made before gevent or eventlet patched the
        process (``--preload``), it would block the worker's every greenlet."""
        if not (fresh or time.monotonic() - self._checked_at >= self.interval):
            return self._stored
        alone = self._reading.acquire(blocking=False)
        if not (alone or fresh or self._checked_at == -math.inf):
            return self._stored
        try:
            now = time.monotonic()
            if fresh or now - self._checked_at >= self.interval:  # else read meanwhile
                state = self.store.read()
                with self._lock:
                    if now >= self._checked_at:  # else remember() came meanwhile
                        self._stored, self._checked_at = state, now
        finally:
            if alone:
                self._reading.release()
        return self._stored

    def remember(self, state: MaintenanceState | None) -> None:
        with self._lock:
            self._stored, self._checked_at = state, time.monotonic()

    def effective(self, *, fresh: bool = False) -> MaintenanceState | None:
        """The maintenance in force now (run-time state first), or ``None``."""
        now = utcnow()
        for state in (self.stored(fresh=fresh), self.configured):
            if state is not None and state.active(now):
                return state
        return None


def _exempt(patterns: t.Iterable[str], path: str, endpoint: str | None) -> bool:
    for pattern in patterns:
        if pattern.startswith("/"):
            if fnmatch.fnmatchcase(path, pattern):
                return True
        elif endpoint is not None and fnmatch.fnmatchcase(endpoint, pattern):
            return True
    return False


def answers_during_maintenance(app: Flask, path: str, endpoint: str | None) -> bool | None:
    """Whether a request to ``path`` (``endpoint``) is answered during
    maintenance (``maintenance_exempt``); ``None`` when :class:`Maintenance`
    is not set up on ``app``. For the OpenAPI document.

    .. versionadded:: 0.2
    """
    app_state: _AppMaintenance | None = app.extensions.get(_EXTENSION_KEY)
    if app_state is None:
        return None
    return _exempt(app_state.exempt, path, endpoint)


def _check_maintenance(endpoint: str | None = None, values: t.Any = None) -> None:
    app_state: _AppMaintenance = current_app.extensions[_EXTENSION_KEY]
    # Exempt routes (a health check) first: they never wait on the store.
    if _exempt(app_state.exempt, request.path, request.endpoint):
        return
    state = app_state.effective()
    if state is None:
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
        api_state = find_state(app)
        if api_state is None:
            raise RuntimeError(
                "Maintenance needs ApiErrors on the app: call ApiErrors(app) (or init_app)"
                " before Maintenance(app)."
            )
        if _EXTENSION_KEY in app.extensions:
            raise RuntimeError("Maintenance is already set up on this app.")
        settings = api_state.settings_of(MaintenanceSettings)
        store = store or self._store
        if store is None:
            path = settings.maintenance_file or os.path.join(
                app.instance_path, "apierrors-maintenance.json"
            )
            store = FileStore(os.fspath(path))
        app.extensions[_EXTENSION_KEY] = _AppMaintenance(settings, store)
        # URL value preprocessors run before every before_request function
        # (Flask's preprocess_request), whatever the order extensions were
        # set up in: no authentication or rate limit answers before it.
        app.url_value_preprocessor(_check_maintenance)
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
        state_start = parse_time(start) if start is not None else utcnow().replace(microsecond=0)
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
