"""What the failure of a call to an upstream service becomes: the
:class:`~.exceptions.UpstreamError` for an exception or an error response,
and the log line that tells the whole story (clients never get it).
"""

from __future__ import annotations

import logging
import re
import sys
import typing as t
import urllib.error
import urllib.parse

from flask import got_request_exception
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from ..client.failures import KINDS
from ..client.failures import _causes
from ..client.failures import error_response
from ..client.failures import failure_of
from ..client.failures import failure_types
from ..client.failures import status_kind
from ..client.failures import timeout_of
from ..client.transport import header
from ..client.transport import parse_retry_after
from ..client.transport import status_of
from ..correlation import get_correlation_id
from ..integrations.adoption import app_handler
from ..integrations.werkzeug import convert_api_error
from ..plugins import Plugin
from ..retry import Retry
from ..retry import as_retry
from .exceptions import UpstreamConnectionError
from .exceptions import UpstreamError
from .exceptions import UpstreamStatusError
from .exceptions import UpstreamTimeoutError
from .exceptions import UpstreamUnavailableError

if t.TYPE_CHECKING:
    from flask import Flask

    from ..integrations import Context
    from ..problem import Problem
    from ..state import AppState

__all__ = ["ErrorMapping", "convert_upstream_exception", "logger"]

logger = logging.getLogger("flask_apierrors.upstream")

# ``//user:password@`` in URLs quoted by exception messages.
_USERINFO: t.Final = re.compile(r"//[^/@\s'\"]*@")
# Query strings of quoted URLs (they may carry API keys).
_QUERY: t.Final = re.compile(r"\?[^\s'\"]+")


