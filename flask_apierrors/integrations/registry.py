"""The core's own converters, in the order they are tried, and the exception
classes besides ``HTTPException`` the core registers handlers for.

Features and other packages add theirs through
:meth:`~flask_apierrors.state.AppState.register_converter` (see
:mod:`flask_apierrors.plugins`); they are tried between :data:`CORE_FIRST`
and :data:`CORE_LAST`. Optional libraries are imported only if installed.
"""

from __future__ import annotations

import importlib.util
import typing as t

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from ..errors import ApiError
from . import werkzeug as wz
from .base import Converter

#: ``(exception class, converter)``: a converter is called only for
#: instances of its class.
Entry = tuple[type[BaseException], Converter]


def _optional() -> tuple[list[Entry], list[type[Exception]]]:
    entries: list[Entry] = []
    types: list[type[Exception]] = []
    try:
        import marshmallow
    except ImportError:  # pragma: no cover - marshmallow is an extra
        pass
    else:
        from . import marshmallow as ma
        from . import webargs as wa

        entries += [
            (HTTPException, wa.convert_webargs_error),
            (marshmallow.ValidationError, ma.convert_validation_error),
        ]
        types.append(marshmallow.ValidationError)
    if importlib.util.find_spec("pydantic_core") is not None:
        # pydantic's ValidationError is pydantic_core's: importing the small
        # core (not pydantic) is enough to handle it.
        import pydantic_core

        from . import pydantic as pd

        entries.append((pydantic_core.ValidationError, pd.convert_pydantic_error))
        types.append(pydantic_core.ValidationError)
    return entries, types


_OPTIONAL_ENTRIES, _OPTIONAL_TYPES = _optional()

#: Tried first (after the app's own converters): specific sources.
CORE_FIRST: t.Final[tuple[Entry, ...]] = (
    (ApiError, wz.convert_api_error),
    *((exc_type, wz.convert_refused_body) for exc_type in wz.BODY_ERRORS),
    *_OPTIONAL_ENTRIES,
)

#: Tried last: the generic 500 and Werkzeug fallbacks.
CORE_LAST: t.Final[tuple[Entry, ...]] = (
    (InternalServerError, wz.convert_internal_error),
    (HTTPException, wz.convert_http_exception),
)

#: Exception classes (besides HTTPException) the core handles.
EXCEPTION_TYPES: t.Final[tuple[type[Exception], ...]] = tuple(_OPTIONAL_TYPES)
