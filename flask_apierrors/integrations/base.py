"""What every converter shares: the :class:`Context` it gets.

A converter is a pure function ``(exception, Context) -> Problem | None``:
everything it may need about the request being answered is in the Context,
built once per error by the extension, so converters read no Flask globals.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ..catalog import Catalog
from ..catalog import reason_phrase
from ..config import Settings
from ..correlation import RequestState
from ..correlation import error_id_of
from ..jsonbody import safe_text
from ..problem import FieldError
from ..problem import Problem

if t.TYPE_CHECKING:
    from flask import Request

    from ..state import Scope

#: ``(exception, context) -> Problem``, or ``None`` for "not mine".
Converter = t.Callable[[BaseException, "Context"], "Problem | None"]

S = t.TypeVar("S")


@dataclasses.dataclass(slots=True)
class Context:
    """What a converter may use besides the exception."""

    #: The app's error catalog.
    catalog: Catalog
    #: The core settings in force (the blueprint's, or the app's).
    settings: Settings
    #: The request's correlation id.
    correlation_id: str | None
    #: When the error happened (ISO 8601 UTC).
    timestamp: str
    #: The request path.
    instance: str | None
    #: The app runs in debug mode.
    debug: bool = False
    #: The request being answered (``None`` outside one).
    request: Request | None = None
    #: The request's ids (correlation and error id).
    ids: RequestState | None = None
    #: The scope whose settings are in force (for features' settings).
    scope: Scope | None = None
    #: ``(message) -> message`` for every message (i18n), or ``None``.
    translate: t.Callable[[str], t.Any] | None = None

    def error_id(self) -> str | None:
        """The request's error id, created on first use (500 bodies)."""
        return error_id_of(self.ids, self.settings) if self.ids is not None else None

    def settings_of(self, cls: type[S]) -> S:
        """A feature's settings in force (see :func:`~flask_apierrors.config.register_settings`)."""
        return self.scope.settings_of(cls) if self.scope is not None else cls()

    def text(self, message: t.Any, default: str) -> str:
        """``message`` as a body shows it: read as text now, so a lazy string
        (flask-babel's ``lazy_gettext``) in the request's locale and
        ``default`` for an object without text of its own, then through
        :attr:`translate`."""
        text = safe_text(message, default)
        if self.translate is not None:
            text = safe_text(self.translate(text), text)
        return text

    def problem(
        self,
        code: str,
        *,
        status: int | None = None,
        message: str | None = None,
        details: t.Mapping[str, t.Any] | None = None,
        errors: t.Sequence[FieldError] = (),
        headers: t.Iterable[tuple[str, str]] = (),
        format: str | None = None,
        description: str | None = None,
    ) -> Problem:
        """A :class:`Problem` for ``code``; the catalog fills in what is not
        given (status, message, format). ``validation_error`` answers with
        the ``validation_status`` setting; an ``internal_server_error``
        carries the error id and support message, whoever raised it; the
        message passes through :attr:`translate`."""
        spec = self.catalog.get(code)
        if status is None:
            if spec is None:
                status = 500
            elif spec.code == "validation_error":
                status = self.settings.validation_status
            else:
                status = spec.status
        if (
            status == 500
            and spec is not None
            and spec.code == "internal_server_error"
            and (details is None or "error_id" not in details)
        ):
            details = {
                "error_id": self.error_id(),
                "support_message": self.settings.support_message,
                **(details or {}),
            }
        default = spec.message if spec is not None else reason_phrase(status)
        if message is None:
            message = default
        text = self.text(message, default)
        if format is None and spec is not None:
            format = spec.format
        return Problem(
            status=status,
            code=spec.code if spec is not None else code,
            message=text,
            title=reason_phrase(status),
            details=details if details is not None else {},
            errors=tuple(errors),
            headers=tuple(headers),
            format=format,
            correlation_id=self.correlation_id if self.settings.include_correlation_id else None,
            timestamp=self.timestamp,
            instance=self.instance,
            description=description,
        )