class ErrorMapping:
    """How the failures of calls to one upstream service become
    :class:`~.exceptions.UpstreamError`, and how they are logged. The
    options are those of :func:`~flask_apierrors.upstream.upstream_call`;
    :class:`~flask_apierrors.upstream.UpstreamCall` adds the calling.
    """

    def __init__(
        self,
        service: str,
        *,
        messages: str | t.Mapping[str, str] | None = None,
        codes: t.Mapping[str, str] | None = None,
        details: t.Mapping[str, t.Any] | None = None,
        rename: t.Mapping[str, str | None] | None = None,
        timeout: float | None = None,
        retry: Retry | int | bool | None = None,
        unavailable_statuses: t.Collection[int] = (429, 503),
        default_retry_after: int = 30,
    ) -> None:
        for name, mapping in (("codes", codes), ("messages", messages)):
            if isinstance(mapping, t.Mapping):
                unknown = set(mapping) - set(KINDS)
                if unknown:
                    raise ValueError(
                        f"upstream_call({name}=...): unknown kinds {sorted(unknown)}; use {KINDS}."
                    )
        self.service = service
        self.messages = messages
        self.codes = dict(codes or {})
        self.details = dict(details or {})
        self.rename = dict(rename or {})
        #: The timeout the app passes to its client for this upstream (which
        #: applies it to each wait, not to the whole call); shown as
        #: ``timeout_duration``.
        self.timeout = timeout
        self.retry = as_retry(retry)
        self.unavailable_statuses = frozenset(unavailable_statuses)
        self.default_retry_after = default_retry_after

    # -- building errors ----------------------------------------------------

    def _options(self, kind: str, attempts: int) -> dict[str, t.Any]:
        messages = self.messages
        message = messages if isinstance(messages, str) else (messages or {}).get(kind)
        return {
            "message": message,
            "details": self.details,
            "rename": self.rename,
            "error_code": self.codes.get(kind),
            "attempts": attempts,
        }

    def error_for_response(self, response: t.Any, *, attempts: int = 1) -> UpstreamError | None:
        """The error for an upstream response (requests, httpx or urllib), or
        ``None`` if its status is below 400."""
        status = status_of(response)
        if status is None or status < 400:
            return None
        error: UpstreamError
        kind = status_kind(status, self.unavailable_statuses)
        if kind != "status":
            retry_after = parse_retry_after(header(response, "Retry-After"))
            error = UpstreamUnavailableError(
                self.service,
                retry_after=self.default_retry_after if retry_after is None else retry_after,
                upstream_status=status,
                from_upstream=retry_after is not None,
                **self._options(kind, attempts),
            )
        else:
            error = UpstreamStatusError(self.service, status, **self._options("status", attempts))
        # For the log line only: never rendered.
        info = [f"url={safe_url(response)!r}"]
        snippet = body_snippet(response)
        if snippet is not None:
            info.append(f"body={snippet!r}")
        error.log_info = tuple(info)
        return error

    def error_for(
        self, exc: BaseException, *, attempts: int = 1, elapsed: float | None = None
    ) -> UpstreamError | None:
        """The :class:`UpstreamError` for ``exc``, or ``None`` if it is not an
        upstream failure (it should then propagate unchanged).

        :param elapsed: Seconds the failed attempt took (the timeout shown
            when neither ``timeout=`` nor the client tells it).
        """
        if isinstance(exc, UpstreamError):
            return exc
        error = self._convert(exc, attempts, elapsed)
        if error is not None:
            # The error is logged with its traceback, which prints ``exc``.
            scrub_exception(exc)
        return error

    def _convert(
        self, exc: BaseException, attempts: int, elapsed: float | None
    ) -> UpstreamError | None:
        response = error_response(exc)
        if response is not None:
            error = self.error_for_response(response, attempts=attempts)
            if error is None:
                # httpx's raise_for_status refuses redirects it did not
                # follow and 1xx too: still no answer the app can use.
                status = status_of(response) or 0
                error = UpstreamStatusError(
                    self.service, status, **self._options("status", attempts)
                )
            return error
        failure = failure_of(exc)
        if failure is None:
            return None
        if failure.kind == "timeout":
            duration = self.timeout if self.timeout is not None else timeout_of(exc)
            if duration is None and elapsed is not None:
                duration = round(elapsed, 1)
            return UpstreamTimeoutError(
                self.service, timeout_duration=duration, **self._options("timeout", attempts)
            )
        return UpstreamConnectionError(
            self.service,
            upstream_error=failure.phrase or "Connection failed",
            **self._options("connection", attempts),
        )

    # -- logging ------------------------------------------------------------

    def _log(
        self,
        error: UpstreamError,
        exc: BaseException | None,
        *,
        retry_in: float | None = None,
    ) -> None:
        parts = [f"upstream {self.service!r} failed: {error.kind}"]
        if isinstance(error, (UpstreamStatusError, UpstreamUnavailableError)):
            parts.append(f"status={error.upstream_status}")
        parts.extend(error.log_info)
        if exc is not None and exc is not error:
            # repr() escapes control characters: upstream text is untrusted.
            text = scrub(str(exc)[:500])
            parts.append(f"error={type(exc).__name__}: {text!r}")
        parts.append(f"attempt={error.attempts}/{self.retry.attempts}")
        if retry_in is not None:
            parts.append(f"retrying in {retry_in:.2f}s")
        logger.log(
            logging.WARNING if retry_in is not None else logging.ERROR,
            "%s [correlation_id=%s]",
            ", ".join(parts),
            get_correlation_id() or "-",
        )


def safe_url(response_or_request: t.Any) -> str:
    """Scheme, host and path of a URL, without credentials or query (log only)."""
    url = getattr(response_or_request, "url", None)
    if url is None:
        return "-"
    parts = urllib.parse.urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def body_snippet(response: t.Any, limit: int = 300) -> str | None:
    """The start of an already-read upstream body, for the log only."""
    content = None
    try:
        httpx = sys.modules.get("httpx")
        if httpx is not None and isinstance(response, httpx.Response):
            content = response.content  # raises ResponseNotRead if streamed
        elif isinstance(response, urllib.error.HTTPError):
            try:
                content = response.read(limit)
            finally:
                response.close()
        elif getattr(response, "_content_consumed", False):
            content = response.content
    except Exception:
        return None
    if not isinstance(content, bytes):
        return None
    return content[:limit].decode("utf-8", "replace")


