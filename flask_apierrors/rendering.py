"""From an exception to a response: one Context per error, the converter
chain, the format, JSON through one encoder, the one error log line, and
the fallback body when rendering itself fails.

Data flows one way: exception -> converter(exception, Context) -> Problem ->
Format -> response. Used by the extension's handler and by every feature
that renders an error outside it (event streams).
"""

from __future__ import annotations

import json
import logging
import typing as t

from flask import Response
from flask import got_request_exception
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.http import parse_accept_header

from . import correlation
from .catalog import reason_phrase
from .config import Settings
from .formats import PROBLEM_JSON
from .formats import ErrorFormat
from .integrations.base import Context
from .jsonbody import dumps as dumps
from .jsonbody import encode as encode
from .problem import Problem
from .statuses import code_for_status
from .timeutil import now_text

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request

    from .formats import Format
    from .state import AppState
    from .state import Scope

logger = logging.getLogger("flask_apierrors")


def context(state: AppState, scope: Scope, req: Request | None) -> Context:
    """The :class:`Context` of one error of ``req`` (``None``: outside a request)."""
    app = state.app
    ids = correlation.environ_state(req.environ, state.settings) if req is not None else None
    translate: t.Callable[[str], t.Any] | None = scope.settings.translate
    if translate is None and "babel" in app.extensions:
        # flask-babel set up on the app: its gettext, in the request's locale.
        from flask_babel import gettext

        translate = gettext
    return Context(
        catalog=state.catalog,
        settings=scope.settings,
        correlation_id=ids.correlation_id if ids is not None else None,
        timestamp=now_text(),
        instance=req.path if req is not None else None,
        debug=app.debug,
        request=req,
        ids=ids,
        scope=scope,
        translate=translate,
    )


def problem_for(e: BaseException, state: AppState, ctx: Context) -> Problem:
    """The first Problem a converter of ``state`` makes of ``e``. An error no
    converter knows is an unhandled one: its Problem is the one Flask's own
    path gives, from the converters of the ``InternalServerError`` wrapping
    it (an HTTP client's failure is a 502 there, anything else a 500)."""
    for convert in state.converters_for(type(e)):
        problem = convert(e, ctx)
        if problem is not None:
            return problem if problem.timestamp is not None else _with_request_facts(problem, ctx)
    # An InternalServerError never gets here: convert_internal_error (last
    # but one of every chain) answers it.
    return problem_for(InternalServerError(original_exception=e), state, ctx)


def _with_request_facts(problem: Problem, ctx: Context) -> Problem:
    """A Problem a converter built itself (not with ``ctx.problem``) gets
    the facts ``ctx.problem`` gives every record: the time, the correlation
    id, the path and the status's title."""
    include = ctx.settings.include_correlation_id
    return problem.replace(
        timestamp=ctx.timestamp,
        correlation_id=problem.correlation_id or (ctx.correlation_id if include else None),
        instance=problem.instance or ctx.instance,
        title=problem.title or reason_phrase(problem.status),
    )


#: How much of an ``Accept`` header is read to choose the format.
MAX_ACCEPT: t.Final = 4096


def choose_format(
    state: AppState, problem: Problem, settings: Settings, environ: t.Mapping[str, t.Any]
) -> Format:
    """The format ``problem`` is rendered in for this request: the code's own,
    else the scope's, else ``problem`` when the client prefers it."""
    spec = problem.format or settings.format
    accept = environ.get("HTTP_ACCEPT", "") if settings.problem_on_accept else ""
    if len(accept) > MAX_ACCEPT:
        # A header of hundreds of KB (many joined) parses for tenths of a
        # second: its first entries, whole, are what any client means.
        accept = accept[:MAX_ACCEPT].rpartition(",")[0]
    if "problem+json" in accept.lower():  # media types ignore case
        # Parameters (``; charset=utf-8``) aside: Werkzeug matches none with them.
        mimetypes = MIMEAccept(
            (value.partition(";")[0].strip(), q) for value, q in parse_accept_header(accept)
        )
        quality = mimetypes.quality(PROBLEM_JSON)
        if quality > 0 and quality > mimetypes["application/json"]:
            spec = "problem"
    return state.format_for(spec, settings)


def body_of(state: AppState, problem: Problem, settings: Settings, environ: t.Any) -> t.Any:
    """The JSON-ready body of ``problem`` (as :func:`respond` sends it)."""
    return choose_format(state, problem, settings, environ).render(problem)


def respond(
    state: AppState, problem: Problem, settings: Settings, environ: t.Mapping[str, t.Any]
) -> Response:
    """The response for ``problem``: its format's body, the app's JSON
    settings, the problem's headers."""
    fmt = choose_format(state, problem, settings, environ)
    data = encode(state.app, fmt.render(problem))
    response = Response(data, status=problem.status, mimetype=fmt.media_type)
    headers = response.headers
    for name, value in problem.headers:
        if name.lower() == "www-authenticate":
            headers.add(name, value)
        else:
            headers[name] = value
    return response


