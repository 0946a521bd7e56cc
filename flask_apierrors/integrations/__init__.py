"""Integrations turn one source of error into a :class:`~flask_apierrors.Problem`.

Each integration provides converters ``(exception, Context) -> Problem | None``;
the extension tries them in order and the first that returns a Problem wins.
Optional libraries (marshmallow, flask-limiter ...) are imported lazily, only
by the integration that needs them.
"""

from __future__ import annotations

from .base import Context
from .base import Converter

__all__ = ["Context", "Converter"]
