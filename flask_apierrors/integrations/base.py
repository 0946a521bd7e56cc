"""What every integration shares: the :class:`Context` a converter gets."""

from __future__ import annotations

import dataclasses
import typing as t

from ..catalog import Catalog
from ..catalog import reason_phrase
from ..config import Settings
from ..problem import FieldError
from ..problem import Problem

#: ``(exception, context) -> Problem``, or ``None`` for "not mine".
Converter = t.Callable[[BaseException, "Context"], "Problem | None"]


@dataclasses.dataclass(slots=True)
class Context:
    """What a converter may use besides the exception (no Flask globals
    needed to build a :class:`Problem`)."""

    catalog: Catalog
    settings: Settings
    correlation_id: str | None
    timestamp: str
    instance: str | None
    debug: bool = False

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
    ) -> Problem:
        """A :class:`Problem` for ``code``; the catalog fills in what is not
        given (status, message, format)."""
        spec = self.catalog.get(code)
        if status is None:
            status = spec.status if spec is not None else 500
        if message is None:
            message = spec.message if spec is not None else reason_phrase(status)
        if format is None and spec is not None:
            format = spec.format
        return Problem(
            status=status,
            code=spec.code if spec is not None and code.lower() == spec.code.lower() else code,
            message=message,
            title=reason_phrase(status),
            details=details if details is not None else {},
            errors=tuple(errors),
            headers=tuple(headers),
            format=format,
            correlation_id=self.correlation_id if self.settings.include_correlation_id else None,
            timestamp=self.timestamp,
            instance=self.instance,
        )
