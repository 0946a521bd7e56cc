"""What the validation integrations (marshmallow, webargs, pydantic) share
to build ``validation_error`` bodies: the field path syntax, the text of a
message, the machine codes, one :class:`~flask_apierrors.FieldError` per
entry and the problem itself. The rules are documented in the validation
chapter.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
from collections import abc

from ..fieldpath import PLAIN_NAME
from ..problem import MISSING
from ..problem import FieldError
from .redaction import TRUNCATION_MARKER
from .redaction import Segment
from .redaction import cut
from .redaction import fragments
from .redaction import is_secret_name
from .redaction import safe_text

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from ..config import Settings
    from ..problem import Problem
    from .base import Context

__all__ = [
    "FIELD_ERROR_CODES",
    "GENERIC_MESSAGE",
    "MAX_MESSAGE_LENGTH",
    "REQUIRED_MESSAGE",
    "TRUNCATION_MARKER",
    "Segment",
    "flatten_locations",
    "field_error",
    "format_path",
    "key_segment",
    "message_text",
    "validation_problem",
    "with_sources",
]

#: What a missing required field reads (both documented APIs say so).
REQUIRED_MESSAGE: t.Final = "Field required"
#: Longest message, path segment and path echoed (characters).
MAX_MESSAGE_LENGTH: t.Final = 1000
MAX_SEGMENT_LENGTH: t.Final = 200
MAX_PATH_LENGTH: t.Final = 1000
#: Said instead of a message that is not text (never an exception's text).
GENERIC_MESSAGE: t.Final = "Invalid value."
#: Key of whole-object messages (marshmallow's).
SCHEMA_KEY: t.Final = "_schema"

#: The machine codes of field errors (``field_error_codes`` setting), and
#: what each means. Every integration maps its library's errors onto these.
FIELD_ERROR_CODES: t.Final[t.Mapping[str, str]] = {
    "required": "A required field is missing.",
    "null": "``null`` where a value is required.",
    "unknown_field": "A field the schema does not know.",
    "invalid_type": "A value of the wrong type (a string for a number, an object for a list ...).",
    "invalid_format": "A string of the wrong form: email, URL, UUID, date, pattern ...",
    "invalid_choice": "A value that is not one of the allowed ones.",
    "too_short": "A string or list shorter than allowed.",
    "too_long": "A string or list longer than allowed.",
    "out_of_range": "A number (or date) outside the allowed range.",
    "invalid": "Any other failure: a custom validator, a rule across fields ...",
}


def format_path(path: t.Iterable[Segment]) -> str:
    """``("messages", 0, "content")`` -> ``messages[0].content``; names
    that are not plain words are quoted: ``meta["a.b"]``. Names are cut at
    200 characters, the path at 1,000 (a deep path is not read further)."""
    parts: list[str] = []
    length = 0
    for seg in path:
        if isinstance(seg, int):
            part = f"[{seg}]"
        else:
            seg = cut(seg, MAX_SEGMENT_LENGTH)
            if PLAIN_NAME.fullmatch(seg):
                part = f".{seg}" if parts else seg
            else:
                part = "[" + json.dumps(seg, ensure_ascii=False) + "]"
        parts.append(part)
        length += len(part)
        if length > MAX_PATH_LENGTH:
            break
    return cut("".join(parts), MAX_PATH_LENGTH)


def key_segment(key: t.Any) -> Segment:
    """A key of an error tree as a path segment: names and indexes as they
    are, anything else as text (never an object's address)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    return safe_text(key, "?")


def message_text(raw: t.Any) -> str:
    """The text of a validation message, cut at 1,000 characters.

    marshmallow lets a message be any object: text is kept, bytes are
    decoded, numbers written, a lazy translation string read;
    anything else (``None``, an exception, an object with a default
    ``repr``) reads :data:`GENERIC_MESSAGE`, so no exception text or
    memory address reaches the client.
    """
    return cut(safe_text(raw, GENERIC_MESSAGE), MAX_MESSAGE_LENGTH)


#: Python's own words for a value it could not convert, which Flask-RESTful's
#: and flask-restx's ``reqparse`` pass on as the message (``type=int``),
#: quoting the value or advising ``sys.set_int_max_str_digits``.
_CONVERSIONS: t.Final = (
    ("invalid literal for int()", "Not a valid integer."),
    ("Exceeds the limit (", "Not a valid integer."),
    ("could not convert string to float", "Not a valid number."),
)


def scrubbed_messages(messages: t.Any, settings: Settings, name: str = "") -> t.Any:
    """Messages a framework aborts with (nested mappings and lists of
    texts), as a client may read them: Python's own words for a failed
    conversion replaced, and a message that quotes a value (``'hunter2'
    is too short``) of a field named like a secret (the ``redact_fields``
    setting) replaced by :data:`GENERIC_MESSAGE`."""
    if isinstance(messages, abc.Mapping):
        return {
            k: scrubbed_messages(v, settings, name if k == SCHEMA_KEY else str(k))
            for k, v in messages.items()
        }
    if isinstance(messages, list | tuple):
        return [scrubbed_messages(m, settings, name) for m in messages]
    if not isinstance(messages, str):
        return messages
    text = messages
    for words, replacement in _CONVERSIONS:
        if words in text:
            text = text[: text.index(words)] + replacement
    quotes = "'" in text or '"' in text
    return (
        GENERIC_MESSAGE
        if quotes and is_secret_name(name, fragments(settings.redact_fields))
        else text
    )


def field_error(
    path: t.Sequence[Segment],
    message: str,
    value: t.Any,
    settings: Settings,
    *,
    location: str | None = None,
    source: str | None = None,
    code: t.Callable[[], str] | None = None,
) -> FieldError:
    """One entry: ``path`` formatted (errors about the whole request are
    reported under ``schema_error_field``), ``value`` as echoed (or
    :data:`~flask_apierrors.problem.MISSING`), and the machine code only
    with the ``field_error_codes`` setting on (``code`` is not called
    otherwise)."""
    return FieldError(
        field=format_path(path) if path else settings.schema_error_field,
        message=message,
        invalid_value=value if path else MISSING,
        location=location,
        code=code() if code is not None and settings.field_error_codes else None,
        source=source,
    )


def with_sources(errors: list[FieldError], req: Request | None) -> list[FieldError]:
    """``errors`` of a parser that does not say where each value came from
    (the ``reqparse`` of Flask-RESTful and flask-restx), each with the
    :attr:`~flask_apierrors.FieldError.source` of the part of ``req`` that
    carries its name where the JSON body does not: the query string, the
    form, the headers or the cookies (the ``problem`` format then names a
    ``parameter`` or ``header``, not a JSON pointer)."""
    if req is None:
        return errors
    parts: list[tuple[str, t.Any]] = [
        ("query", req.args),
        ("headers", req.headers),
        ("cookies", req.cookies),
    ]
    try:
        body = req.get_json(silent=True) if req.is_json else None
        parts.insert(1, ("form", req.form))
    except Exception:  # a body too large or cut short: not read here
        body = None
    rv = []
    for error in errors:
        name = error.field
        if error.source is None and not (isinstance(body, abc.Mapping) and name in body):
            source = next((where for where, part in parts if name in part), None)
            error = dataclasses.replace(error, source=source)
        rv.append(error)
    return rv


def validation_problem(
    ctx: Context, errors: t.Sequence[FieldError], total: int, *, status: int | None = None
) -> Problem:
    """The ``validation_error`` problem for ``errors`` (status: the
    ``validation_status`` setting unless given); ``total_errors`` is
    reported when some were left out."""
    details = {"total_errors": total} if total > len(errors) else {}
    return ctx.problem(
        "validation_error",
        status=status if status is not None else ctx.settings.validation_status,
        details=details,
        errors=errors,
    )


#: ``(location, its messages, most entries) -> (entries, errors counted)``.
LocationFlattener = t.Callable[[t.Any, t.Any, int], tuple[list[FieldError], int]]


def flatten_locations(
    messages: t.Mapping[t.Any, t.Any], limit: int, flatten: LocationFlattener
) -> tuple[list[FieldError], int]:
    """The entries of ``messages`` keyed by request location (webargs,
    flask-smorest, APIFlask, APIFairy), each location flattened by
    ``flatten``: at most ``limit`` entries in all, and the total number of
    errors."""
    errors: list[FieldError] = []
    total = 0
    for location, location_messages in messages.items():
        found, count = flatten(location, location_messages, max(limit - len(errors), 0))
        errors.extend(found)
        total += count
    return errors, total
