"""Load request data with a marshmallow schema: :func:`use_schema`.

::

    @app.post("/orders")
    @use_schema(OrderRequest)
    def create_order(body): ...

Invalid data is answered with the ``validation_error`` body; a body that is
not JSON, has the wrong content type or is too large is answered with the
``invalid_json``, 415 and 413 bodies instead. marshmallow is imported only
when :func:`use_schema` is first called.
"""

from __future__ import annotations

import functools
import inspect
import typing as t
from collections import abc

from flask import request

from .declared import declare_input
from .errors import ApiError

if t.TYPE_CHECKING:
    from marshmallow import Schema
    from werkzeug.datastructures import MultiDict

RV = t.TypeVar("RV")
View = t.Callable[..., RV]

#: Where :func:`use_schema` reads data from.
LOCATIONS: t.Final = ("json", "query", "form", "files")

#: What data nested deeper than a schema that nests itself can load is told.
TOO_DEEP_MESSAGE: t.Final = "The data is nested too deeply."

_FORM_TYPES: t.Final = ("application/x-www-form-urlencoded", "multipart/form-data")
_FILES_TYPES: t.Final = ("multipart/form-data",)


def use_schema(
    schema: Schema | type[Schema] | t.Mapping[str, t.Any],
    location: str = "json",
    *,
    arg_name: str | None = None,
    unknown: str | None = None,
) -> t.Callable[[View[RV]], View[RV]]:
    """Load the request's ``location`` with ``schema`` and pass the result
    to the view.

    The loaded data is passed as an extra positional argument, after those
    of decorators above this one (as webargs' ``use_args`` does), or as the
    keyword argument ``arg_name``::

        @app.get("/v1/jobs")
        @use_schema(JobQuery, "query", arg_name="query")
        def list_jobs(query): ...

    When the data does not load, a marshmallow ``ValidationError`` is raised
    (a :class:`~flask_apierrors.integrations.marshmallow.RequestValidationError`
    that knows the schema, so ``load_only`` fields are never echoed), which
    :class:`~flask_apierrors.ApiErrors` renders as ``validation_error``.
    Exceptions the schema's validators raise otherwise (an
    :class:`~flask_apierrors.ApiError`, for instance) pass through. Data
    nested deeper than a schema that nests itself can load is a
    ``validation_error`` (:data:`TOO_DEEP_MESSAGE`), not a 500.

    :param schema: A schema instance, a schema class (created once) or a
        ``dict`` of fields.
    :param location: ``"json"`` (the body; JSON media types only),
        ``"query"``, ``"form"`` (URL-encoded or multipart) or ``"files"``
        (multipart). A request with no body at all loads as ``{}``, so
        required fields are reported as missing. List fields of query
        strings and forms take every value of their key.
    :param arg_name: Pass the data as this keyword argument instead.
    :param unknown: marshmallow's ``unknown`` option for this load
        (``RAISE``, ``EXCLUDE``, ``INCLUDE``); ``None`` keeps the schema's.
    :raises ValueError: ``location`` is not one of :data:`LOCATIONS`.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        Data nested too deeply is a 400, not a 500. The view is marked for
        :func:`flask_apierrors.openapi.document`, which lists the errors
        of loading ``location``.
    """
    if location not in LOCATIONS:
        raise ValueError(f"use_schema: location must be one of {LOCATIONS}, not {location!r}.")
    import marshmallow

    from .integrations.marshmallow import RequestValidationError

    if isinstance(schema, type) and issubclass(schema, marshmallow.Schema):
        instance = schema()
    elif isinstance(schema, marshmallow.Schema):
        instance = schema
    elif isinstance(schema, abc.Mapping):
        instance = marshmallow.Schema.from_dict(dict(schema))()
    else:
        raise TypeError(
            "use_schema needs a marshmallow Schema, Schema class or dict of fields,"
            f" not {type(schema).__name__}."
        )
    load_kwargs: dict[str, t.Any] = {"unknown": unknown} if unknown is not None else {}

    def load() -> t.Any:
        data = _location_data(location, instance)
        try:
            return instance.load(data, **load_kwargs)
        except marshmallow.ValidationError as err:
            raise RequestValidationError(
                err.messages,
                schema=instance,
                location=location,
                data=data,
                valid_data=err.valid_data,
            ) from err
        except RecursionError:
            # marshmallow recurses once per level of a schema that nests
            # itself: data deeper than the stack is invalid, not a crash.
            raise RequestValidationError(
                {"_schema": [TOO_DEEP_MESSAGE]}, schema=instance, location=location, data=data
            ) from None

    def decorator(view: View[RV]) -> View[RV]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                args, kwargs = _inject(load(), args, kwargs, arg_name)
                return await view(*args, **kwargs)

            return t.cast("View[RV]", declare_input(async_wrapper, location))

        @functools.wraps(view)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> RV:
            args, kwargs = _inject(load(), args, kwargs, arg_name)
            return view(*args, **kwargs)

        # The OpenAPI document lists the errors of loading this location.
        return declare_input(wrapper, location)

    return decorator


def _inject(
    data: t.Any, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], arg_name: str | None
) -> tuple[tuple[t.Any, ...], dict[str, t.Any]]:
    if arg_name is None:
        return (*args, data), kwargs
    return args, {**kwargs, arg_name: data}


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _location_data(location: str, schema: Schema) -> t.Any:
    """The data of ``location``; raises the 415/413/invalid_json errors."""
    if location == "query":
        return _multidict(request.args, schema)
    if not request.mimetype and not _has_body():
        return {}
    if location == "json":
        # Werkzeug raises 415 for a non-JSON type, 413 past the size limit,
        # and a BadRequest chained to the decoding error for bad JSON.
        # (JSON nested past the parser's limit is invalid_json: the core's.)
        return request.get_json()
    expected = _FORM_TYPES if location == "form" else _FILES_TYPES
    if request.mimetype not in expected:
        raise ApiError(
            "unsupported_media_type",
            details={"provided_type": request.mimetype or None, "expected_types": list(expected)},
        )
    return _multidict(request.form if location == "form" else request.files, schema)


def _multidict(values: MultiDict[str, t.Any], schema: Schema) -> dict[str, t.Any]:
    """A plain dict for ``schema.load``: every value of a key for list
    fields, the first for the others."""
    from marshmallow import fields

    by_key = {
        (f.data_key if f.data_key is not None else name): f for name, f in schema.fields.items()
    }
    out: dict[str, t.Any] = {}
    for key in values:
        all_values = values.getlist(key)
        field = by_key.get(key)
        multiple = getattr(field, "is_multiple", None)
        if multiple is None:
            multiple = isinstance(field, (fields.List, fields.Tuple))
        many = multiple or (field is None and len(all_values) > 1)
        out[key] = all_values if many else all_values[0]
    return out
