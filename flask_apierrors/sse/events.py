"""Server-Sent Events: the framing of one event, and the ``error`` event an
exception or a :class:`~flask_apierrors.Problem` becomes, rendered as the
error handler renders a response (:mod:`flask_apierrors.rendering`).

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import typing as t
from collections import abc

from flask import Flask
from flask import current_app
from flask import has_app_context
from flask import has_request_context
from flask import request

from .. import rendering
from ..correlation import ENVIRON_KEY
from ..extension import ApiErrors
from ..problem import Problem
from ..state import find_state
from ..state import get_state

if t.TYPE_CHECKING:
    from flask import Request

    from ..state import AppState
    from ..state import Scope

#: The media type of a Server-Sent Events stream.
EVENT_STREAM: t.Final = "text/event-stream"

#: Keys of the ``error`` event's data that app context cannot replace.
RESERVED_KEYS: t.Final = frozenset({"code", "message", "details", "correlation_id"})

#: Attribute :func:`event_context` keeps an exception's context in.
_CONTEXT_ATTR: t.Final = "apierrors_event_context"

#: What ends a line in an event stream (and nothing else: ``str.splitlines``
#: also splits at U+2028, U+0085 ..., which JSON text may hold unescaped).
_LINE_BREAK: t.Final = re.compile(r"\r\n|\r|\n")

logger = logging.getLogger("flask_apierrors")


def _check_field(name: str, value: str) -> str:
    if _LINE_BREAK.search(value):
        raise ValueError(f"An SSE {name} cannot contain a line break: {value!r}.")
    return value


def sse_event(
    data: t.Any,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> str:
    """One Server-Sent Event, with its blank-line terminator.

    :param data: A string (each of its lines becomes a ``data:`` line) or
        anything JSON can encode, written as the current app writes its
        JSON (its provider's key order, spacing and types; compact, keys in
        the given order, outside an app).
    :param event: The event name (``event:`` line); ``None`` for none.
    :param id: The event id (``id:`` line).
    :param retry: The client's reconnection delay in milliseconds.
    :raises ValueError: ``event`` or ``id`` contains a line break.
    """
    lines = []
    if event is not None:
        lines.append("event: " + _check_field("event name", event))
    if id is not None:
        lines.append("id: " + _check_field("event id", id))
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    text = data if isinstance(data, str) else _json(data)
    lines.extend("data: " + line for line in _LINE_BREAK.split(text))
    return "\n".join(lines) + "\n\n"


def _json(data: t.Any) -> str:
    # Always valid JSON: lone surrogates and NaN are escaped or replaced.
    return rendering.encode(current_app if has_app_context() else None, data).decode("utf-8")


def close_event(reason: str = "error") -> str:
    """The ``event: close`` that ends a stream, ``{"reason": reason}``."""
    return sse_event(rendering.dumps({"reason": reason}), event="close")


def _check_context(context: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    clash = RESERVED_KEYS.intersection(context)
    if clash:
        raise ValueError(
            f"Event context cannot set {', '.join(sorted(clash))}: they come from the error."
            " Pass other names (file_id, job_id ...)."
        )
    return dict(context)


@contextlib.contextmanager
def event_context(**context: t.Any) -> t.Iterator[None]:
    """Attach ``context`` to any exception raised inside the block, for the
    ``error`` event it may become::

        for item in batch.items:
            with event_context(item_id=item.id):
                result = process(item)
            yield sse_event({"item_id": item.id, "status": "done"}, event="progress")

    Nested blocks add their keys; the innermost value of a key wins. The
    exception propagates unchanged.

    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    checked = _check_context(context)
    try:
        yield
    except Exception as e:
        merged = {**checked, **(getattr(e, _CONTEXT_ATTR, None) or {})}
        with contextlib.suppress(AttributeError, TypeError):
            setattr(e, _CONTEXT_ATTR, merged)
        raise


def spelled_code(body: t.Any, code: str) -> str:
    """``code`` as a rendered error ``body`` spells it (``NOT_FOUND`` where
    the format upper-cases codes): the first string equal to ``code`` but
    for case, top level first and, on each level, under a key naming a code
    (``code``, ``error_code``, ``error``) first; ``code`` itself if there
    is none."""
    wanted = code.lower()
    level = [body]
    while level:
        nested: list[t.Any] = []
        for mapping in (item for item in level if isinstance(item, abc.Mapping)):
            # Stable: the order of the body, keys naming a code first.
            items = sorted(mapping.items(), key=lambda kv: not _names_a_code(kv[0]))
            for _, value in items:
                if isinstance(value, str) and value.lower() == wanted:
                    return value
                nested.append(value)
        level = nested
    return code


def _names_a_code(key: t.Any) -> bool:
    return isinstance(key, str) and (key == "error" or key.endswith("code"))


