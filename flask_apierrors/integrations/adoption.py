"""What the integrations of existing frameworks and auth extensions share.

- :func:`take_over`: ApiErrors answers an exception class in place of the
  handler a framework registered on the app for that exact class
  (Flask tries a class's own handler before its bases', so ApiErrors'
  ``HTTPException`` handler never sees those errors). The replaced handler
  is kept in :attr:`AppState.displaced <flask_apierrors.state.AppState.displaced>`,
  so it still answers where ApiErrors is turned off; a handler of the app's
  own for the class keeps answering (:func:`defined_by` tells them apart).
- :func:`applies`: ApiErrors answers the errors of the current request.
- :func:`located_errors`: field errors from messages keyed by request
  location (``{"json": {"name": [...]}}``), as webargs, APIFlask and
  APIFairy report them.
- :func:`chained_data`: the submitted data a chained marshmallow
  ``ValidationError`` knows, to echo invalid values.
- :func:`convert_abort`: the ``abort(status, message=..., errors=...)`` of
  webargs (re-exported by flask-smorest), flask-restx and Flask-RESTful,
  which keep their arguments in ``e.data``.
- :func:`framework_plugin`: the plug-in of a framework integration;
  :func:`ignored_callbacks` names the app's callbacks it answers in place of.

Nothing here imports an optional library at import time: plug-in modules
are imported whenever an :class:`~flask_apierrors.ApiErrors` is created.

.. versionadded:: 0.2
"""

from __future__ import annotations

import logging
import typing as t
from collections import abc
from importlib.util import find_spec

from flask import has_request_context
from flask import request
from werkzeug.exceptions import HTTPException

from ..coexistence import app_handlers
from ..coexistence import handler_name
from ..configvalues import is_text
from ..plugins import Plugin
from ..problem import MISSING
from ..problem import FieldError
from .fielderrors import SCHEMA_KEY
from .fielderrors import Segment
from .fielderrors import flatten_locations
from .fielderrors import format_path
from .fielderrors import message_text
from .fielderrors import scrubbed_messages
from .fielderrors import validation_problem
from .fielderrors import with_sources
from .werkzeug import abort_headers
from .werkzeug import convert_http_exception

if t.TYPE_CHECKING:
    from flask import Flask

    from ..config import Settings
    from ..problem import Problem
    from ..state import AppState
    from .base import Context
    from .base import Converter

__all__ = [
    "ABORT_EXTRAS",
    "LOCATIONS",
    "SCHEMA_KEY",
    "app_handler",
    "applies",
    "by_location",
    "chained",
    "chained_data",
    "convert_abort",
    "defined_by",
    "flat_errors",
    "framework_plugin",
    "ignored_callbacks",
    "located_errors",
    "nest_dotted",
    "nest_paths",
    "plain_errors",
    "split_path",
    "take_over",
    "validation_problem",
]

#: The request locations of webargs, APIFlask and APIFairy (the keys of
#: their validation messages).
LOCATIONS: t.Final = frozenset(
    {
        "json",
        "query",
        "querystring",
        "form",
        "headers",
        "cookies",
        "files",
        "json_or_form",
        "form_and_files",
        "path",
        "view_args",
    }
)

#: Request environ key: the error is answered for an Api that showed every
#: keyword of its ``abort`` in the body (Flask-RESTful's, flask-restx's).
ABORT_EXTRAS: t.Final = "flask_apierrors.abort_extras"


def app_handler(app: Flask, exc_type: type[Exception]) -> t.Callable[..., t.Any] | None:
    """The app-wide handler registered for exactly ``exc_type``, if any."""
    return app_handlers(app).get(exc_type)


def defined_by(handler: t.Any, package: str) -> bool:
    """``handler`` is a function (or method) of ``package`` or of one of its
    modules: a framework's own, not the app's."""
    module = str(getattr(handler, "__module__", None) or "")
    return module == package or module.startswith(package + ".")


def take_over(
    state: AppState, exc_type: type[Exception], convert: Converter | None, *, framework: str
) -> None:
    """Render ``exc_type`` errors with ``convert`` (if given), through
    ApiErrors' handler in place of the one ``framework`` (its package)
    registered on the app for that class
    (:meth:`AppState.take_over <flask_apierrors.state.AppState.take_over>`).

    A handler of the app's own for that class (defined outside
    ``framework``, before or after ApiErrors) is left to answer, as the
    app's handlers for any narrower class are."""
    current = app_handler(state.app, exc_type)
    if current is None or current == state.handler or defined_by(current, framework):
        state.take_over(exc_type, convert)


