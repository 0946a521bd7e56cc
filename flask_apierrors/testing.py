"""Test helpers for apps that use flask-apierrors.

:func:`assert_api_error` checks an error response against the app's own
configuration (its format, per blueprint; its catalog; its correlation id
settings), so a test says only what matters::

    def test_missing_item(client, app):
        response = client.get("/items/nope")
        error = assert_api_error(response, "item_not_found", app=app)
        assert error.details["item_id"] == "nope"

As a pytest plugin (``pytest_plugins = ["flask_apierrors.testing"]`` in
``conftest.py``) it adds an ``assert_api_error`` fixture bound to your
``app`` fixture. It reads nothing of the request but the response (ids
included), so it works as well in a ``unittest`` suite that keeps one app
context pushed across its requests.

.. versionadded:: 0.1
"""

from __future__ import annotations

import types
import typing as t

from flask import has_app_context
from flask import request

from .catalog import reason_phrase
from .client import ApiClientError
from .client import _fields_of
from .client import parse_error
from .docgen import effective_status
from .docgen import render
from .errors import ApiError
from .formats import BUILTIN
from .formats import PROBLEM_JSON
from .problem import Problem
from .rendering import dumps
from .sse import spelled_code
from .state import find_state

if t.TYPE_CHECKING:
    from flask import Flask

    from .config import Settings
    from .formats import Format
    from .state import AppState

__all__ = ["assert_api_error", "expected_body"]

_JSON_TYPES: t.Final = ("application/json", PROBLEM_JSON)
#: Keys of the body shapes the client understands.
_KNOWN_KEYS: t.Final = frozenset({"error", "error_code", "detail", "code"})


def _fail(message: str, body: t.Any = None) -> t.NoReturn:
    if body is not None:
        message += "\nBody: " + dumps(body)[:2000]
    raise AssertionError(message)


def _request_target(response: t.Any) -> tuple[str, str] | None:
    """The path and method of the request behind a Werkzeug, requests or
    httpx response."""
    req = getattr(response, "request", None)
    if req is None:
        return None
    method = str(getattr(req, "method", None) or "GET")
    path = getattr(req, "path", None)  # werkzeug.Request
    if isinstance(path, str):
        return path, method
    path_url = getattr(req, "path_url", None)  # requests.PreparedRequest
    if isinstance(path_url, str):
        return path_url.partition("?")[0], method
    url_path = getattr(getattr(req, "url", None), "path", None)  # httpx.Request
    if isinstance(url_path, str):
        return url_path, method
    return None


def expected_body(body: t.Mapping[str, t.Any], status: int, fmt: Format) -> dict[str, t.Any]:
    """What ``fmt`` renders for the error ``body`` reports (its code,
    message, details, ids and time): equal to ``body`` when ``body`` is in
    that format.

    :param body: A parsed error body of a known shape.
    :param status: The response's status.
    :param fmt: The format the body should be in.
    """
    # parse_error reads only the status of a response whose body it is given.
    parsed = parse_error(types.SimpleNamespace(status_code=status, headers={}), body=body)
    problem = Problem(
        status=status,
        code=parsed.code,
        message=parsed.message,
        title=reason_phrase(status),
        details=parsed.details,
        correlation_id=parsed.correlation_id,
        timestamp=parsed.timestamp,
        instance=t.cast("str | None", body.get("instance")),
    )
    return render(fmt, problem)


def _compare(expected: t.Mapping[str, t.Any], body: t.Mapping[str, t.Any], where: str) -> list[str]:
    problems = []
    for key, value in expected.items():
        if key not in body:
            problems.append(f"{where}{key!r} is missing")
        elif isinstance(value, dict) and isinstance(body[key], dict) and key == "detail":
            problems.extend(_compare(value, body[key], f"{where}detail."))
        elif body[key] != value:
            problems.append(f"{where}{key!r} is {body[key]!r}, the format gives {value!r}")
    return problems


def _chosen_formats(state: AppState, codes: t.Collection[str]) -> list[str]:
    """The formats errors of ``codes`` (lower case) choose themselves: an
    :class:`~flask_apierrors.ApiError` subclass's ``format``, a format given
    to :meth:`~flask_apierrors.ApiErrors.register_exception`."""
    found = []
    for _, convert in state.converters:
        fmt, code = getattr(convert, "format", None), getattr(convert, "code", None)
        if isinstance(fmt, str) and fmt and isinstance(code, str) and code.lower() in codes:
            found.append(fmt)
    classes: list[type[ApiError]] = [ApiError]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        code = cls.error_code
        if isinstance(cls.format, str) and cls.format and code and code.lower() in codes:
            found.append(cls.format)
    return found


class _Answer(t.NamedTuple):
    """What the app answered: the response, parsed, and its settings."""

    state: AppState
    settings: Settings
    response: t.Any
    error: ApiClientError
    media_type: str
    canonical: str


