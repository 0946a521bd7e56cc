"""The :class:`ApiErrors` extension: setup, the error handler, and the
public hooks features and apps extend it with."""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing as t
import weakref

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import got_request_exception
from flask import has_app_context
from flask import has_request_context
from flask import request
from werkzeug.exceptions import HTTPException

from . import coexistence
from . import correlation
from . import plugins
from . import rendering
from .catalog import Catalog
from .config import check_options
from .config import check_scoped
from .formats import Format
from .formats import build_format
from .integrations import werkzeug as wz
from .integrations.base import Context
from .integrations.base import Converter
from .integrations.registry import EXCEPTION_TYPES
from .middleware import ApiErrorsMiddleware
from .problem import Problem
from .state import EXTENSION_KEY
from .state import AppState
from .state import get_state
from .statuses import check_error_status

logger = logging.getLogger("flask_apierrors")

__all__ = ["ApiErrors", "AppState"]


class ApiErrors:
    """Make every error of a Flask app a documented JSON body.

    ::

        app = Flask(__name__)
        errors = ApiErrors(app, format="error")

    or, with an app factory, ``errors = ApiErrors()`` then
    ``errors.init_app(app)``. One instance may serve several apps; per-app
    state lives in ``app.extensions["apierrors"]``
    (:func:`~flask_apierrors.state.get_state`).

    :param app: The app to set up now.
    :param catalog: The error catalog; defaults to :meth:`Catalog.default`.
    :param options: Any setting of :class:`~flask_apierrors.config.Settings`
        (or of a feature), by its lower-case name (``APIERRORS_<NAME>`` in
        ``app.config``): ``format=`` (``APIERRORS_FORMAT``), the body
        format, most often.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        catalog: Catalog | None = None,
        **options: t.Any,
    ) -> None:
        self._plugins = plugins.installed()
        check_options(options)
        self.catalog = catalog if catalog is not None else Catalog.default()
        self._options = options
        #: Calls made before any app was set up: replayed on every app, in order.
        self._setup: list[tuple[str, tuple[t.Any, ...], dict[str, t.Any]]] = []
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        #: The app this thread set up last (factories may run in threads),
        #: else the app set up last by any thread.
        self._newest = threading.local()
        self._newest_any: weakref.ref[Flask] | None = None
        if app is not None:
            self.init_app(app)

    # -- setup -------------------------------------------------------------

    def init_app(self, app: Flask, **options: t.Any) -> None:
        """Register the error handlers on ``app``.

        :param options: Settings for this app only; they win over the
            instance's keyword options.
        :raises RuntimeError: ``app`` already has an ``ApiErrors``.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "ApiErrors is already set up on this app. Create one ApiErrors per"
                " app, or call init_app() once; use errors.override(blueprint, ...)"
                " for per-blueprint settings."
            )
        state = AppState(self, app, {**self._options, **options})
        state.displaced = coexistence.displace(app, self._handle)
        # First, so an app that has served fails here (Flask's own
        # AssertionError) with nothing of ApiErrors left on it.
        app.register_error_handler(HTTPException, self._handle)
        app.extensions[EXTENSION_KEY] = state
        self._apps.add(app)
        self._newest.app = self._newest_any = weakref.ref(app)
        # The app context active meanwhile (a test's, pushed in setUp), by
        # its ``g``, which each context has its own of: setup calls made
        # under that very context are for this app, while it has not served.
        outer = g._get_current_object() if has_app_context() else None
        self._newest.outer = weakref.ref(outer) if outer is not None else None

        for exc_type in EXCEPTION_TYPES:
            app.register_error_handler(exc_type, self._handle)
        for exc_type in wz.BODY_ERRORS:
            # The app's own handler, if any, keeps them.
            if coexistence.app_handlers(app).get(exc_type) in (None, self._handle_body_error):
                app.register_error_handler(exc_type, self._handle_body_error)
        # Correlation id header and streamed-body limits: no Flask context
        # needed, and it sees every response, even one a failing hook left.
        app.wsgi_app = ApiErrorsMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]
        got_request_exception.connect(_on_exception, app, weak=False)
        for target in (app.logger, logger):
            _add_filter(target, correlation.ExceptionLogTagger)
            _add_filter(target, correlation.CorrelationIdFilter)
        for method, args, kwargs in self._setup:
            getattr(state, method)(*args, **kwargs)
        state.setup_calls = list(self._setup)
        for plugin in self._plugins:
            if plugin.setup is not None:
                plugin.setup(state)
        state.on_first_request(_check_formats)
        # Last, after the plug-ins' own first-request work.
        state.on_first_request(coexistence.check)

    def _record(self, what: str, method: str, *args: t.Any, **kwargs: t.Any) -> None:
        """Apply a setup call. Before any app is set up, it is for every app
        this instance sets up (replayed by ``init_app``); after, for the app
        being set up: the one of the active app context (unless the newest
        app was set up under that context: a factory's app in a test that
        pushed another's), else the newest.
        Repeating a call is harmless; a new one for an app that has served
        raises."""
        call = (method, args, kwargs)
        app = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
        outer = getattr(self._newest, "outer", None)
        if app is not None and outer is not None and outer() is g._get_current_object():
            # A factory's app, set up under another app's context.
            factory_app = self._newest.app()
            if factory_app is not None and not get_state(factory_app).served:
                app = factory_app
        if app not in self._apps:
            newest = getattr(self._newest, "app", None) or self._newest_any
            app = newest() if newest is not None else None
        if app is None:
            if call not in self._setup:
                self._setup.append(call)
            return
        state = get_state(app)
        if call in state.setup_calls:
            return
        if state.served:
            raise RuntimeError(
                f"ApiErrors.{what}() was called after app {app.name!r} handled its first"
                " request. Call it after init_app(app) for that app only, or before the"
                " first init_app for every app."
            )
        state.setup_calls.append(call)
        getattr(state, method)(*args, **kwargs)

    def override(
        self, blueprint: Blueprint, *, url_prefix: str | None = None, **options: t.Any
    ) -> None:
        """Use other settings (most often ``format=``) for errors raised while
        ``blueprint`` handles a request, and for routing errors (404, 405)
        and 413s under its URL prefix.

        Callable before or after the blueprint is registered. The URL prefix
        is taken from the registration; pass ``url_prefix`` to set it
        yourself. Nested blueprints: the innermost override wins.
        """
        check_scoped(options)
        self._record("override", "add_override", blueprint, dict(options), url_prefix)

    def register_format(self, name: str, fmt: Format | t.Callable[[Problem], t.Any]) -> None:
        """Make ``fmt`` usable by name in ``format=`` settings."""
        self._record("register_format", "register_format", name, build_format(fmt))

    def register_converter(self, exc_type: type[BaseException], convert: Converter) -> None:
        """Render errors of ``exc_type`` (and its subclasses) with ``convert``,
        a function ``(exception, Context) -> Problem | None`` (``None``: let
        the next converter try). The app's own converters are tried first,
        newest first::

            def convert(e: PaymentDeclined, ctx: Context) -> Problem:
                return ctx.problem("payment_declined", details={"reason": e.reason})


            errors.register_converter(PaymentDeclined, convert)

        .. versionadded:: 0.2
        """
        self._record("register_converter", "register_converter", exc_type, convert)

    def register_exception(
        self,
        exc_type: type[Exception],
        error_code: str,
        *,
        status: int | None = None,
        message: str | None = None,
        format: str | None = None,
    ) -> None:
        """Render instances of ``exc_type`` (not an ``ApiError``) as
        ``error_code``, without exposing the exception's text::

            errors.register_exception(sqlite3.OperationalError, "database_error")
        """
        if status is not None:
            check_error_status(status, f"register_exception({exc_type.__name__})")
        self.register_converter(
            exc_type, _CodeConverter(error_code, status=status, message=message, format=format)
        )

    # -- handling ----------------------------------------------------------

    #: Mark an app-wide handler that hands the API's errors to ApiErrors
    #: (:func:`~flask_apierrors.coexistence.hands_over`): no warning names it.
    hands_over = staticmethod(coexistence.hands_over)

    def problem_for(self, e: BaseException) -> Problem:
        """The :class:`Problem` for ``e`` in the current request, or, in an
        app context without one (a background job), with the app's settings.

        .. versionchanged:: 0.2
            Works outside a request.
        """
        state = get_state()
        has_request = has_request_context()
        req = request._get_current_object() if has_request else None  # type: ignore[attr-defined]
        scope = state.scope_for(req.blueprints, req.path) if req is not None else state.scope
        return rendering.problem_for(e, state, rendering.context(state, scope, req))

    def make_response(self, problem: Problem) -> Response:
        """Render ``problem`` in the format the request calls for."""
        state = get_state()
        req = request._get_current_object()  # type: ignore[attr-defined]
        settings = state.settings_for(req.blueprints, req.path)
        return rendering.respond(state, problem, settings, req.environ)

    def _handle(self, e: BaseException) -> t.Any:
        response = getattr(e, "response", None)
        if isinstance(e, HTTPException) and response is not None:
            # The raiser built the exact response it wants (abort(response),
            # flask-limiter's on_breach ...): keep it.
            return e
        state = environ = None
        try:
            req = request._get_current_object()  # type: ignore[attr-defined]
            environ = req.environ
            state = get_state()
            scope = state.scope_for(req.blueprints, req.path)
            settings = scope.settings
            if settings.enabled:
                ctx = rendering.context(state, scope, req)
                problem = rendering.problem_for(e, state, ctx)
                response = rendering.respond(state, problem, settings, environ)
                rendering.report(
                    state.app, problem, e, ctx.ids, log_client_errors=settings.log_client_errors
                )
                return response
        except Exception:
            return rendering.fallback_response(state, environ)
        return _decline(e, state)

    def _handle_body_error(self, e: BaseException) -> t.Any:
        """A ``RecursionError`` or ``ValueError``: the client's ``invalid_json``
        where the JSON parser refused the request's body
        (:func:`~flask_apierrors.integrations.werkzeug.refused_body`); any
        other goes on as if ApiErrors had no handler for it, to the app's
        handler of a wider class, else to Flask's unhandled path (logged and
        a 500, raised under ``TESTING``), so it is no client error that
        Flask logs with its traceback and tells monitoring of."""
        if wz.refused_body(e):
            return self._handle(e)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        handlers = coexistence.app_handlers(app)
        mro = type(e).__mro__
        at = next((i for i, c in enumerate(mro) if handlers.get(c) == self._handle_body_error), 0)
        for cls in mro[at + 1 :]:
            handler = handlers.get(cls)
            if handler is not None:
                return app.ensure_sync(handler)(e)
        raise e