def redirect_body(
    state: AppState, req: Request, status: int, location: str
) -> tuple[bytes, str] | None:
    """The body of a routing redirect (a missing trailing slash ...) in the
    format of the request's scope, where ApiErrors is on there: clients of a
    JSON API get JSON, with the target in ``details.location``."""
    scope = state.scope_for(req.blueprints, req.path)
    settings = scope.settings
    if not settings.enabled:
        return None
    title = reason_phrase(status)
    problem = Problem(
        status=status,
        code=code_for_status(status),
        message="This resource is at the URL in the Location header.",
        title=title,
        details={"location": location},
        correlation_id=(
            correlation.environ_state(req.environ, state.settings).correlation_id
            if settings.include_correlation_id
            else None
        ),
        timestamp=now_text(),
        instance=req.path,
    )
    fmt = choose_format(state, problem, settings, req.environ)
    return encode(state.app, fmt.render(problem)), fmt.media_type


# -- logging and the fallback -------------------------------------------------------------------


def log_problem(
    app_logger: logging.Logger,
    problem: Problem,
    e: BaseException | None,
    ids: correlation.RequestState | None,
    *,
    log_client_errors: bool = False,
) -> None:
    """The one log line of a rendered error: 5xx at ERROR with the traceback
    of the exception (it shows its cause), once per request (Flask logged
    unhandled ones itself); 503s, deliberate answers of maintenance,
    overload and limiter outages, at WARNING with the traceback of a cause
    only; 4xx at INFO when ``log_client_errors`` is on."""
    cid = ids.correlation_id if ids is not None else "-"
    if problem.status >= 500:
        if ids is not None and ids.unhandled:
            return
        # At ERROR, the exception got_request_exception reports: monitoring
        # that reads log records (Sentry's logging integration) sees the
        # same exception, and keeps one event.
        level = logging.WARNING if problem.status == 503 else logging.ERROR
        if level == logging.WARNING and isinstance(e, HTTPException):
            e = e.__cause__
        app_logger.log(
            level,
            "%s %s: %s [error_id=%s correlation_id=%s]",
            problem.status,
            correlation.escape_log(problem.code),
            correlation.escape_log(problem.message),
            (ids.error_id if ids is not None else None) or "-",
            cid,
            exc_info=e,
        )
    elif log_client_errors:
        app_logger.info(
            "%s %s: %s [correlation_id=%s]",
            problem.status,
            correlation.escape_log(problem.code),
            correlation.escape_log(problem.message),
            cid,
        )


def report(
    app: Flask,
    problem: Problem,
    e: BaseException,
    ids: correlation.RequestState | None,
    *,
    log_client_errors: bool = False,
    app_logger: logging.Logger | None = None,
) -> None:
    """Log a rendered error (:func:`log_problem`) and, for a 5xx, tell
    monitoring once: Sentry, Rollbar, OpenTelemetry ... listen to Flask's
    ``got_request_exception``, which Flask sends only for the errors it
    found unhandled. Not for an error whose class says it is no fault
    (:attr:`ApiError.monitored <flask_apierrors.ApiError.monitored>`)."""
    log_problem(app_logger or app.logger, problem, e, ids, log_client_errors=log_client_errors)
    monitored = getattr(e, "monitored", True) is not False
    if problem.status >= 500 and ids is not None and not ids.unhandled and monitored:
        ids.unhandled = True
        ids.signalled = e
        got_request_exception.send(app, _async_wrapper=app.ensure_sync, exception=e)


def fallback_problem(state: AppState | None, ids: correlation.RequestState | None) -> Problem:
    """The 500 sent when rendering an error failed: no converter involved."""
    settings = state.settings if state is not None else Settings()
    include = settings.include_correlation_id
    return Problem(
        status=500,
        code="internal_server_error",
        message="An unexpected error occurred",
        title="Internal Server Error",
        details={
            "error_id": (
                correlation.error_id_of(ids, settings)
                if ids is not None
                else correlation.new_id(settings.error_id_prefix)
            ),
            "support_message": settings.support_message,
        },
        correlation_id=ids.correlation_id if ids is not None and include else None,
        timestamp=now_text(),
    )


def fallback_response(
    state: AppState | None,
    environ: t.MutableMapping[str, t.Any] | None,
    what: str = "Rendering an error failed",
    *,
    traceback: bool = True,
) -> Response:
    """A JSON 500 in the app's format when rendering an error failed (or an
    exception escaped the app); it cannot fail itself (the ``error``
    format's body is the last resort). Logs ``what``, with the traceback
    unless told not to."""
    ids = environ.get(correlation.ENVIRON_KEY) if environ is not None else None
    if ids is None and environ is not None and state is not None:
        ids = correlation.environ_state(environ, state.settings)
    problem = fallback_problem(state, ids)
    logger.error(
        "%s [error_id=%s correlation_id=%s]",
        what,
        problem.details["error_id"],
        problem.correlation_id,
        exc_info=traceback,
    )
    body: str | bytes | None = None
    mimetype = "application/json"
    if state is not None:
        try:
            fmt = state.format_for(state.settings.format, state.settings)
            body, mimetype = encode(state.app, fmt.render(problem)), fmt.media_type
        except Exception:  # noqa: S110 - the last resort below
            pass
    if body is None:
        body = json.dumps(ErrorFormat().render(problem))
    # The middleware adds the correlation id header.
    return Response(body, status=500, mimetype=mimetype)