def framework_plugin(
    name: str,
    module: str,
    setup: t.Callable[[AppState], None],
    *,
    check: t.Callable[[AppState], None] | None = None,
) -> Plugin | None:
    """The plug-in of a framework integration, ``None`` without ``module``:
    ``setup`` runs at ``init_app`` and again at the first request (for a
    framework set up after ApiErrors), then ``check``. (The frameworks'
    ``abort(...)`` are rendered on every app by :func:`convert_abort`:
    :func:`~flask_apierrors.integrations.restful.aborts_plugin`.)"""
    if find_spec(module) is None:  # pragma: no cover - optional
        return None

    def setup_app(state: AppState) -> None:
        setup(state)
        state.on_first_request(setup)
        if check is not None:
            state.on_first_request(check)

    return Plugin(name, setup=setup_app, order=20)


def ignored_callbacks(
    state: AppState, library: str, callbacks: t.Iterable[tuple[str, t.Any]]
) -> None:
    """Log, at WARNING, the app's own error callbacks of ``library``
    (``(decorator, callback)`` pairs) that ApiErrors answers in place of:
    they answer only where ApiErrors is off. One line, at the first request."""
    named = [f"@{where} {handler_name(f)}" for where, f in callbacks]
    if named:
        logging.getLogger("flask_apierrors").warning(
            "%s callbacks of app %r answer only where ApiErrors is off: %s. ApiErrors answers"
            " those errors; register a converter for an error's class to change its body"
            " (errors.register_converter), or turn ApiErrors off for their blueprint"
            " (errors.override(blueprint, enabled=False)).",
            library,
            state.app.name,
            ", ".join(named),
        )


def applies(state: AppState | None) -> bool:
    """ApiErrors is set up (``state``) and turned on for the current request."""
    if state is None or not has_request_context():
        return False
    return bool(state.scope_for(request.blueprints, request.path).settings.enabled)


def by_location(messages: t.Any) -> bool:
    """``messages`` are keyed by request location: every key is one of
    :data:`LOCATIONS` and a value is a mapping of fields (a list under a
    location is an error about that whole location)."""
    return (
        isinstance(messages, abc.Mapping)
        and bool(messages)
        and all(key in LOCATIONS for key in messages)
        and any(isinstance(value, abc.Mapping) for value in messages.values())
    )


def located_errors(
    messages: t.Mapping[t.Any, t.Any],
    ctx: Context,
    *,
    data: t.Any = MISSING,
    with_location: bool = True,
) -> tuple[list[FieldError], int]:
    """Field errors of messages keyed by request location, each entry naming
    its location (unless ``with_location`` is off), at most
    ``max_validation_errors`` in all.

    :param data: The submitted data of the location that failed (frameworks
        stop at the first location that fails), to echo invalid values;
        ignored when several locations are reported.
    :returns: The entries and the total number of errors.
    """
    single = len(messages) == 1

    def flatten(location: t.Any, found: t.Any, limit: int) -> tuple[list[FieldError], int]:
        return flat_errors(
            found,
            ctx.settings,
            data=data if single else MISSING,
            location=str(location) if with_location else None,
            limit=limit,
        )

    return flatten_locations(messages, ctx.settings.max_validation_errors, flatten)


def chained(e: BaseException, accept: t.Callable[[BaseException], bool]) -> BaseException | None:
    """The first exception behind ``e`` (its cause or context, a few levels
    deep) that ``accept`` accepts."""
    current = e.__cause__ or e.__context__
    for _ in range(4):
        if current is None or accept(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def chained_data(e: BaseException) -> t.Any:
    """The data a marshmallow ``ValidationError`` behind ``e`` was given
    (frameworks raise their own exception while handling it), else
    :data:`~flask_apierrors.problem.MISSING`."""
    try:
        from marshmallow import ValidationError
    except ImportError:  # pragma: no cover - marshmallow is an extra
        return MISSING
    data = getattr(chained(e, lambda c: isinstance(c, ValidationError)), "data", None)
    return MISSING if data is None else data


# -- field errors ----------------------------------------------------------------------------


def flat_errors(
    messages: t.Any,
    settings: Settings,
    *,
    data: t.Any = MISSING,
    location: str | None = None,
    limit: int | None = None,
) -> tuple[list[FieldError], int]:
    """marshmallow-style ``messages`` (nested mappings of lists of texts) as
    at most ``limit`` entries and the total number of errors: with the
    marshmallow integration's rules (values echoed and redacted, texts cut)
    when marshmallow is installed, else :func:`plain_errors`; the texts
    scrubbed first (:func:`~.fielderrors.scrubbed_messages`)."""
    messages = scrubbed_messages(messages, settings)
    try:
        from .marshmallow import field_errors
    except ImportError:  # pragma: no cover - marshmallow is an extra (restx apps)
        return plain_errors(messages, settings, location=location, limit=limit)
    return field_errors(messages, settings, data=data, location=location, limit=limit)


def plain_errors(
    messages: t.Any,
    settings: Settings,
    *,
    location: str | None = None,
    limit: int | None = None,
) -> tuple[list[FieldError], int]:
    """:func:`flat_errors` without marshmallow: paths and texts only."""
    limit = settings.max_validation_errors if limit is None else limit
    found: list[FieldError] = []
    total = 0

    def walk(node: t.Any, path: tuple[Segment, ...]) -> None:
        nonlocal total
        if isinstance(node, abc.Mapping):
            for key, value in node.items():
                walk(value, path if key == SCHEMA_KEY else (*path, key))
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item, path)
        else:
            total += 1
            if len(found) < limit:
                field = format_path(path) if path else settings.schema_error_field
                found.append(FieldError(field=field, message=message_text(node), location=location))

    walk(messages, ())
    return found, total


