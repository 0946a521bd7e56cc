"""webargs and flask-smorest errors -> :class:`Problem`.

When a schema fails, webargs' Flask parser (and flask-smorest, which is
built on it) aborts with a 422 ``HTTPException`` whose ``data`` holds the
messages by location::

    e.data == {"messages": {"json": {"model": ["Missing data for required field."]}},
               "schema": <Schema>, "headers": None}
    e.exc == <ValidationError>

They become the same ``validation_error`` body as any marshmallow error,
with values taken from ``e.exc.data`` and ``load_only`` fields of
``e.data["schema"]`` redacted. webargs' default 422 follows the
``validation_status`` setting; a status chosen with ``error_status_code=``
is kept. flask-smorest's ``abort(status, message=..., errors=...)`` is
honoured too. Nothing here imports webargs: the data on the exception is
all that is needed.
"""

from __future__ import annotations

import json
import typing as t
from collections import abc

from marshmallow import Schema
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..configvalues import is_text
from .fielderrors import flatten_locations
from .fielderrors import validation_problem
from .marshmallow import field_errors
from .werkzeug import abort_headers
from .werkzeug import convert_http_exception

if t.TYPE_CHECKING:
    from ..problem import FieldError
    from ..problem import Problem
    from .base import Context

#: The status webargs' Flask parser aborts with by default.
WEBARGS_STATUS: t.Final = 422


def convert_webargs_error(e: BaseException, ctx: Context) -> Problem | None:
    """An ``HTTPException`` raised by webargs' or flask-smorest's ``abort``."""
    if not isinstance(e, HTTPException):
        return None
    data = getattr(e, "data", None)
    if not isinstance(data, abc.Mapping):
        return None
    exc = getattr(e, "exc", None)
    if exc is None and "schema" not in data:
        # Not a parser's error but a hand-raised abort(status, messages=...,
        # errors=..., message=...): the framework integrations read those.
        return None
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        # webargs' "Invalid JSON body.": the documented invalid_json body.
        return ctx.problem(
            "invalid_json", details={"json_error": str(exc)}, headers=abort_headers(e)
        )
    messages = data.get("messages", data.get("errors"))
    if isinstance(messages, abc.Mapping) and messages:
        schema = data.get("schema")
        source = exc.data if isinstance(exc, ValidationError) else None
        # webargs stops at the first location that fails, so the exception's
        # data and schema belong to it alone; entries say where they come
        # from only when it is ambiguous.
        single = len(messages) == 1

        def flatten(location: t.Any, found: t.Any, limit: int) -> tuple[list[FieldError], int]:
            return field_errors(
                found,
                ctx.settings,
                data=source if single else None,
                schema=schema if isinstance(schema, Schema) and single else None,
                location=None if single else str(location),
                limit=limit,
                source=str(location),
            )

        errors, total = flatten_locations(messages, ctx.settings.max_validation_errors, flatten)
        status = e.code if e.code is not None and e.code != WEBARGS_STATUS else None
        return validation_problem(ctx, errors, total, status=status).replace(
            headers=tuple(abort_headers(e))
        )
    message = data.get("message")
    if is_text(message) and message:
        problem = convert_http_exception(e, ctx)
        if problem is not None:
            return problem.replace(
                message=ctx.text(message, problem.message), headers=tuple(abort_headers(e))
            )
    return None
