"""What the failure of a call to an upstream service becomes: the
:class:`~.exceptions.UpstreamError` for an exception or an error response,
and the log line that tells the whole story (clients never get it).
"""

from __future__ import annotations

import logging
import typing as t

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from ..correlation import get_correlation_id
from ..integrations.http_clients import body_snippet
from ..integrations.http_clients import classify
from ..integrations.http_clients import error_response
from ..integrations.http_clients import safe_url
from ..integrations.http_clients import scrub
from ..integrations.http_clients import status_of
from ..integrations.http_clients import timeout_of
from ..plugins import Plugin
from ..retry import KINDS
from ..retry import Retry
from ..retry import as_retry
from ..retry import parse_retry_after
from .exceptions import UpstreamConnectionError
from .exceptions import UpstreamError
from .exceptions import UpstreamStatusError
from .exceptions import UpstreamTimeoutError
from .exceptions import UpstreamUnavailableError

if t.TYPE_CHECKING:
    from ..integrations import Context
    from ..problem import Problem
    from ..state import AppState

__all__ = ["ErrorMapping", "convert_upstream_exception", "logger"]

logger = logging.getLogger("flask_apierrors.upstream")


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
        #: The timeout the app uses for this upstream; shown as
        #: ``timeout_duration`` (pass it to your client too).
        self.timeout = timeout
        self.retry = as_retry(retry)
        self.unavailable_statuses = frozenset(unavailable_statuses)
        self.default_retry_after = default_retry_after

    # -- building errors ----------------------------------------------------

    def _options(self, kind: str, attempts: int) -> dict[str, t.Any]:
        if isinstance(self.messages, str):
            message: str | None = self.messages
        else:
            message = (self.messages or {}).get(kind)
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
        if status in self.unavailable_statuses:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            kind = "rate_limited" if status == 429 else "unavailable"
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
        response = error_response(exc)
        if response is not None:
            return self.error_for_response(response, attempts=attempts)
        found = classify(exc)
        if found is None:
            return None
        kind, phrase = found
        if kind == "timeout":
            duration = self.timeout if self.timeout is not None else timeout_of(exc)
            if duration is None and elapsed is not None:
                duration = round(elapsed, 1)
            return UpstreamTimeoutError(
                self.service, timeout_duration=duration, **self._options("timeout", attempts)
            )
        return UpstreamConnectionError(
            self.service,
            upstream_error=phrase or "Connection failed",
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


_DEFAULT: t.Final = ErrorMapping("upstream")
_CLIENT_MODULES: t.Final = frozenset({"requests", "httpx", "urllib", "urllib3"})


def convert_upstream_exception(e: BaseException, ctx: Context) -> Problem | None:
    """Converter for requests, httpx and urllib errors that escaped a view
    without :func:`upstream_call`: a 502/504 for service ``"upstream"``
    instead of a 500 (Flask hands them over as ``InternalServerError``)."""
    original = e.original_exception if isinstance(e, InternalServerError) else e
    if original is None or isinstance(original, HTTPException):
        return None
    # Only HTTP client libraries' own exceptions say "an upstream failed"; a
    # bare TimeoutError or ConnectionError may come from anywhere.
    if type(original).__module__.partition(".")[0] not in _CLIENT_MODULES:
        return None
    error = _DEFAULT.error_for(original)
    if error is None:
        return None
    assert error.error_code is not None
    return ctx.problem(
        error.error_code,
        status=error.status,
        message=error.message,
        details=error.details,
        headers=tuple(error.headers.items()),
    )


def plugin() -> Plugin:
    """The entry point: HTTP-client errors that escaped a view answer
    502/504 instead of 500."""
    return Plugin("upstream", setup=_setup, order=20)


def _setup(state: AppState) -> None:
    state.register_converter(HTTPException, convert_upstream_exception, plugin=True)
