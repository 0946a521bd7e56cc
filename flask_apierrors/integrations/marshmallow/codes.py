"""The machine code of a marshmallow failure (``field_error_codes``).

marshmallow's errors are text only: the key of the message
(``required``, ``invalid`` ...) and the validator that failed are not kept.
They are found again by matching the message against the templates of the
field (its ``error_messages``) and of its validators, then against
marshmallow's defaults; a message nothing explains is ``invalid``. The
table is documented in the validation chapter.
"""

from __future__ import annotations

import functools
import string
import typing as t

from marshmallow import fields as ma_fields
from marshmallow import validate

from ...problem import MISSING

if t.TYPE_CHECKING:
    from marshmallow import Schema

#: Codes of the keys of a field's ``error_messages``.
KEY_CODES: t.Final[t.Mapping[str, str]] = {
    "required": "required",
    "null": "null",
    "type": "invalid_type",
    "invalid": "invalid_type",
    "invalid_utf8": "invalid_type",
    "invalid_uuid": "invalid_format",
    "invalid_ip": "invalid_format",
    "invalid_ip_interface": "invalid_format",
    "format": "invalid_format",
    "invalid_awareness": "invalid_format",
    "too_large": "out_of_range",
    # Enum: not one of the members.
    "unknown": "invalid_choice",
    "special": "invalid",
    "validator_failed": "invalid",
}

#: Fields whose ``invalid`` is about the form of a string, not its type.
FORMAT_FIELDS: t.Final = (
    ma_fields.Email,
    ma_fields.Url,
    ma_fields.UUID,
    ma_fields.IP,
    ma_fields.IPInterface,
    ma_fields.Date,
    ma_fields.DateTime,
    ma_fields.Time,
    ma_fields.TimeDelta,
)

#: Codes of marshmallow's validators (``Length`` is decided by the value).
VALIDATOR_CODES: t.Final[tuple[tuple[type[validate.Validator], str], ...]] = (
    (validate.Range, "out_of_range"),
    (validate.OneOf, "invalid_choice"),
    (validate.NoneOf, "invalid_choice"),
    (validate.ContainsOnly, "invalid_choice"),
    (validate.ContainsNoneOf, "invalid_choice"),
    (validate.Regexp, "invalid_format"),
    (validate.Email, "invalid_format"),
    (validate.URL, "invalid_format"),
)

# Schema-level messages.
_SCHEMA_KEYS: t.Final = (("unknown", "unknown_field"), ("type", "invalid_type"))
# Where a validator keeps its message templates.
_TEMPLATES: t.Final = (
    "error",
    "message_min",
    "message_max",
    "message_all",
    "message_equal",
    "default_message",
)


@functools.lru_cache(maxsize=1024)
def _literals(template: str) -> tuple[str, ...] | None:
    """The literal parts of a ``str.format`` template (one more than its
    fields), or ``None`` if it is not one."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return None
    literals = [""]
    for literal, field, _, _ in parts:
        literals[-1] += literal
        if field is not None:
            literals.append("")
    return tuple(literals)


def fits(template: t.Any, message: t.Any) -> bool:
    """Whether ``message`` is ``template`` with its fields filled in: the
    literal parts in order, anything between (linear time, no regex)."""
    if template is message or template == message:
        return True
    if not isinstance(template, str) or not isinstance(message, str):
        return False
    literals = _literals(template)
    if literals is None:
        return False
    if len(literals) == 1:
        return message == literals[0]
    first, *middle, last = literals
    if len(message) < len(first) + len(last):
        return False
    if not (message.startswith(first) and message.endswith(last)):
        return False
    pos, end = len(first), len(message) - len(last)
    for literal in middle:
        found = message.find(literal, pos, end)
        if found < 0:
            return False
        pos = found + len(literal)
    return True


def key_code(key: str, field_class: type[t.Any], value: t.Any) -> str:
    """The code of a field's ``error_messages`` key."""
    code = KEY_CODES.get(key, "invalid")
    if code == "invalid_type" and issubclass(field_class, FORMAT_FIELDS):
        # A string of the wrong form; anything else is of the wrong type.
        return "invalid_format" if isinstance(value, str) or value is MISSING else code
    return code