@dataclasses.dataclass(frozen=True, slots=True)
class _CodeConverter:
    """The converter :meth:`ApiErrors.register_exception` registers (equal
    for equal arguments, so repeating the call is harmless)."""

    code: str
    _: dataclasses.KW_ONLY
    status: int | None
    message: str | None
    format: str | None

    def __call__(self, e: BaseException, ctx: Context) -> Problem:
        return ctx.problem(self.code, status=self.status, message=self.message, format=self.format)


def _decline(e: BaseException, state: AppState) -> t.Any:
    """Where ApiErrors is turned off: the app's own handler ApiErrors
    replaced, else what Flask does without it (its page for an HTTP error,
    its 500 for anything else)."""
    for cls in type(e).__mro__:
        handler = state.displaced.get(cls)
        if handler is not None:
            return state.app.ensure_sync(handler)(e)
    if isinstance(e, HTTPException):
        return e
    raise e


def _check_formats(state: AppState) -> None:
    """At the first request, and at each one until fixed (a format may be
    registered after a setting names it, and a catalog may change after
    setup): every format a setting or a code names exists. A misspelt name
    would otherwise make every error a 500."""
    for scope in state.scopes():
        setting = f"override({scope.name!r}).format" if scope.name else "APIERRORS_FORMAT"
        state.check_format(scope.settings.format, setting)
    for spec in state.catalog:
        if spec.format is not None:
            state.check_format(spec.format, f"The format of code {spec.code!r}")
    for exc_type, convert in state.converters:
        if isinstance(convert, _CodeConverter) and convert.format is not None:
            setting = f"register_exception({exc_type.__name__}).format"
            state.check_format(convert.format, setting)


def _add_filter(target: logging.Logger, cls: type[logging.Filter]) -> None:
    # Apps with one import name share one logger: one filter of each kind.
    if not any(isinstance(f, cls) for f in target.filters):
        target.addFilter(cls())


def _on_exception(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    # Sent by Flask before it logs the traceback of an unhandled exception:
    # create the error id now, so the log line and the 500 body share it.
    found = correlation.current_state()
    if found is not None and not found[0].unhandled:
        state, settings = found
        state.unhandled = True
        correlation.error_id_of(state, settings)
