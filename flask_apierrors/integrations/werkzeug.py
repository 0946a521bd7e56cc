"""Werkzeug HTTP exceptions and :class:`~flask_apierrors.ApiError` -> Problem."""

from __future__ import annotations

import json
import traceback
import typing as t
from collections import abc

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import ClientDisconnected
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import UnsupportedMediaType

from ..bodylimit import TRUNCATED
from ..catalog import code_for_exception_class
from ..errors import ApiError

if t.TYPE_CHECKING:
    from ..problem import Problem
    from .base import Context


def exception_headers(e: HTTPException) -> list[tuple[str, str]]:
    """The exception's own headers (``Allow``, ``WWW-Authenticate``,
    ``Retry-After`` ...) without its HTML ``Content-Type``."""
    return [(k, v) for k, v in e.get_headers() if k.lower() != "content-type"]


def abort_headers(e: HTTPException) -> list[tuple[str, str]]:
    """:func:`exception_headers`, then those an ``abort`` of webargs,
    flask-smorest or Flask-RESTful keeps in ``e.data["headers"]``."""
    headers = exception_headers(e)
    data = getattr(e, "data", None)
    extra = data.get("headers") if isinstance(data, abc.Mapping) else None
    if isinstance(extra, abc.Mapping):
        headers.extend((str(k), str(v)) for k, v in extra.items())
    return headers


def human_size(n: int) -> str:
    """``1000000`` -> ``"1MB"``, ``10485760`` -> ``"10MB"``, ``1536`` -> ``"1.5KB"``."""
    for unit, binary, decimal in (
        ("GB", 1 << 30, 10**9),
        ("MB", 1 << 20, 10**6),
        ("KB", 1 << 10, 10**3),
    ):
        for size in (binary, decimal):
            if n >= size and n % size == 0:
                return f"{n // size}{unit}"
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n}B"


def _json_error(e: BaseException) -> str | None:
    """The parser's message for the JSON (or UTF-8) decoding error behind a
    Werkzeug/Flask BadRequest from ``get_json``, or ``None``."""
    chain: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    from_json = any(
        isinstance(c, BadRequest) and str(c.description).startswith(_JSON_FAILURE) for c in chain
    )
    for c in chain:
        if isinstance(c, (json.JSONDecodeError, UnicodeDecodeError)):
            return str(c)
        if from_json and isinstance(c, ValueError):
            # Other parser limits (such as integers of more than 4,300
            # digits): say what is wrong without the interpreter's advice.
            return INVALID_VALUE
    return None


#: The ``json_error`` of a value the parser refuses (an integer of more than
#: 4,300 digits), in place of the interpreter's advice.
INVALID_VALUE: t.Final = "Invalid JSON value"


#: How Werkzeug's ``Request.on_json_loading_failed`` describes a bad body.
_JSON_FAILURE: t.Final = "Failed to decode JSON object"


def _form_limit(e: RequestEntityTooLarge) -> str | None:
    """Which of Werkzeug's form limits a 413 comes from (it raises the same
    exception for the body size, the number of parts and a field's size)."""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    module = tb.tb_frame.f_globals.get("__name__")
    if module == "werkzeug.sansio.multipart" and tb.tb_frame.f_code.co_name == "next_event":
        return "max_form_parts"
    if module in ("werkzeug.sansio.multipart", "werkzeug.formparser"):
        return "max_form_memory_size"
    return None


#: The code that parses a request's JSON body: Werkzeug's ``get_json``
#: (Flask's) and webargs' parsers.
_BODY_PARSERS: t.Final = ("werkzeug.wrappers.request", "webargs.")
#: What the JSON parser raises that these let escape (:func:`refused_body`).
BODY_ERRORS: t.Final = (RecursionError, ValueError)


def refused_body(e: BaseException) -> bool:
    """Whether the standard library's JSON parser refused the request's body
    itself, in a way the code parsing it lets escape: nested past its
    recursion limit (Werkzeug's ``get_json`` and webargs), or a value it
    refuses, such as an integer of more than 4,300 digits (webargs catches
    only decoding errors). The innermost frame is the ``json`` package's,
    not code it called back, and a body parser called it: the app's own
    ``json.loads`` of stored data is no fault of the client's."""
    if not isinstance(e, RecursionError | ValueError) or isinstance(
        e, json.JSONDecodeError | UnicodeDecodeError
    ):
        return False
    modules = []
    tb = e.__traceback__
    while tb is not None:
        modules.append(str(tb.tb_frame.f_globals.get("__name__", "")))
        tb = tb.tb_next
    return (
        bool(modules)
        and (modules[-1] == "json" or modules[-1].startswith("json."))
        and any(m == p or m.startswith(p) for m in modules for p in _BODY_PARSERS)
    )


