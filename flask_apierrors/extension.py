"""The :class:`ApiErrors` extension: wiring handlers, settings and overrides."""

from __future__ import annotations

import json
import logging
import time
import typing as t
import weakref
from datetime import datetime
from datetime import timezone

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import got_request_exception
from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from . import cli
from . import correlation
from .catalog import Catalog
from .config import Settings
from .config import check_options
from .config import load_settings
from .formats import PROBLEM_JSON
from .formats import Format
from .formats import build_format
from .integrations import Context
from .integrations import Converter
from .integrations import registry
from .integrations import werkzeug as wz
from .middleware import ApiErrorsMiddleware
from .problem import Problem

logger = logging.getLogger("flask_apierrors")

#: ``(status, headers) -> headers``: see :attr:`AppState.header_fixers`.
HeaderFixer = t.Callable[[int, list[tuple[str, str]]], list[tuple[str, str]]]


_clock: tuple[int, str] = (-1, "")


def _utcnow() -> str:
    """Now, ISO 8601 UTC with ``Z``; formatted once per second (the pair is
    swapped in one assignment, so threads never see a torn value)."""
    global _clock
    now = int(time.time())
    second, text = _clock
    if now != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        _clock = (now, text)
    return text


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, t.Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER: t.Final = json.JSONEncoder(default=_json_default, ensure_ascii=False, allow_nan=False)


def dumps(body: t.Any) -> str:
    """JSON text of a body, keys in the order the format wrote them."""
    return _ENCODER.encode(body)


class _Override:
    __slots__ = ("blueprint", "options", "url_prefix")

    def __init__(
        self, blueprint: Blueprint, options: dict[str, t.Any], url_prefix: str | None
    ) -> None:
        self.blueprint = blueprint
        self.options = options
        self.url_prefix = url_prefix


class AppState:
    """Everything :class:`ApiErrors` keeps for one app, in
    ``app.extensions["apierrors"]``."""

    def __init__(self, ext: ApiErrors, app: Flask, settings: Settings, catalog: Catalog) -> None:
        self.ext = ext
        self.app_ref = weakref.ref(app)
        self.settings = settings
        self.catalog = catalog
        self._formats: dict[t.Any, Format] = {}
        self._blueprint_settings: dict[str, Settings] = {}
        self._prefixes: list[tuple[str, str]] | None = None
        #: Called by the middleware for every response that is not a 2xx,
        #: with its status and headers, still inside the request context;
        #: each returns the headers to send (integrations that must have the
        #: last word on a header, after every ``after_request`` hook).
        self.header_fixers: list[HeaderFixer] = []

    def format_for(self, spec: t.Any, settings: Settings) -> Format:
        """The :class:`Format` object for a configured format (cached)."""
        key = (
            spec if isinstance(spec, str) else id(spec),
            settings.uppercase_codes,
            settings.problem_type_base,
        )
        fmt = self._formats.get(key)
        if fmt is None:
            fmt = build_format(
                spec,
                uppercase_codes=settings.uppercase_codes,
                problem_type_base=settings.problem_type_base,
                registry=self.ext._registry,
            )
            self._formats[key] = fmt
        return fmt

    def settings_for(self, blueprints: t.Sequence[str], path: str) -> Settings:
        """Settings of the innermost overridden blueprint handling the
        request, else of the blueprint whose URL prefix the path is under,
        else the app's."""
        overrides = self.ext._overrides
        if not overrides:
            return self.settings
        for name in blueprints:
            override = overrides.get(name) or overrides.get(name.rpartition(".")[2])
            if override is not None:
                return self._merged(name, override)
        if not blueprints:
            for prefix, name in self._prefix_map():
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    return self._merged(name, overrides[name])
        return self.settings

    def _merged(self, name: str, override: _Override) -> Settings:
        settings = self._blueprint_settings.get(name)
        if settings is None:
            settings = self.settings.merged(override.options)
            self._blueprint_settings[name] = settings
        return settings

    def _prefix_map(self) -> list[tuple[str, str]]:
        if self._prefixes is None:
            app = self.app_ref()
            prefixes: list[tuple[str, str]] = []
            for name, override in self.ext._overrides.items():
                prefix = override.url_prefix
                if prefix is None and app is not None:
                    prefix = _derive_prefix(app, name, override.blueprint.url_prefix)
                if prefix:
                    prefixes.append((prefix, name))
            # Longest first, so nested blueprints win over their parents.
            prefixes.sort(key=lambda item: len(item[0]), reverse=True)
            self._prefixes = prefixes
        return self._prefixes


def _derive_prefix(app: Flask, name: str, declared: str | None) -> str | None:
    """The URL prefix of a blueprint registered before ``override`` was
    called: its declared ``url_prefix`` if its rules use it, else the common
    path segments of its rules."""
    rules = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(name + ".") or ("." + name + ".") in rule.endpoint
    ]
    if declared and rules and all(r.startswith(declared) for r in rules):
        return declared
    common: list[str] | None = None
    for rule in rules:
        static, variable, _ = rule.partition("<")
        if variable:
            static = static.rpartition("/")[0]
        segments = [s for s in static.split("/") if s]
        if common is None:
            common = segments
        else:
            n = 0
            while n < min(len(common), len(segments)) and common[n] == segments[n]:
                n += 1
            common = common[:n]
    if not common:
        return None
    return "/" + "/".join(common)