def scrub(text: str) -> str:
    """``text`` (an exception message) without URL credentials and query
    strings, for the log."""
    return _QUERY.sub("?[query]", _USERINFO.sub("//", text))


def scrub_exception(exc: BaseException) -> None:
    """Scrub (:func:`scrub`) the text of ``exc`` and of the exceptions it
    wraps, in place: their string ``args``, ``reason`` and notes, which a
    traceback prints (an HTTP error's URL may carry a password or an API
    key in its query)."""
    for cur in _causes(exc):
        try:
            args = tuple(scrub(a) if isinstance(a, str) else a for a in cur.args)
            if args != cur.args:
                cur.args = args
            reason = getattr(cur, "reason", None)
            if isinstance(reason, str) and scrub(reason) != reason:
                cur.reason = scrub(reason)  # type: ignore[attr-defined]
            notes = getattr(cur, "__notes__", None)
            if isinstance(notes, list):
                notes[:] = [scrub(n) if isinstance(n, str) else n for n in notes]
        except (AttributeError, TypeError):  # read-only on some exception type
            continue


_DEFAULT: t.Final = ErrorMapping("upstream")
_CLIENT_MODULES: t.Final = frozenset({"requests", "httpx", "urllib", "urllib3"})


def _from_client_library(e: BaseException) -> bool:
    # Only HTTP client libraries' own exceptions say "an upstream failed"; a
    # bare TimeoutError or ConnectionError may come from anywhere.
    return type(e).__module__.partition(".")[0] in _CLIENT_MODULES


def convert_upstream_exception(e: BaseException, ctx: Context) -> Problem | None:
    """Converter for requests, httpx and urllib errors that escaped a view
    without :func:`upstream_call`: a 502/504 for service ``"upstream"``
    instead of a 500. The extension's handler gets them (see
    :func:`_answer_client_errors`), or, from a library imported after the
    first request, Flask hands them over as ``InternalServerError``. Their
    text is scrubbed (:func:`scrub_exception`) before the 502 is logged."""
    original = e.original_exception if isinstance(e, InternalServerError) else e
    if original is None or isinstance(original, HTTPException):
        return None
    if not _from_client_library(original):
        return None
    # Logged with its traceback, as a 502 or, if no upstream failure, a 500.
    scrub_exception(original)
    error = _DEFAULT.error_for(original)
    return convert_api_error(error, ctx) if error is not None else None


def plugin() -> Plugin:
    """The entry point: HTTP-client errors that escaped a view answer
    502/504 instead of 500."""
    return Plugin("upstream", setup=_setup, order=20)


def _setup(state: AppState) -> None:
    state.register_converter(HTTPException, convert_upstream_exception, plugin=True)
    # At the first request: the app has registered its own handlers and
    # imported its HTTP libraries by then.
    state.on_first_request(_answer_client_errors)
    got_request_exception.connect(_scrub_unhandled, state.app, weak=False)


def _answer_client_errors(state: AppState) -> None:
    """Have the extension's handler answer the HTTP libraries' failures
    (:func:`~flask_apierrors.client.failures.failure_types`) that escape a
    view, like the other errors it answers: logged once, with the response's
    ids, after :func:`convert_upstream_exception` scrubbed them. Unhandled,
    Flask would log them first, their text in clear, under an error id the
    502 never shows. A class the app handles itself (or a base of it) is left
    to the app's handler."""
    for exc_type in failure_types():
        handlers = (app_handler(state.app, cls) for cls in exc_type.__mro__)
        if all(h is None or h == state.handler for h in handlers):
            state.register_converter(exc_type, convert_upstream_exception, plugin=True)


def _scrub_unhandled(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    """Scrub the text of an HTTP library's exception Flask found unhandled
    (an invalid URL, a library imported after the first request): Flask
    sends ``got_request_exception`` before it logs the traceback."""
    if _from_client_library(exception):
        scrub_exception(exception)
