"""flask-apierrors: every error of a Flask JSON API as a documented JSON body.

The names below are imported on first use (:pep:`562`), so that
``flask_apierrors.client`` can be imported where Flask and Werkzeug are not
installed: an API's consumers need only ``requests`` or ``httpx``.
"""

from __future__ import annotations

import importlib
import typing as t

if t.TYPE_CHECKING:
    from .catalog import Catalog
    from .catalog import ErrorSpec
    from .concurrency import ConcurrencyLimiter
    from .correlation import get_correlation_id
    from .errors import ApiError
    from .errors import abort
    from .extension import ApiErrors
    from .formats import Format
    from .problem import FieldError
    from .problem import Problem
    from .validation import use_schema

#: Public name -> the module that defines it.
_EXPORTS: t.Final = {
    "ApiError": ".errors",
    "ApiErrors": ".extension",
    "Catalog": ".catalog",
    "ConcurrencyLimiter": ".concurrency",
    "ErrorSpec": ".catalog",
    "FieldError": ".problem",
    "Format": ".formats",
    "Problem": ".problem",
    "abort": ".errors",
    "get_correlation_id": ".correlation",
    "use_schema": ".validation",
}

__all__ = [
    "ApiError",
    "ApiErrors",
    "Catalog",
    "ConcurrencyLimiter",
    "ErrorSpec",
    "FieldError",
    "Format",
    "Problem",
    "abort",
    "get_correlation_id",
    "use_schema",
]


def __getattr__(name: str) -> t.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flask_apierrors' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