def split_path(key: t.Any) -> tuple[t.Any, ...]:
    """``"items.0.name"`` -> ``("items", 0, "name")`` (flask-restx and
    APIFlask's pydantic errors spell paths with dots)."""
    if not isinstance(key, str) or "." not in key.strip("."):
        return (key,)
    return tuple(int(part) if part.isdigit() else part for part in key.split(".") if part)


def nest_dotted(messages: t.Mapping[t.Any, t.Any]) -> dict[t.Any, t.Any]:
    """``{"address.city": [...]}`` -> ``{"address": {"city": [...]}}``."""
    return nest_paths((split_path(key), value) for key, value in messages.items())


def nest_paths(pairs: t.Iterable[tuple[t.Sequence[t.Any], t.Any]]) -> dict[t.Any, t.Any]:
    """Messages by path as marshmallow nests them: ``(("address", "city"),
    [...])`` -> ``{"address": {"city": [...]}}``; a path that is also the
    parent of another keeps its messages under ``_schema``, as does the
    empty path."""
    root: dict[t.Any, t.Any] = {}
    for path, value in pairs:
        if not path:
            path = (SCHEMA_KEY,)
        *parents, last = path
        node = root
        for segment in parents:
            child = node.get(segment)
            if not isinstance(child, dict):
                child = node[segment] = {} if child is None else {SCHEMA_KEY: child}
            node = child
        current = node.get(last)
        if isinstance(current, dict) and not isinstance(value, abc.Mapping):
            current[SCHEMA_KEY] = value
        elif isinstance(value, abc.Mapping):
            node[last] = {**(current if isinstance(current, dict) else {}), **value}
        else:
            node[last] = value
    return root


# -- abort(status, **data) ------------------------------------------------------------------


def convert_abort(e: BaseException, ctx: Context) -> Problem | None:
    """An ``HTTPException`` raised with the ``abort`` of webargs
    (flask-smorest's), flask-restx or Flask-RESTful: status, ``message``,
    ``headers`` and the field errors of ``errors`` (``messages``, or a
    ``message`` by field: Flask-RESTful's reqparse) kept, by location or by
    field; the other keywords as details where :data:`ABORT_EXTRAS` is set.

    Field errors make a ``validation_error`` with the status given, as
    webargs' ``error_status_code=`` does. The 422 webargs' parser raises is
    not converted here (it carries the ``ValidationError`` as ``e.exc``,
    and the schema). A 5xx has no field errors: a mapping there is the
    server's data, not a client's mistakes.
    """
    if not isinstance(e, HTTPException):
        return None
    data = getattr(e, "data", None)
    if not isinstance(data, abc.Mapping) or "schema" in data or getattr(e, "exc", None) is not None:
        return None  # the parser's own 422: the webargs converter's
    raw = data.get("message")
    # Text, lazy text too; a mapping is a message by field.
    message = raw if is_text(raw) and raw else None
    problem = convert_http_exception(e, ctx)
    assert problem is not None  # e is an HTTPException
    extras_shown = ctx.request is not None and bool(ctx.request.environ.get(ABORT_EXTRAS))
    # A message by field: reqparse's 400, or on a Flask-RESTful route.
    by_field = extras_shown or problem.status in (400, 422)
    messages = data.get("errors", data.get("messages", raw if by_field else None))
    if isinstance(messages, abc.Mapping) and messages and problem.status < 500:
        if by_location(messages):
            errors, total = located_errors(
                {
                    k: nest_dotted(v) if isinstance(v, abc.Mapping) else {SCHEMA_KEY: v}
                    for k, v in messages.items()
                },
                ctx,
                # As webargs' own errors: locations named when several.
                with_location=len(messages) > 1,
            )
        else:
            errors, total = flat_errors(nest_dotted(messages), ctx.settings)
            errors = with_sources(errors, ctx.request)
        problem = validation_problem(ctx, errors, total, status=problem.status)
    if message:
        problem = problem.replace(message=ctx.text(message, problem.message))
    if extras_shown:
        known = ("message", "errors", "messages", "headers")
        extras = {str(k): v for k, v in data.items() if k not in known}
        problem = problem.replace(details={**extras, **problem.details})
    return problem.replace(
        headers=tuple(abort_headers(e)), description=str(message) if message else e.description
    )