def convert_refused_body(e: BaseException, ctx: Context) -> Problem | None:
    """A body the JSON parser refused (:func:`refused_body`): the client's
    mistake (``invalid_json``), as under ``request.get_json``, not a 500."""
    if not refused_body(e):
        return None
    error = "JSON nested too deeply" if isinstance(e, RecursionError) else INVALID_VALUE
    return ctx.problem("invalid_json", details={"json_error": error}, description=str(e))


_LIBRARIES: t.Final = ("werkzeug.", "flask_apierrors.")


def _has_default_description(e: HTTPException) -> bool:
    """Whether ``e`` says only what Werkzeug's class says (the catalog's
    message is then better for an API client); the description of an app's
    own subclass (``class BookNotFound(NotFound)``) is the app's message.
    Werkzeug's and this package's classes (Flask-HTTPAuth's challenges)
    keep the catalog's."""
    library_class = next(c for c in type(e).__mro__ if c.__module__.startswith(_LIBRARIES))
    return bool(e.description == t.cast(type[HTTPException], library_class).description)


def convert_api_error(e: BaseException, ctx: Context) -> Problem | None:
    """An :class:`ApiError` as raised; what it does not fix (status,
    message) comes from the app's catalog."""
    if not isinstance(e, ApiError):
        return None
    assert e.error_code is not None
    problem = ctx.problem(
        e.error_code,
        status=e.given_status,
        message=e.given_message,
        details=e.details,
        headers=exception_headers(e),
        format=e.format,
        description=e.message,
    )
    if e.problem_type is None and not e.problem_members:
        return problem
    return problem.replace(problem_type=e.problem_type, problem_members=e.problem_members)


def convert_internal_error(e: BaseException, ctx: Context) -> Problem | None:
    """500s: an id to find the log entry, nothing of the exception's text."""
    if not isinstance(e, InternalServerError):
        return None
    # The error id and support message: Context.problem adds them to every
    # internal_server_error.
    details: dict[str, t.Any] | None = None
    original = e.original_exception
    if ctx.debug and original is not None:
        details = {
            "debug": {
                "type": type(original).__qualname__,
                "message": str(original),
                "traceback": traceback.format_exception(original),
            }
        }
    message = None if _has_default_description(e) else e.description
    return ctx.problem(
        "internal_server_error", message=message, details=details, description=e.description
    )


def convert_http_exception(e: BaseException, ctx: Context) -> Problem | None:
    """Every other Werkzeug exception, with the documented details."""
    if not isinstance(e, HTTPException):
        return None
    status = e.code or 500
    spec = ctx.catalog.for_status(status)
    code = spec.code if spec is not None else code_for_exception_class(type(e))
    message = None if _has_default_description(e) else e.description
    details: dict[str, t.Any] = {}
    req = ctx.request

    if req is None:
        pass
    elif isinstance(e, NotFound) and req.routing_exception is e:
        message = "Endpoint not found"
        details = {"path": req.path, "method": req.method}
    elif isinstance(e, MethodNotAllowed):
        details = {"method": req.method, "allowed_methods": sorted(e.valid_methods or ())}
    elif isinstance(e, RequestEntityTooLarge):
        form_limit = _form_limit(e)
        if form_limit == "max_form_parts":
            message = "The form has too many parts"
            details = {"max_form_parts": req.max_form_parts}
        elif form_limit == "max_form_memory_size":
            message = "A form field is too large"
            details = {"max_form_memory_size": req.max_form_memory_size}
        else:
            limit = req.max_content_length
            if req.content_length is not None and TRUNCATED not in req.environ:
                details["body_size"] = req.content_length
            if limit is not None:
                details["max_size"] = limit
                details["size_limit"] = human_size(limit)
    elif isinstance(e, ClientDisconnected) and message is None:
        # Werkzeug's reader of a Content-Length body that ended early.
        message = "Incomplete request body"
    elif isinstance(e, UnsupportedMediaType):
        details = {
            "provided_type": req.mimetype or None,
            "expected_types": list(ctx.settings.expected_content_types),
        }
        message = None
    elif isinstance(e, BadRequest) and type(e) is BadRequest:
        decode_error = _json_error(e)
        if decode_error is not None:
            return ctx.problem(
                "invalid_json",
                details={"json_error": decode_error},
                headers=exception_headers(e),
                description=e.description,
            )
    return ctx.problem(
        code,
        status=status,
        message=message,
        details=details,
        headers=exception_headers(e),
        description=e.description,
    )
