"""The converters the extension tries, in order, and the exception classes it
registers handlers for. Integrations with optional libraries are imported
lazily, and only if their library is installed."""

from __future__ import annotations

import typing as t

from ..upstream import convert_upstream_exception
from . import werkzeug as wz
from .base import Converter


def _optional() -> tuple[list[Converter], list[type[Exception]]]:
    converters: list[Converter] = []
    types: list[type[Exception]] = []
    try:
        import marshmallow
    except ImportError:  # pragma: no cover - marshmallow is an extra
        pass
    else:
        from . import marshmallow as ma
        from . import webargs as wa

        converters += [wa.convert_webargs_error, ma.convert_validation_error]
        types.append(marshmallow.ValidationError)
    return converters, types


_OPTIONAL_CONVERTERS, _OPTIONAL_TYPES = _optional()

#: Tried in this order; the first converter that returns a Problem wins.
#: Specific integrations come before the generic Werkzeug fallback.
CONVERTERS: t.Final[tuple[Converter, ...]] = (
    wz.convert_api_error,
    *_OPTIONAL_CONVERTERS,
    convert_upstream_exception,
    wz.convert_internal_error,
    wz.convert_http_exception,
)

#: Exception classes (besides HTTPException) the extension handles.
EXCEPTION_TYPES: t.Final[tuple[type[Exception], ...]] = tuple(_OPTIONAL_TYPES)