def _length_code(validator: validate.Length, value: t.Any, template: str) -> str:
    try:
        length = len(value) if value is not MISSING else None
    except TypeError:
        length = None
    if length is None:
        return {"message_min": "too_short", "message_max": "too_long"}.get(template, "invalid")
    low = validator.equal if validator.equal is not None else validator.min
    high = validator.equal if validator.equal is not None else validator.max
    if low is not None and length < low:
        return "too_short"
    if high is not None and length > high:
        return "too_long"
    return "invalid"


def _validators(field: ma_fields.Field[t.Any]) -> t.Iterator[t.Any]:
    stack = list(reversed(field.validators))
    while stack:
        validator = stack.pop()
        if isinstance(validator, validate.And):
            stack.extend(reversed(validator.validators))
        else:
            yield validator


def validator_code(validator: t.Any, message: t.Any, value: t.Any) -> str | None:
    """The code of ``validator`` if ``message`` is one of its messages."""
    for name in _TEMPLATES:
        template = getattr(validator, name, None)
        if template is None or not fits(template, message):
            continue
        if isinstance(validator, validate.Length):
            return _length_code(validator, value, name)
        for cls, code in VALIDATOR_CODES:
            if isinstance(validator, cls):
                return code
        return "invalid"
    return None


def _field_code(field: ma_fields.Field[t.Any], message: t.Any, value: t.Any) -> str | None:
    for key, template in field.error_messages.items():
        if fits(template, message):
            return key_code(key, type(field), value)
    for validator in _validators(field):
        code = validator_code(validator, message, value)
        if code is not None:
            return code
    return None


def _defaults() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """marshmallow's default messages and their codes, for errors raised
    without a schema: those without fields by text, then the templates."""
    found: dict[str, str] = {}
    for name, cls in vars(ma_fields).items():
        if not name.startswith("_") and isinstance(cls, type) and issubclass(cls, ma_fields.Field):
            for klass in reversed(cls.__mro__):
                for key, template in vars(klass).get("default_error_messages", {}).items():
                    found.setdefault(template, key_code(key, cls, MISSING))
    for validator in (
        validate.Length(1, 2),
        validate.Range(1, 2),
        validate.Range(1, 2, min_inclusive=False, max_inclusive=False),
        validate.OneOf(()),
        validate.ContainsOnly(()),
        validate.ContainsNoneOf(()),
        validate.Regexp(""),
        validate.Email(),
        validate.URL(),
    ):
        for name in _TEMPLATES:
            template = getattr(validator, name, None)
            if isinstance(template, str):
                found.setdefault(template, validator_code(validator, template, MISSING) or "")
    # "Invalid input." is both NoneOf's and Predicate's: say nothing.
    found.pop("Invalid input.", None)
    exact: dict[str, str] = {}
    templates: list[tuple[str, str]] = []
    for template, code in found.items():
        literals = _literals(template)
        if literals is not None and len(literals) == 1:
            exact.setdefault(literals[0], code)
        else:
            templates.append((template, code))
    return exact, tuple(templates)


_EXACT, _PATTERNS = _defaults()


def code_for(
    message: t.Any,
    field: ma_fields.Field[t.Any] | None,
    schema: Schema | None,
    value: t.Any,
) -> str:
    """The code of one marshmallow message.

    :param message: The message as marshmallow gave it.
    :param field: The field it is about, where the schema is known.
    :param schema: The schema of the object it is in, where known.
    :param value: The submitted value, or :data:`MISSING`.
    """
    if field is not None:
        code = _field_code(field, message, value)
        if code is not None:
            return code
    if schema is not None:
        for key, code in _SCHEMA_KEYS:
            if fits(schema.error_messages.get(key), message):
                return code
    if field is None and schema is None and fits("Unknown field.", message):
        return "unknown_field"
    if isinstance(message, str) and message in _EXACT:
        return _EXACT[message]
    for template, code in _PATTERNS:
        if fits(template, message):
            return code
    return "invalid"
