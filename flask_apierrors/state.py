"""The one per-app state of the extension, and its accessor.

:class:`AppState` lives in ``app.extensions["apierrors"]`` and owns what
:class:`~flask_apierrors.ApiErrors` keeps for that app: settings (the
core's and each feature's), blueprint overrides, formats, converters and the
catalog. Everything else, features and tools alike, reads it through
:func:`get_state` and its public methods.
"""

from __future__ import annotations

import re
import threading
import typing as t
import weakref

from flask import current_app
from werkzeug.exceptions import HTTPException

from . import config
from .blueprints import Override
from .blueprints import derive_prefix
from .blueprints import learn_prefix
from .catalog import Catalog
from .coexistence import app_handlers
from .config import Settings
from .formats import Format
from .formats import build_format
from .formats import format_options
from .integrations.base import Converter
from .integrations.registry import CORE_FIRST
from .integrations.registry import CORE_LAST

if t.TYPE_CHECKING:
    from flask import Blueprint
    from flask import Flask

    from .extension import ApiErrors

S = t.TypeVar("S")

#: ``(status, headers) -> headers``: see :meth:`AppState.add_header_fixer`.
HeaderFixer = t.Callable[[int, list[tuple[str, str]]], list[tuple[str, str]]]

EXTENSION_KEY: t.Final = "apierrors"

_SLASHES: t.Final = re.compile("/{2,}")


class Scope:
    """The settings in force for one part of an app: the whole app, or the
    requests of one overridden blueprint (and the routing errors under its
    URL prefix)."""

    __slots__ = ("_features", "_options", "_parent", "name", "settings", "url_prefix")

    def __init__(
        self,
        settings: Settings,
        name: str | None = None,
        url_prefix: str | None = None,
        *,
        options: t.Mapping[str, t.Any] | None = None,
        parent: Scope | None = None,
    ) -> None:
        #: The core settings.
        self.settings = settings
        #: The blueprint's name, ``None`` for the app.
        self.name = name
        #: The URL prefix routing errors are matched against.
        self.url_prefix = url_prefix
        self._options = dict(options or {})
        self._parent = parent
        self._features: dict[type[t.Any], t.Any] = {}

    def settings_of(self, cls: type[S]) -> S:
        """The settings of a feature's settings class in this scope."""
        found = self._features.get(cls)
        if found is None:
            if self._parent is None:
                raise LookupError(f"{cls.__name__} is not a settings class of this app.")
            found = config.merged(self._parent.settings_of(cls), self._options)
            self._features[cls] = found
        return t.cast(S, found)


