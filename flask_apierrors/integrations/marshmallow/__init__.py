"""marshmallow ``ValidationError`` -> a ``validation_error`` :class:`Problem`.

marshmallow's nested ``messages`` are flattened into ordered
:class:`~flask_apierrors.FieldError` entries (``messages[0].content``), with
the submitted values echoed unless secret (by the name on the wire, the
attribute name, or ``load_only``), cut when long, and at most
``max_validation_errors`` of them; with ``field_error_codes`` on, each has a
machine code. The rules are documented in the validation chapter; what they
share with the other validation integrations is in
:mod:`~flask_apierrors.integrations.fielderrors` and
:mod:`~flask_apierrors.integrations.redaction`. Imported only when
marshmallow is.
"""

from __future__ import annotations

import typing as t
from itertools import islice

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields as ma_fields
from marshmallow import missing as ma_missing

from ...problem import MISSING
from ..fielderrors import REQUIRED_MESSAGE
from ..fielderrors import SCHEMA_KEY
from ..fielderrors import field_error
from ..fielderrors import message_text
from ..fielderrors import validation_problem
from ..redaction import Rules
from ..redaction import echo_or_missing
from .codes import code_for
from .flatten import Entry
from .flatten import Level
from .flatten import count
from .flatten import lookup
from .flatten import segments
from .flatten import walk
from .schema import node_for_field
from .schema import node_for_schema

if t.TYPE_CHECKING:
    from ...config import Settings
    from ...problem import FieldError
    from ...problem import Problem
    from ..base import Context

__all__ = [
    "SCHEMA_KEY",
    "RequestValidationError",
    "convert_validation_error",
    "field_errors",
    "lookup",
    "node_for_field",
    "node_for_schema",
    "validation_problem",
]

_DEFAULT_REQUIRED: t.Final = ma_fields.Field.default_error_messages["required"]


class RequestValidationError(ValidationError):
    """A ``ValidationError`` that also knows the schema and request location
    it came from, so ``load_only`` fields can be redacted and entries
    ordered by the schema.

    Raised by :func:`~flask_apierrors.use_schema`; catch marshmallow's
    ``ValidationError`` to handle it yourself.

    :param messages: marshmallow's error messages.
    :param schema: The schema that failed.
    :param location: ``json``, ``query``, ``form`` or ``files``.
    :param data: The data given to the schema; ``valid_data``: what loaded.
    """

    def __init__(
        self,
        messages: str | list[t.Any] | dict[t.Any, t.Any],
        *,
        schema: Schema,
        location: str,
        data: t.Any = None,
        valid_data: t.Any = None,
    ) -> None:
        super().__init__(messages, data=data, valid_data=valid_data)
        self.schema = schema
        self.location = location


def _field_error(
    entry: Entry,
    rules: Rules,
    settings: Settings,
    location: str | None,
    sent: bool,
    source: str | None,
) -> FieldError:
    level = entry.level
    path = segments(level.path)
    # A mapping key that failed its own validation: the key is the value.
    raw = path[-1] if level.key_error and path else level.data
    value: t.Any = MISSING
    # The top-level object is the whole request: not echoed back.
    if path and sent and raw is not MISSING:
        if level.redact:
            value = rules.redacted
        else:
            value = echo_or_missing(raw, None if level.key_error else level.node, rules)
    message = entry.message
    text = REQUIRED_MESSAGE if message == _DEFAULT_REQUIRED else message_text(message)
    return field_error(
        path,
        text,
        value,
        settings,
        location=location,
        source=source,
        code=lambda: code_for(message, level.field, level.schema, raw if sent else MISSING),
    )


def field_errors(
    messages: t.Any,
    settings: Settings,
    *,
    data: t.Any = MISSING,
    schema: Schema | None = None,
    location: str | None = None,
    limit: int | None = None,
    source: str | None = None,
) -> tuple[list[FieldError], int]:
    """Flatten marshmallow ``messages`` into at most ``limit`` (default:
    the ``max_validation_errors`` setting) entries.

    :param messages: A ``ValidationError``'s ``messages``.
    :param settings: Redaction, truncation, naming and code settings.
    :param data: The data that failed (to echo values), or :data:`MISSING`.
    :param schema: The schema that failed (for order, ``load_only``,
        attribute names and codes).
    :param location: Set on every entry (``query``, ``form`` ...), when
        errors of several locations are reported together.
    :param limit: Most entries returned.
    :param source: Where every value came from (``FieldError.source``).
    :returns: The entries and the total number of errors.
    """
    rules = Rules(settings)
    limit = settings.max_validation_errors if limit is None else limit
    node = node_for_schema(schema) if schema is not None else None
    data = MISSING if data is None or data is ma_missing else data
    sent = data is not MISSING
    entries = walk(Level(messages, None, node, None, None, False, data), rules)
    errors = [
        _field_error(entry, rules, settings, location, sent, source)
        for entry in islice(entries, max(limit, 0))
    ]
    # Counted, not built: a huge invalid list costs little more.
    return errors, count(messages)


def convert_validation_error(e: BaseException, ctx: Context) -> Problem | None:
    """Any marshmallow ``ValidationError`` raised while handling a request."""
    if not isinstance(e, ValidationError):
        return None
    # One request location is involved: entries carry no ``location``.
    schema = e.schema if isinstance(e, RequestValidationError) else None
    messages = e.messages
    if e.field_name != SCHEMA_KEY or not isinstance(messages, dict):
        messages = {e.field_name: messages}
    source = e.location if isinstance(e, RequestValidationError) else None
    errors, total = field_errors(messages, ctx.settings, data=e.data, schema=schema, source=source)
    return validation_problem(ctx, errors, total)
