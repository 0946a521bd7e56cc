"""The converters the extension tries, in order, and the exception classes it
registers handlers for. Integrations with optional libraries are imported
lazily, and only if their library is installed."""

from __future__ import annotations

import typing as t

from ..upstream import convert_upstream_exception
from . import werkzeug as wz
from .base import Converter

if t.TYPE_CHECKING:
    from flask import Flask


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
    try:
        import flask_limiter  # noqa: F401
    except ImportError:  # pragma: no cover - flask-limiter is an extra
        pass
    else:
        from . import limiter as fl

        converters.append(fl.convert_rate_limit)
    return converters, types


def _init_hooks() -> tuple[t.Callable[[Flask], None], ...]:
    try:
        import flask_limiter  # noqa: F401
    except ImportError:  # pragma: no cover - flask-limiter is an extra
        return ()
    from . import limiter as fl

    return (fl.init_app,)


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

#: Called with the app at the end of ``ApiErrors.init_app`` (integrations
#: that need hooks or signals on the app).
INIT_HOOKS: t.Final[tuple[t.Callable[[Flask], None], ...]] = _init_hooks()

#: Exception classes (besides HTTPException) the extension handles.
EXCEPTION_TYPES: t.Final[tuple[type[Exception], ...]] = tuple(_OPTIONAL_TYPES)
