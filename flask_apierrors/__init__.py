"""flask-apierrors: every error of a Flask JSON API as a documented JSON body."""

from __future__ import annotations

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