def _format_failures(answer: _Answer, fmt_spec: t.Any) -> list[str]:
    """How the answer differs from a body in the format ``fmt_spec``."""
    settings, response, error = answer.settings, answer.response, answer.error
    media_type = answer.media_type
    body, status = error.body, int(response.status_code)
    if media_type == PROBLEM_JSON and (settings.problem_on_accept or fmt_spec == "problem"):
        fmt_spec = "problem"
    fmt = answer.state.format_for(fmt_spec, settings)
    failures: list[str] = []
    if fmt.media_type != media_type:
        failures.append(f"media type is {media_type!r}, the format gives {fmt.media_type!r}")
    builtin = isinstance(fmt_spec, str) and fmt_spec in BUILTIN
    name = fmt_spec if isinstance(fmt_spec, str) else type(fmt).__name__
    if builtin:
        canonical, title = answer.canonical, reason_phrase(status)
        model = fmt.render(Problem(status=status, code=canonical, message="", title=title))
        spelled = spelled_code(model, canonical)
        # Another code altogether is reported once, by the caller.
        if error.code.lower() == canonical.lower() and error.code != spelled:
            failures.append(
                f"code is spelled {error.code!r}; the {name!r} format spells it {spelled!r}"
            )
    # A format of one's own is checked when its bodies have a known shape.
    if builtin or _KNOWN_KEYS.intersection(body):
        expected = expected_body(body, status, fmt)
        failures.extend(f"not the app's {name!r} format: {p}" for p in _compare(expected, body, ""))
        in_body = _fields_of(body).correlation_id
        header = response.headers.get(settings.response_id_header)
        if settings.include_correlation_id and in_body is None:
            failures.append("the body has no correlation id")
        elif in_body is not None and header != in_body:
            failures.append(
                f"correlation id {in_body!r} differs from the"
                f" {settings.response_id_header} header {header!r}"
            )
    return failures


def assert_api_error(
    response: t.Any,
    code: str | None = None,
    status: int | None = None,
    *,
    app: Flask | None = None,
    message: str | None = None,
    details: t.Mapping[str, t.Any] | None = None,
    format: str | None = None,
) -> ApiClientError:
    """Assert that ``response`` is the app's error ``code``, and return it
    parsed (:class:`~flask_apierrors.client.ApiClientError`).

    Checks that the status is ``status`` (default: the catalog's status of
    ``code``); that the body is JSON in the format the app (or the
    request's blueprint, or the code itself) answers in, down to the
    spelling of the code and the media type; that the correlation id in the
    body matches the response header; and ``message`` and the given
    ``details`` keys, if any.

    A body in a format the error chose itself passes too, when the app
    shows it: the ``format`` of an :class:`~flask_apierrors.ApiError`
    subclass of that code, or of :meth:`~flask_apierrors.ApiErrors.register_exception`
    for it. For a format only a converter of one's own chooses, pass
    ``format=``.

    :param response: A Flask test client response (or a requests/httpx
        response from a live server, checked against ``app``).
    :param code: The expected code (any case).
    :param status: The expected status.
    :param app: The app; defaults to the current app.
    :param message: The expected message.
    :param details: Expected ``details`` entries (other keys may exist).
    :param format: The format the body must be in (a name the app knows),
        in place of the ones the app's configuration gives.
    :raises AssertionError: naming every difference.

    .. versionchanged:: 0.2
        ``format=``; formats errors choose themselves are accepted.
    """
    if app is None and not has_app_context():
        raise TypeError(
            "assert_api_error needs the app: pass app=..., or call it in an app context."
        )
    state = find_state(app)
    if state is None:
        raise TypeError("ApiErrors is not set up on this app.")

    actual_status = int(response.status_code)
    content_type = str(response.headers.get("Content-Type", ""))
    media_type = content_type.partition(";")[0].strip().lower()
    error = parse_error(response)
    body = error.body
    if media_type not in _JSON_TYPES or not isinstance(body, dict):
        _fail(f"Expected a JSON error body, got {actual_status} {content_type!r}.", body)

    # The settings the app answered with: its blueprint's, found by routing
    # the request again.
    settings = state.settings
    target = _request_target(response)
    if target is not None:
        with state.app.test_request_context(target[0], method=target[1]):
            settings = state.settings_for(request.blueprints, request.path)
    spec = state.catalog.get(code) if code is not None else state.catalog.get(error.code)
    if status is None and code is not None:
        if spec is None:
            _fail(f"{code!r} is not in the app's catalog: pass status=.")
        status = effective_status(spec, settings)

    failures: list[str] = []
    if status is not None and actual_status != status:
        failures.append(f"status is {actual_status}, expected {status}")
    if code is not None and error.code.lower() != code.lower():
        failures.append(f"code is {error.code!r}, expected {code!r}")

    canonical = spec.code if spec is not None else error.code
    answer = _Answer(state, settings, response, error, media_type, canonical)
    if format is not None:
        failures.extend(_format_failures(answer, format))
    else:
        # The scope's (or the catalog's) format, else one the error chose.
        first = _format_failures(
            answer, spec.format if spec is not None and spec.format else settings.format
        )
        codes = {c.lower() for c in (code, error.code, canonical) if c}
        if first and not any(
            not _format_failures(answer, other) for other in _chosen_formats(state, codes)
        ):
            failures.extend(first)
    if message is not None and error.message != message:
        failures.append(f"message is {error.message!r}, expected {message!r}")
    for key, value in (details or {}).items():
        if key not in error.details:
            failures.append(f"details has no {key!r}")
        elif error.details[key] != value:
            failures.append(f"details[{key!r}] is {error.details[key]!r}, expected {value!r}")
    if failures:
        _fail("Not the expected API error: " + "; ".join(failures) + ".", body)
    return error


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the plugin
    pass
else:

    @pytest.fixture(name="assert_api_error")
    def assert_api_error_fixture(request: pytest.FixtureRequest) -> t.Callable[..., ApiClientError]:
        """:func:`assert_api_error` bound to the ``app`` fixture, if there
        is one."""
        try:
            app = request.getfixturevalue("app")
        except pytest.FixtureLookupError:
            app = None

        def check(
            response: t.Any, code: str | None = None, status: int | None = None, **kw: t.Any
        ) -> ApiClientError:
            kw.setdefault("app", app)
            return assert_api_error(response, code, status, **kw)

        return check