class AppState:
    """Everything :class:`~flask_apierrors.ApiErrors` keeps for one app.

    Created by ``init_app``; read with :func:`get_state`.
    """

    def __init__(self, ext: ApiErrors, app: Flask, options: t.Mapping[str, t.Any]) -> None:
        #: The extension instance that set this app up.
        self.ext = ext
        #: The error handler ApiErrors registers on the app.
        self.handler: t.Callable[[BaseException], t.Any] = ext._handle
        self._app = weakref.ref(app)
        #: The core settings of the app.
        self.settings = config.load_settings(app, options)
        #: The error catalog.
        self.catalog: Catalog = ext.catalog
        #: The app-wide :class:`Scope`.
        self.scope = Scope(self.settings)
        for cls in config.settings_classes()[1:]:
            self.scope._features[cls] = config.load(app, cls, options)
        self._formats: dict[t.Any, Format] = {}
        self._registry: dict[str, Format] = {}
        self._overrides: dict[str, Override] = {}
        self._scopes: dict[str, Scope] = {}
        self._prefixes: list[tuple[str, str]] | None = None
        self._user: list[tuple[type[BaseException], Converter]] = []
        self._plugin: list[tuple[type[BaseException], Converter]] = []
        #: ``(exception class, converter)`` pairs, in the order they are tried.
        self.converters: tuple[tuple[type[BaseException], Converter], ...] = ()
        self._by_class: dict[type[BaseException], tuple[Converter, ...]] = {}
        self._chain()
        self.check_format(self.settings.format, "APIERRORS_FORMAT", now=True)
        #: The header fixers, in order (see :meth:`add_header_fixer`).
        self.header_fixers: tuple[HeaderFixer, ...] = ()
        #: The extension's setup calls applied to this app (a repeat is a no-op).
        self.setup_calls: list[tuple[str, tuple[t.Any, ...], dict[str, t.Any]]] = []
        #: The app has received a request (setup is over).
        self.served = False
        #: The WSGI environ of the first request (see :meth:`begin_serving`).
        self.first_environ: t.Mapping[str, t.Any] = {}
        self._first_request: list[t.Callable[[AppState], None]] = []
        self._serving_lock = threading.Lock()
        #: Handlers of the app that ApiErrors replaced (exception class ->
        #: handler): they answer where ``enabled`` is off.
        self.displaced: dict[type[BaseException], t.Callable[..., t.Any]] = {}
        #: Handlers replaced on purpose (by a plug-in): not warned about.
        self.accepted: list[t.Callable[..., t.Any]] = []

    @property
    def app(self) -> Flask:
        """The app (the state holds it weakly)."""
        app = self._app()
        if app is None:  # pragma: no cover - the app owns its state
            raise RuntimeError("The app of this ApiErrors state is gone.")
        return app

    # -- settings ----------------------------------------------------------------------------

    def settings_of(self, cls: type[S]) -> S:
        """The app-wide settings of a feature's settings class."""
        return self.scope.settings_of(cls)

    def scope_for(self, blueprints: t.Sequence[str], path: str) -> Scope:
        """The :class:`Scope` of the innermost overridden blueprint handling
        the request, else of the blueprint whose URL prefix ``path`` is
        under, else the app's."""
        overrides = self._overrides
        if not overrides:
            return self.scope
        for name in blueprints:
            key = name if name in overrides else name.rpartition(".")[2]
            if key not in overrides:
                # A blueprint registered again under another name.
                app = self._app()
                found = app.blueprints.get(name) if app is not None else None
                key = found.name if found is not None else key
            if key in overrides:
                return self._scope(key)
        if not blueprints:
            if "//" in path:
                app = self._app()
                if app is not None and app.url_map.merge_slashes:
                    path = _SLASHES.sub("/", path)  # as Werkzeug's routing reads it
            for prefix, name in self._prefix_map():
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    return self._scope(name)
        return self.scope

    def settings_for(self, blueprints: t.Sequence[str], path: str) -> Settings:
        """The core settings of :meth:`scope_for`."""
        return self.scope_for(blueprints, path).settings

    def _scope(self, name: str) -> Scope:
        scope = self._scopes.get(name)
        if scope is None:
            override = self._overrides[name]
            scope = Scope(
                config.merged(self.settings, override.options),
                name,
                self.prefix_of(name),
                options=override.options,
                parent=self.scope,
            )
            self._scopes[name] = scope
        return scope

    # -- overrides ---------------------------------------------------------------------------

    def add_override(
        self, blueprint: Blueprint, options: t.Mapping[str, t.Any], url_prefix: str | None
    ) -> None:
        """Use ``options`` for ``blueprint`` (see :meth:`ApiErrors.override`)."""
        # A bad name or value fails now, not per request.
        config.check_scoped(options)
        config.merged(self.settings, options)
        for cls in config.settings_classes()[1:]:
            config.merged(self.settings_of(cls), options)
        if "format" in options:
            self.check_format(options["format"], f"override({blueprint.name!r}).format", now=True)
        entry = Override(blueprint, dict(options), url_prefix)
        self._overrides[blueprint.name] = entry
        self._scopes.pop(blueprint.name, None)
        self._prefixes = None
        if url_prefix is None:
            learn_prefix(blueprint, _prefix_registered)

    def _prefix_registered(self, name: str, prefix: str) -> None:
        entry = self._overrides.get(name)
        if entry is None or prefix in (entry.url_prefix, *entry.more_prefixes):
            return
        if entry.url_prefix is None:
            entry.url_prefix = prefix
            self._scopes.pop(name, None)
        else:
            entry.more_prefixes.append(prefix)
        self._prefixes = None

    @property
    def overrides(self) -> t.Mapping[str, t.Mapping[str, t.Any]]:
        """Blueprint name -> the options it overrides."""
        return {name: dict(o.options) for name, o in self._overrides.items()}

    def prefix_of(self, name: str) -> str | None:
        """The URL prefix of the overridden blueprint ``name``."""
        return next((prefix for prefix, found in self._prefix_map() if found == name), None)

    def scopes(self) -> tuple[Scope, ...]:
        """The app's scope, then one per overridden blueprint."""
        return (self.scope, *(self._scope(name) for name in self._overrides))

    def _prefix_map(self) -> list[tuple[str, str]]:
        if self._prefixes is None:
            app = self._app()
            prefixes: list[tuple[str, str]] = []
            for name, override in self._overrides.items():
                prefix = override.url_prefix
                if prefix is None and app is not None:
                    prefix = derive_prefix(app, name, override.blueprint.url_prefix)
                if prefix:
                    prefixes.append((prefix, name))
                prefixes += [(more, name) for more in override.more_prefixes]
            # Longest first, so nested blueprints win over their parents.
            prefixes.sort(key=lambda item: len(item[0]), reverse=True)
            self._prefixes = prefixes
        return self._prefixes

    # -- formats -----------------------------------------------------------------------------

    def register_format(self, name: str, fmt: Format) -> None:
        """Make ``fmt`` usable by name in this app's ``format=`` settings."""
        self._registry[name] = fmt
        self._formats.clear()

    @property
    def formats(self) -> t.Mapping[str, Format]:
        """The formats registered by name."""
        return dict(self._registry)

    def check_format(self, spec: t.Any, setting: str, *, now: bool = False) -> None:
        """Raise ``ValueError``, naming ``setting``, unless ``spec`` is a
        format of this app (a misspelt name would make every error a 500).
        With ``now`` (at setup), a name not registered yet passes: it may
        be registered later."""
        if now and isinstance(spec, str) and spec not in self._registry:
            return
        try:
            self.format_for(spec, self.settings)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{setting}: {e}") from None

    def format_for(self, spec: t.Any, settings: Settings) -> Format:
        """The :class:`Format` object for a configured format (cached)."""
        options = format_options(settings)
        key = (spec if isinstance(spec, str) else id(spec), *options.values())
        fmt = self._formats.get(key)
        if fmt is None:
            fmt = build_format(spec, registry=self._registry, **options)
            self._formats[key] = fmt
        return fmt

    # -- converters and hooks ----------------------------------------------------------------

    def register_converter(
        self, exc_type: type[BaseException], convert: Converter, *, plugin: bool = False
    ) -> None:
        """Try ``convert`` for errors of ``exc_type`` (and subclasses) raised
        while this app handles a request; it is called only with those.
        User converters are tried first, newest first; a plug-in's
        (``plugin=True``) after the core's own and before the generic
        Werkzeug fallback. Registering the same pair again
        does nothing."""
        entries = self._plugin if plugin else self._user
        entry = (exc_type, convert)
        if entry in entries:
            return
        if plugin:
            entries.append(entry)
        else:
            entries.insert(0, entry)
        self._chain()
        if issubclass(exc_type, Exception) and not issubclass(exc_type, HTTPException):
            self.app.register_error_handler(exc_type, self.handler)

    def _chain(self) -> None:
        self.converters = (*self._user, *CORE_FIRST, *self._plugin, *CORE_LAST)
        self._by_class.clear()

    def converters_for(self, exc_class: type[BaseException]) -> tuple[Converter, ...]:
        """The converters for errors of ``exc_class``, in order (cached per
        class: an error tries only the converters of its classes)."""
        found = self._by_class.get(exc_class)
        if found is None:
            found = tuple(c for t_, c in self.converters if issubclass(exc_class, t_))
            self._by_class[exc_class] = found
        return found

    def take_over(
        self, exc_type: type[Exception], convert: Converter | None = None
    ) -> t.Callable[..., t.Any] | None:
        """Answer ``exc_type`` through ApiErrors (with ``convert``, if given)
        in place of the handler another extension registered on the app for
        exactly that class; that handler is kept in :attr:`displaced` (it
        answers where ApiErrors is off) and not warned about. Safe to call
        again, at the first request, for extensions set up after ApiErrors.

        :returns: The handler replaced, if any.
        """
        handlers = app_handlers(self.app)
        current = handlers.get(exc_type)
        if current is not None and current != self.handler:
            self.displaced[exc_type] = current
            self.accepted.append(current)
        if convert is not None:
            self.register_converter(exc_type, convert, plugin=True)
        if handlers.get(exc_type) != self.handler:
            self.app.register_error_handler(exc_type, self.handler)
        return current if current != self.handler else None

    def on_first_request(self, callback: t.Callable[[AppState], None]) -> None:
        """Call ``callback`` once, when the app receives its first request,
        before Flask handles it (setup methods still work then): for checks
        of what other extensions set up after ApiErrors."""
        if callback not in self._first_request:
            self._first_request.append(callback)

    def begin_serving(self, environ: t.Mapping[str, t.Any] | None = None) -> None:
        """Mark setup as over, running the :meth:`on_first_request` callbacks
        first (once, whichever thread gets the first request); ``environ``,
        the first request's WSGI environ, is kept as :attr:`first_environ`
        for them (``wsgi.multiprocess`` ...)."""
        with self._serving_lock:
            if self.served:
                return
            self.first_environ = environ if environ is not None else {}
            # Each once: if one raises, the next request runs the rest.
            while self._first_request:
                self._first_request[0](self)
                del self._first_request[0]
            self.served = True

    def add_header_fixer(self, fixer: HeaderFixer) -> None:
        """Give ``fixer`` the last word on the headers of every response that
        is not a 2xx: the middleware calls it with the status and headers,
        after every ``after_request`` hook, still inside the request
        context, and sends the headers it returns."""
        if fixer not in self.header_fixers:
            self.header_fixers = (*self.header_fixers, fixer)


def get_state(app: Flask | None = None) -> AppState:
    """The :class:`AppState` of ``app`` (default: the current app).

    :raises RuntimeError: :class:`~flask_apierrors.ApiErrors` is not set up
        on the app.
    """
    target = app if app is not None else current_app
    state: AppState | None = target.extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError("ApiErrors is not set up on this app: call ApiErrors(app) first.")
    return state


def find_state(app: Flask | None = None) -> AppState | None:
    """Like :func:`get_state`, but ``None`` where ApiErrors is not set up."""
    target = app if app is not None else current_app
    return t.cast("AppState | None", target.extensions.get(EXTENSION_KEY))


def _prefix_registered(app: Flask, name: str, prefix: str) -> None:
    state = find_state(app)
    if state is not None:
        state._prefix_registered(name, prefix)
