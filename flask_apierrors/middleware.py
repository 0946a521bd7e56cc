"""The extension's WSGI middleware: the work that needs no Flask context.

It runs around ``app.wsgi_app``, so it sees every response, whichever way
Flask made it (a view, an error handler, an ``after_request`` hook that
raised), at the cost of no context lookups:

- it sets the correlation id header on every response, replacing any value
  a view set, and lists it in ``Access-Control-Expose-Headers`` of CORS
  responses so browser code can read it;
- it lets integrations have the last word on an error response's headers
  (:meth:`~flask_apierrors.state.AppState.add_header_fixer`; the
  flask-limiter integration's 429 headers);
- it puts streamed (chunked) request bodies under the request's limit,
  read lazily (:mod:`flask_apierrors.bodylimit`);
- an exception that escapes the app (a failing ``teardown_request``) becomes
  the JSON 500 with its ids while the response has not started, and a
  streamed body that fails midway is logged with both ids.
"""

from __future__ import annotations

import logging
import typing as t

from werkzeug.routing import RequestRedirect
from werkzeug.wsgi import ClosingIterator

from . import bodylimit
from . import rendering
from .correlation import environ_state
from .correlation import error_id_of

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask

    from .state import AppState

logger = logging.getLogger("flask_apierrors")

_CORS_ORIGIN: t.Final = "access-control-allow-origin"
_CORS_EXPOSE: t.Final = "access-control-expose-headers"


class ApiErrorsMiddleware:
    """Wraps ``app.wsgi_app``; installed by :meth:`ApiErrors.init_app`.

    :param wsgi_app: The app's WSGI callable.
    :param state: The app's extension state.
    """

    def __init__(self, wsgi_app: WSGIApplication, state: AppState) -> None:
        self.wsgi_app = wsgi_app
        self.state = state
        self.settings = state.settings
        self.header = state.settings.response_id_header
        self._lower = self.header.lower()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        state = self.state
        exchange = _Exchange(self, environ, start_response)
        try:
            if not state.served:
                state.begin_serving(environ)
            if self.settings.buffer_streamed_bodies and bodylimit.is_streamed(environ):
                bodylimit.guard_streamed_body(environ)
            iterable = self.wsgi_app(environ, exchange.start)
        except Exception as e:
            # Flask re-raises unhandled exceptions for the test client and
            # the debugger: do not hide them there.
            if propagates(state.app):
                raise
            exchange.pending = exchange.body = None
            if state.served:
                # Escaped Flask's own handling (a raising teardown function):
                # a JSON 500 with the ids instead of the response Flask began.
                response = rendering.fallback_response(
                    state, environ, "An exception escaped the app"
                )
            else:
                # A first-request check failed (a format no one registered):
                # its one line, at each request until the app is fixed.
                why = f"App {state.app.name!r} cannot serve: {e}"
                response = rendering.fallback_response(state, environ, why, traceback=False)
            iterable = response(environ, exchange.start)
        if exchange.pending is not None:
            start_response(*exchange.pending)
        if exchange.body is not None:
            # A HEAD answer has the headers of the GET one, and no body.
            body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else exchange.body
            return ClosingIterator([body], getattr(iterable, "close", None))
        if exchange.streamed:
            return _LoggedStream(iterable, environ, state)
        return iterable


def propagates(app: Flask) -> bool:
    """Whether Flask raises the app's unhandled exceptions instead of
    answering them (``PROPAGATE_EXCEPTIONS``, else testing or debug mode)."""
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    return bool(propagate or (propagate is None and (app.testing or app.debug)))


class _Exchange:
    """One request's response start. The server's ``start_response`` is
    called once the app has returned (WSGI allows it until the first body
    byte), so an exception that escapes the app after Flask began its
    response can still replace it."""

    __slots__ = ("body", "environ", "mw", "pending", "start_response", "streamed", "target")

    def __init__(
        self, mw: ApiErrorsMiddleware, environ: WSGIEnvironment, start_response: StartResponse
    ) -> None:
        self.mw = mw
        self.environ = environ
        self.start_response = start_response
        self.pending: tuple[str, list[tuple[str, str]], t.Any] | None = None
        self.body: bytes | None = None
        self.streamed = False

    def start(
        self, status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], object]:
        mw = self.mw
        state = mw.state
        if status[0] != "2":
            # Flask calls start_response inside the request context.
            code = int(status[:3])
            for fix in state.header_fixers:
                headers = fix(code, headers)
            if status[0] == "3":
                headers = _json_redirect(state, self, code, headers)
        names = [header[0].lower() for header in headers]
        lower = mw._lower
        if lower in names:
            headers = [h for h, n in zip(headers, names, strict=True) if n != lower]
            names = [n for n in names if n != lower]
        if _CORS_ORIGIN in names:
            _expose(headers, names, mw.header)
        headers.append((mw.header, environ_state(self.environ, mw.settings).correlation_id))
        self.pending = (status, headers, exc_info)
        self.streamed = "content-length" not in names
        return self.write

    def write(self, data: bytes) -> t.Any:
        """The legacy ``write`` callable (Flask never uses it): starts the
        response now."""
        if self.pending is not None:
            self.target = self.start_response(*self.pending)
            self.pending = None
        return self.target(data)


def _json_redirect(
    state: AppState, exchange: _Exchange, code: int, headers: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """A routing redirect's HTML body replaced by the scope's JSON."""
    req = exchange.environ.get("werkzeug.request")
    if req is None or not isinstance(getattr(req, "routing_exception", None), RequestRedirect):
        return headers
    location = next((v for k, v in headers if k.lower() == "location"), None)
    rendered = rendering.redirect_body(state, req, code, location) if location else None
    if rendered is None:
        return headers
    exchange.body, mimetype = rendered
    kept = [h for h in headers if h[0].lower() not in ("content-type", "content-length")]
    return [*kept, ("Content-Type", mimetype), ("Content-Length", str(len(exchange.body)))]


def _expose(headers: list[tuple[str, str]], names: list[str], name: str) -> None:
    """List ``name`` in the CORS response's ``Access-Control-Expose-Headers``."""
    if _CORS_EXPOSE not in names:
        headers.append(("Access-Control-Expose-Headers", name))
        return
    index = names.index(_CORS_EXPOSE)
    key, value = headers[index]
    listed = {part.strip().lower() for part in value.split(",")}
    if name.lower() not in listed and "*" not in listed:
        headers[index] = (key, f"{value}, {name}")


class _LoggedStream(ClosingIterator):
    """A streamed response body whose failure midway is logged with the
    request's ids (the client only sees the connection end)."""

    def __init__(self, iterable: t.Iterable[bytes], environ: WSGIEnvironment, state: AppState):
        super().__init__(iterable)
        self._environ = environ
        self._state = state

    def __next__(self) -> bytes:
        try:
            return super().__next__()
        except StopIteration:
            raise
        except Exception:
            ids = environ_state(self._environ, self._state.settings)
            logger.exception(
                "The response body failed while streaming [error_id=%s correlation_id=%s]",
                error_id_of(ids, self._state.settings),
                ids.correlation_id,
            )
            raise