class ApiErrors:
    """Make every error of a Flask app a documented JSON body.

    ::

        app = Flask(__name__)
        errors = ApiErrors(app, format="error")

    or, with an app factory, ``errors = ApiErrors()`` then
    ``errors.init_app(app)``. One instance may serve several apps; per-app
    state lives in ``app.extensions["apierrors"]``.

    :param app: The app to set up now.
    :param format: The body format (``APIERRORS_FORMAT``).
    :param catalog: The error catalog; defaults to :meth:`Catalog.default`.
    :param options: Any other setting of :class:`~flask_apierrors.config.Settings`,
        by its lower-case name (``APIERRORS_<NAME>`` in ``app.config``).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        catalog: Catalog | None = None,
        **options: t.Any,
    ) -> None:
        check_options(options)
        self.catalog = catalog if catalog is not None else Catalog.default()
        self._options = options
        self._overrides: dict[str, _Override] = {}
        self._registry: dict[str, Format] = {}
        self._converters: list[Converter] = []
        self._exception_types: dict[type[Exception], Converter | None] = {}
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    # -- setup -------------------------------------------------------------

    def init_app(self, app: Flask, **options: t.Any) -> None:
        """Register the error handlers on ``app``.

        :param options: Settings for this app only; they win over the
            instance's keyword options.
        :raises RuntimeError: ``app`` already has an ``ApiErrors``.
        """
        if "apierrors" in app.extensions:
            raise RuntimeError(
                "ApiErrors is already set up on this app. Create one ApiErrors per"
                " app, or call init_app() once; use errors.override(blueprint, ...)"
                " for per-blueprint settings."
            )
        settings = load_settings(app, {**self._options, **options})
        state = AppState(self, app, settings, self.catalog)
        app.extensions["apierrors"] = state
        self._apps.add(app)

        app.register_error_handler(HTTPException, self._handle)
        for exc_type in self._exception_types:
            app.register_error_handler(exc_type, self._handle)
        for exc_type in registry.EXCEPTION_TYPES:
            app.register_error_handler(exc_type, self._handle)
        # Correlation id header and streamed-body limits: no Flask context
        # needed, and it sees every response, even one a failing hook left.
        app.wsgi_app = ApiErrorsMiddleware(app.wsgi_app, app, state)  # type: ignore[method-assign]
        got_request_exception.connect(_on_exception, app, weak=False)
        app.logger.addFilter(correlation.ExceptionLogTagger())
        app.logger.addFilter(correlation.CorrelationIdFilter())
        app.cli.add_command(cli.apierrors_cli)
        for hook in registry.INIT_HOOKS:
            hook(app)

    def _check_setup(self, what: str) -> None:
        for app in self._apps:
            if app._got_first_request:
                raise RuntimeError(
                    f"ApiErrors.{what}() was called after an app handled its first"
                    " request. Call it while setting the app up."
                )

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
        self._check_setup("override")
        check_options(options)
        entry = _Override(blueprint, dict(options), url_prefix)
        self._overrides[blueprint.name] = entry
        if url_prefix is None and not blueprint._got_registered_once:

            def remember(state: t.Any) -> None:
                if entry.url_prefix is None and state.url_prefix:
                    entry.url_prefix = state.url_prefix

            blueprint.record(remember)
        for app in self._apps:
            app_state: AppState = app.extensions["apierrors"]
            app_state._blueprint_settings.pop(blueprint.name, None)
            app_state._prefixes = None

    def register_format(self, name: str, fmt: Format | t.Callable[[Problem], t.Any]) -> None:
        """Make ``fmt`` usable by name in ``format=`` settings."""
        self._check_setup("register_format")
        self._registry[name] = build_format(fmt)

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
        self._check_setup("register_exception")

        def convert(e: BaseException, ctx: Context) -> Problem | None:
            if not isinstance(e, exc_type):
                return None
            return ctx.problem(error_code, status=status, message=message, format=format)

        self._add_converter(exc_type, convert)

    def _add_converter(self, exc_type: type[Exception], convert: Converter) -> None:
        self._exception_types[exc_type] = convert
        self._converters.insert(0, convert)
        for app in self._apps:
            app.register_error_handler(exc_type, self._handle)

    # -- handling ----------------------------------------------------------

    def problem_for(self, e: BaseException) -> Problem:
        """The :class:`Problem` for ``e`` in the current request."""
        state: AppState = current_app.extensions["apierrors"]
        req = request._get_current_object()  # type: ignore[attr-defined]
        return self._problem(e, state, state.settings_for(req.blueprints, req.path), req.path)

    def _problem(self, e: BaseException, state: AppState, settings: Settings, path: str) -> Problem:
        ctx = Context(
            catalog=state.catalog,
            settings=settings,
            correlation_id=correlation.request_state(state.settings).correlation_id,
            timestamp=_utcnow(),
            instance=path,
            debug=_debug(state),
        )
        for convert in self._converters:
            problem = convert(e, ctx)
            if problem is not None:
                return problem
        for convert in registry.CONVERTERS:
            problem = convert(e, ctx)
            if problem is not None:
                return problem
        # Not an error we know: treat it as unhandled.
        return wz.convert_internal_error(_as_internal(e), ctx) or ctx.problem(
            "internal_server_error"
        )

    def _handle(self, e: BaseException) -> Response | HTTPException:
        response = getattr(e, "response", None)
        if isinstance(e, HTTPException) and response is not None:
            # The raiser built the exact response it wants (abort(response),
            # flask-limiter's on_breach ...): keep it.
            return e
        try:
            state: AppState = current_app.extensions["apierrors"]
            req = request._get_current_object()  # type: ignore[attr-defined]
            settings = state.settings_for(req.blueprints, req.path)
            problem = self._problem(e, state, settings, req.path)
            response = self._respond(problem, state, settings, req.environ)
            _log(problem, e, settings)
            return response
        except Exception:
            return _fallback_response()

    def make_response(self, problem: Problem) -> Response:
        """Render ``problem`` in the format the request calls for."""
        state: AppState = current_app.extensions["apierrors"]
        req = request._get_current_object()  # type: ignore[attr-defined]
        settings = state.settings_for(req.blueprints, req.path)
        return self._respond(problem, state, settings, req.environ)

    def _respond(
        self,
        problem: Problem,
        state: AppState,
        settings: Settings,
        environ: t.Mapping[str, t.Any],
    ) -> Response:
        fmt_spec = problem.format or settings.format
        if settings.problem_on_accept and _prefers_problem_json(environ):
            fmt_spec = "problem"
        fmt = state.format_for(fmt_spec, settings)
        body = dumps(fmt.render(problem))
        response = Response(body, status=problem.status, mimetype=fmt.media_type)
        headers = response.headers
        for name, value in problem.headers:
            if name.lower() == "www-authenticate":
                headers.add(name, value)
            else:
                headers[name] = value
        return response


def _debug(state: AppState) -> bool:
    app = state.app_ref()
    return app is not None and app.debug


def _as_internal(e: BaseException) -> HTTPException:
    from werkzeug.exceptions import InternalServerError

    return InternalServerError(original_exception=e)


def _prefers_problem_json(environ: t.Mapping[str, t.Any]) -> bool:
    accept = environ.get("HTTP_ACCEPT", "")
    if "problem+json" not in accept:
        return False
    mimetypes = MIMEAccept(parse_accept_header(accept))
    problem = mimetypes.quality(PROBLEM_JSON)
    return problem > 0 and problem > mimetypes["application/json"]


def _on_exception(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    # Sent by Flask before it logs the traceback of an unhandled exception:
    # create the error id now, so the log line and the 500 body share it.
    state = correlation.request_state()
    state.unhandled = True
    correlation.get_error_id()


def _log(problem: Problem, e: BaseException, settings: Settings) -> None:
    """5xx at ERROR (once: Flask already logged unhandled tracebacks), except
    503s, which maintenance, overload and limiter outages answer on purpose,
    at WARNING; 4xx at INFO when ``log_client_errors`` is on."""
    state = correlation.request_state()
    if problem.status >= 500:
        if state.unhandled:
            return
        cause = e.__cause__ if isinstance(e, HTTPException) else e
        current_app.logger.log(
            logging.WARNING if problem.status == 503 else logging.ERROR,
            "%s %s: %s [error_id=%s correlation_id=%s]",
            problem.status,
            correlation.escape_log(problem.code),
            correlation.escape_log(problem.message),
            state.error_id or "-",
            state.correlation_id,
            exc_info=cause if cause is not None else None,
        )
    elif settings.log_client_errors:
        current_app.logger.info(
            "%s %s: %s [correlation_id=%s]",
            problem.status,
            correlation.escape_log(problem.code),
            correlation.escape_log(problem.message),
            state.correlation_id,
        )


def _fallback_response() -> Response:
    """A JSON 500 when rendering an error failed; it cannot fail itself."""
    error_id = correlation.new_id("err_")
    cid = None
    try:
        state = correlation.request_state()
        cid = state.correlation_id
        error_id = state.error_id or error_id
        state.error_id = error_id
    except Exception:  # pragma: no cover - no app/request state at all
        pass
    logger.exception("Rendering an error failed [error_id=%s correlation_id=%s]", error_id, cid)
    body = {
        "error": "internal_server_error",
        "message": "An unexpected error occurred",
        "details": {
            "error_id": error_id,
            "support_message": "Please contact support with this error ID",
        },
        "timestamp": _utcnow(),
    }
    if cid is not None:
        body["correlation_id"] = cid
    # The middleware adds the correlation id header.
    return Response(json.dumps(body), status=500, mimetype="application/json")
