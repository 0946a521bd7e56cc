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
    if importlib.util.find_spec("pydantic_core") is not None:
        # pydantic's ValidationError is pydantic_core's: importing the small
        # core (not pydantic) is enough to handle it.
        import pydantic_core

        from . import pydantic as pd

        converters.append(pd.convert_pydantic_error)
        types.append(pydantic_core.ValidationError)
    return converters, types


_OPTIONAL_CONVERTERS, _OPTIONAL_TYPES = _optional()

#: Tried first (after the app's own converters): specific sources.
CORE_FIRST: t.Final[tuple[Converter, ...]] = (
    wz.convert_api_error,
    wz.convert_json_recursion,
    *_OPTIONAL_CONVERTERS,
)

#: Tried last: the generic 500 and Werkzeug fallbacks.
CORE_LAST: t.Final[tuple[Converter, ...]] = (wz.convert_internal_error, wz.convert_http_exception)

#: Exception classes (besides HTTPException) the core handles.
EXCEPTION_TYPES: t.Final[tuple[type[Exception], ...]] = (RecursionError, *_OPTIONAL_TYPES)