def event_data(
    problem: Problem,
    *,
    body: t.Any = None,
    context: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """The data of the ``error`` event of ``problem``:
    ``{"code", "message", "details"?, **context, "correlation_id"?}``.

    :param problem: The error.
    :param body: Its HTTP body, rendered in the request's format: the code is
        spelled as the body spells it (:func:`spelled_code`).
    :param context: App context shown at the top level (``item_id`` ...).
    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    data: dict[str, t.Any] = {
        "code": spelled_code(body, problem.code) if body is not None else problem.code,
        "message": problem.message,
    }
    details = problem.public_details()
    if details:
        data["details"] = details
    data.update(_check_context(context or {}))
    if problem.correlation_id is not None:
        data["correlation_id"] = problem.correlation_id
    return data


class _Target(t.NamedTuple):
    """Where an error is rendered: the app's state and scope, the request."""

    state: AppState
    scope: Scope
    request: Request | None
    environ: t.MutableMapping[str, t.Any]


@functools.cache
def _default_app() -> Flask:
    """Renders the errors of streams in apps without ApiErrors: the built-in
    catalog and the default settings, without a correlation id (no
    response header would carry it)."""
    app = Flask(__name__)
    ApiErrors(app, include_correlation_id=False)
    return app


def _target() -> _Target:
    state = find_state() if has_app_context() else None
    if state is None:
        state = get_state(_default_app())
    if not has_request_context():
        return _Target(state, state.scope, None, {})
    scope = state.scope_for(request.blueprints, request.path)
    return _Target(state, scope, request, request.environ)


def _render(
    error: BaseException | Problem, context: t.Mapping[str, t.Any], target: _Target
) -> tuple[Problem, dict[str, t.Any]]:
    """The Problem of ``error`` (an exception goes through the app's
    converters) and its event data, spelled as its HTTP body."""
    if isinstance(error, Problem):
        problem = error
    else:
        ctx = rendering.context(target.state, target.scope, target.request)
        problem = rendering.problem_for(error, target.state, ctx)
        context = {**context, **(getattr(error, _CONTEXT_ATTR, None) or {})}
    body = rendering.body_of(target.state, problem, target.scope.settings, target.environ)
    return problem, event_data(problem, body=body, context=context)


def error_data(error: BaseException | Problem, **context: t.Any) -> dict[str, t.Any]:
    """The JSON data of an ``error`` event (:func:`event_data`): the code,
    message and details the HTTP body of ``error`` would carry, with the
    code spelled as the request's format spells it.

    :param error: An exception (rendered by the current app's converters;
        without ApiErrors, by the built-in ones) or a ready
        :class:`~flask_apierrors.Problem`.
    :param context: App context shown at the top level (``item_id`` ...);
        context attached with :func:`event_context` wins over it.
    :raises ValueError: ``context`` uses a key of :data:`RESERVED_KEYS`.
    """
    return _render(error, _check_context(context), _target())[1]


def error_events(error: BaseException | Problem, **context: t.Any) -> str:
    """``event: error`` with :func:`error_data`, then ``event: close`` with
    ``{"reason": "error"}``: what a stream sends when it fails.

    :param error: An exception or a :class:`~flask_apierrors.Problem`.
    :param context: App context for the data (``item_id`` ...).
    """
    return _pair(error_data(error, **context))


def _pair(data: t.Any) -> str:
    return sse_event(data, event="error") + close_event("error")


def _logger() -> logging.Logger:
    return current_app.logger if has_app_context() else logger


def failure_events(e: BaseException, context: t.Mapping[str, t.Any]) -> str:
    """The event pair that ends a stream ``e`` broke, logged with the error
    handler's log line (error id and correlation id included). Never raises:
    if rendering fails, the pair of the app's fallback 500."""
    target = None
    try:
        target = _target()
        problem, data = _render(e, context, target)
        text = _pair(data)
        rendering.report(
            target.state.app,
            problem,
            e,
            target.environ.get(ENVIRON_KEY),
            log_client_errors=target.scope.settings.log_client_errors,
            app_logger=_logger(),
        )
        return text
    except Exception as failure:
        return _fallback_events(target, failure)


def _fallback_events(target: _Target | None, failure: Exception) -> str:
    state = target.state if target is not None else None
    ids = target.environ.get(ENVIRON_KEY) if target is not None else None
    problem = rendering.fallback_problem(state, ids)
    rendering.log_problem(_logger(), problem, failure, ids)
    body = None
    if target is not None:
        with contextlib.suppress(Exception):
            body = rendering.body_of(target.state, problem, target.scope.settings, target.environ)
    # Strings only: this cannot fail to encode.
    return _pair(rendering.dumps(event_data(problem, body=body)))
