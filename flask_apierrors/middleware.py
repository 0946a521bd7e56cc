"""The extension's WSGI middleware: the work that needs no Flask context.

It runs around ``app.wsgi_app``, so it sees every response, whichever way
Flask made it (a view, an error handler, an ``after_request`` hook that
raised), at the cost of no context lookups:

- it sets the correlation id header on every response, replacing any value
  a view set;
- it lets integrations have the last word on an error response's headers
  (:meth:`~flask_apierrors.state.AppState.add_header_fixer`; the
  flask-limiter integration's 429 headers);
- it makes streamed (chunked) request bodies obey ``MAX_CONTENT_LENGTH``
  (:mod:`flask_apierrors.bodylimit`).
"""

from __future__ import annotations

import typing as t

from werkzeug.wsgi import ClosingIterator

from . import bodylimit
from .correlation import environ_state

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

    from .state import AppState


class ApiErrorsMiddleware:
    """Wraps ``app.wsgi_app``; installed by :meth:`ApiErrors.init_app`.

    :param wsgi_app: The app's WSGI callable.
    :param state: The app's extension state (its settings, and the app's
        ``MAX_CONTENT_LENGTH``).
    """

    def __init__(self, wsgi_app: WSGIApplication, state: AppState) -> None:
        self.wsgi_app = wsgi_app
        self.config = state.app.config
        self.state = state
        self.settings = state.settings
        self.header = state.settings.response_id_header
        self._lower = self.header.lower()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        settings = self.settings
        self.state.served = True
        spool = None
        if settings.buffer_streamed_bodies and bodylimit.is_streamed(environ):
            limit = self.config.get("MAX_CONTENT_LENGTH")
            if limit is not None:
                spool = bodylimit.buffer_streamed_body(environ, limit)

        def start_with_id(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            fixers = self.state.header_fixers
            if fixers and status[0] != "2":
                # Flask calls start_response inside the request context.
                code = int(status[:3])
                for fix in fixers:
                    headers = fix(code, headers)
            cid = environ_state(environ, settings).correlation_id
            lower = self._lower
            headers = [h for h in headers if h[0].lower() != lower]
            headers.append((self.header, cid))
            return start_response(status, headers, exc_info)

        iterable = self.wsgi_app(environ, start_with_id)
        if spool is not None:
            return ClosingIterator(iterable, [spool.close])
        return iterable
